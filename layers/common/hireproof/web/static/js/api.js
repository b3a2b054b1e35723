// The verification API, called with the invitation token as a bearer token.
//
// The page is served from the same HTTP API as these routes, so requests are same-origin:
// verify/assets/js/api.js is two folders below verify/.

const apiBase = new URL("../../", import.meta.url);

/** An error response of the API: HTTP status, error class name, field and the JSON body. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.error = (body && body.error) || null;
    this.field = (body && body.field) || null;
    this.body = body || {};
  }
}

/** The request did not reach the API or its response was lost. */
export class NetworkError extends Error {
  constructor(cause) {
    super("network request failed", { cause });
    this.name = "NetworkError";
  }
}

export function createClient(token) {
  async function call(method, path, body) {
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(new URL(path, apiBase), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      throw new NetworkError(error);
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }

  return {
    openSession: () => call("POST", "session", {}),
    createUpload: (kind, contentType) => call("POST", "uploads", { kind, content_type: contentType }),
    createLiveness: () => call("POST", "liveness", {}),
    submit: () => call("POST", "submit", {}),
    credential: () => call("GET", "credential"),
    chooseReset: (kind) => call("POST", "recovery/reset", { kind }),
  };
}
