// Amplify UI's FaceLivenessDetector, mounted by the verification page.
//
// The page loads this bundle as a module script and calls
// window.HireProofLiveness.mount(element, options). The browser only streams video to
// Rekognition. The verification API creates the session and reads its result server-side.
import "@aws-amplify/ui-react/styles.css";
import "@aws-amplify/ui-react-liveness/styles.css";

import { FaceLivenessDetectorCore } from "@aws-amplify/ui-react-liveness";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

// Refresh Cognito credentials this long before they expire (milliseconds).
const CREDENTIALS_REFRESH_MARGIN_MS = 60_000;

async function callCognitoIdentity(region, operation, body) {
  const response = await fetch(`https://cognito-identity.${region}.amazonaws.com/`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityService.${operation}`,
    },
    body: JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok) throw new Error(`Cognito ${operation} failed with HTTP ${response.status}`);
  return response.json();
}

/**
 * Create a credentials provider for an unauthenticated identity of a Cognito identity pool.
 *
 * GetId and GetCredentialsForIdentity need no signature for unauthenticated identities. The
 * pool's role allows rekognition:StartFaceLivenessSession only.
 */
export function cognitoCredentials(region, identityPoolId) {
  let cached = null;
  return async () => {
    if (cached && cached.expiration.getTime() - Date.now() > CREDENTIALS_REFRESH_MARGIN_MS) return cached;
    const { IdentityId } = await callCognitoIdentity(region, "GetId", { IdentityPoolId: identityPoolId });
    const { Credentials } = await callCognitoIdentity(region, "GetCredentialsForIdentity", {
      IdentityId,
    });
    cached = {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretKey,
      sessionToken: Credentials.SessionToken,
      // Cognito returns the expiry in seconds since the epoch.
      expiration: new Date(Credentials.Expiration * 1000),
    };
    return cached;
  };
}

/**
 * Mount FaceLivenessDetector in `element` and return a function that unmounts it.
 *
 * sessionId and region come from POST verify/liveness, and credentialsProvider is usually
 * cognitoCredentials(). onComplete() runs once the video is streamed, before any result is
 * known. onError(state) receives Amplify's error state name, such as "TIMEOUT" or
 * "CAMERA_ACCESS_ERROR". displayText maps Amplify's text keys to the hire's language.
 */
export function mount(element, options) {
  const root = createRoot(element);
  root.render(
    <StrictMode>
      <FaceLivenessDetectorCore
        sessionId={options.sessionId}
        region={options.region}
        config={{ credentialProvider: options.credentialsProvider }}
        displayText={options.displayText}
        onAnalysisComplete={async () => options.onComplete()}
        onError={(livenessError) => options.onError(livenessError?.state || "RUNTIME_ERROR")}
        onUserCancel={() => (options.onCancel || (() => {}))()}
      />
    </StrictMode>,
  );
  return () => root.unmount();
}

window.HireProofLiveness = Object.freeze({ mount, cognitoCredentials });
