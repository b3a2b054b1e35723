// The verification page: open the session, take the photos, submit, show the result. New hires,
// laptop recipients, sign-ins and password or MFA recoveries all use it.
//
// The invitation token arrives in the URL fragment (#token=...), which browsers never send to a
// server. The page removes it from the address bar at once and keeps it in memory only, so a
// reload needs the e-mailed link again.

import { ApiError, NetworkError, createClient } from "./api.js";
import { CameraUnavailableError, captureFrame, startCamera } from "./camera.js";
import * as i18n from "./i18n.js";
import { ImageTypeError, UploadError, acceptedImage, fitToLimit, uploadToS3 } from "./upload.js";

// POST /verify/submit returns 409 until the workflow waits for the decision (usually seconds).
const SUBMIT_RETRY_MS = 3000;
const SUBMIT_MAX_ATTEMPTS = 20;
// GET /verify/credential returns 409 until the workflow has issued the credential.
const CREDENTIAL_POLL_MS = 2000;
const CREDENTIAL_MAX_POLLS = 45;
// A reset waits for its choice first. The help desk agent has RecoveryMaxVerificationAgeSeconds
// (300 s by default) after the decision to choose, and the API then returns 404, which ends the
// polling. Six minutes of polling cover that window and the reset itself.
const RESET_CREDENTIAL_MAX_POLLS = 180;
// The self-service recovery form (GET /recovery), where a person starts again.
const RECOVERY_PAGE = new URL("../../../recovery", import.meta.url);
// Amplify UI's FaceLivenessDetector, built by `make page`. A deployment without it keeps the
// notice that the live face check is unavailable.
const LIVENESS_SCRIPT = new URL("../liveness/hireproof-liveness.js", import.meta.url);
const LIVENESS_STYLES = new URL("../liveness/hireproof-liveness.css", import.meta.url);
// The detector's text keys (Amplify UI 3.6 displayText) and the catalog messages for them.
const DETECTOR_TEXT = {
  startScreenBeginCheckText: "page.liveness.detector.start",
  hintCenterFaceText: "page.liveness.detector.center_face",
  hintCenterFaceInstructionText: "page.liveness.detector.instructions",
  hintFaceOffCenterText: "page.liveness.detector.face_off_center",
  hintMoveFaceFrontOfCameraText: "page.liveness.detector.move_in_front",
  hintCanNotIdentifyText: "page.liveness.detector.move_in_front",
  hintTooManyFacesText: "page.liveness.detector.too_many_faces",
  hintFaceDetectedText: "page.liveness.detector.face_detected",
  hintTooCloseText: "page.liveness.detector.too_close",
  hintTooFarText: "page.liveness.detector.too_far",
  hintConnectingText: "page.liveness.detector.connecting",
  hintVerifyingText: "page.liveness.detector.verifying",
  hintCheckCompleteText: "page.liveness.detector.complete",
  hintIlluminationTooBrightText: "page.liveness.detector.too_bright",
  hintIlluminationTooDarkText: "page.liveness.detector.too_dark",
  hintIlluminationNormalText: "page.liveness.detector.light_normal",
  hintHoldFaceForFreshnessText: "page.liveness.detector.hold_still",
  hintMatchIndicatorText: "page.liveness.detector.halfway",
  photosensitivityWarningHeadingText: "page.liveness.detector.photosensitivity_heading",
  photosensitivityWarningBodyText: "page.liveness.detector.photosensitivity_body",
  photosensitivityWarningInfoText: "page.liveness.detector.photosensitivity_info",
  photosensitivityWarningLabelText: "page.liveness.detector.photosensitivity_label",
  cameraNotFoundHeadingText: "page.liveness.detector.camera_not_found_heading",
  cameraNotFoundMessageText: "page.liveness.detector.camera_not_found_message",
  cameraMinSpecificationsHeadingText: "page.liveness.detector.camera_specs_heading",
  cameraMinSpecificationsMessageText: "page.liveness.detector.camera_specs_message",
  waitingCameraPermissionText: "page.liveness.detector.waiting_camera",
  retryCameraPermissionsText: "page.liveness.detector.retry_camera",
  a11yVideoLabelText: "page.liveness.detector.video_label",
  cancelLivenessCheckText: "page.liveness.detector.cancel",
  recordingIndicatorText: "page.liveness.detector.recording",
  goodFitCaptionText: "page.liveness.detector.good_fit_caption",
  goodFitAltText: "page.liveness.detector.good_fit_alt",
  tooFarCaptionText: "page.liveness.detector.too_far_caption",
  tooFarAltText: "page.liveness.detector.too_far_alt",
};
// The detector's error states (Amplify UI 3.6) and the message the page shows for each.
const DETECTOR_ERRORS = {
  TIMEOUT: "page.liveness.error.timeout",
  FRESHNESS_TIMEOUT: "page.liveness.error.timeout",
  CAMERA_ACCESS_ERROR: "page.liveness.error.camera",
  CAMERA_FRAMERATE_ERROR: "page.liveness.error.camera",
  FACE_DISTANCE_ERROR: "page.liveness.error.distance",
  MULTIPLE_FACES_ERROR: "page.liveness.error.multiple_faces",
  MOBILE_LANDSCAPE_ERROR: "page.liveness.error.landscape",
};

// Texts of the credential section, and how long it polls, for each kind of verification.
const RESET_WAIT = {
  waiting: "page.credential.reset.waiting",
  timeout: "page.credential.reset.timeout",
  none: "page.credential.reset.none",
  help: "page.credential.help.reset",
  maxPolls: RESET_CREDENTIAL_MAX_POLLS,
  // A decided recovery's 409 only ever means "not stored yet", which the page's own text describes better.
  showApiWaiting: false,
};
const CREDENTIAL_WAITS = {
  onboarding: {
    waiting: "page.credential.waiting",
    timeout: "page.credential.timeout",
    none: "api.error.credential_none",
    help: "page.credential.help",
    maxPolls: CREDENTIAL_MAX_POLLS,
    // The API's 409 message distinguishes "not issued yet" from "under review".
    showApiWaiting: true,
  },
  reset: RESET_WAIT,
  helpDesk: { ...RESET_WAIT, waiting: "page.credential.reset.waiting_agent" },
};
// The intro's lead and the footer's help for purposes that are not about a new job.
const INTRO_LEADS = { recovery: "page.intro.lead.recovery", login: "page.intro.lead.login" };
const HELP_TEXTS = { recovery: "page.help.it_help_desk", login: "page.help.it_help_desk" };
const RESET_CHOSEN = { password: "page.recovery.chosen.password", mfa: "page.recovery.chosen.mfa" };
const RESET_BUTTONS = { password: "reset-password", mfa: "reset-mfa" };

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const state = {
  api: null,
  session: null,
  steps: [],
  index: 0,
  // The step being retaken after a 422. Once it is uploaded, the page submits again.
  retakeStep: null,
  photo: null,
  photoUrl: null,
  camera: null,
  cameraRequest: 0,
  languageChosen: false,
  credentialValue: null,
  credentialWait: CREDENTIAL_WAITS.onboarding,
  // Reset kinds that the identity provider rejected with 501. Their buttons stay disabled.
  unsupportedResets: new Set(),
  // Counts liveness starts, so a late response to an abandoned start is ignored.
  livenessRequest: 0,
  unmountDetector: null,
  livenessBundle: null,
};

// ------------------------------------------------------------------ screens
function show(screenId, focusId) {
  for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== screenId;
  const target = focusId ? $(focusId) : $(screenId).querySelector("h1");
  if (target) target.focus();
}

function showNotice(element, key, params) {
  i18n.setText(element, key, params);
  element.hidden = false;
}

function showLinkProblem(kind) {
  stopCamera();
  const headings = {
    missing: "page.link.missing.heading",
    invalid: "page.link.invalid.heading",
    expired: "page.link.expired.heading",
    step_up: "page.link.step_up.heading",
  };
  const messages = {
    missing: "api.error.invitation_missing",
    invalid: "api.error.invitation_not_found",
    expired: "api.error.invitation_expired",
    step_up: "page.link.step_up.message",
  };
  i18n.setText($("link-heading"), headings[kind]);
  i18n.setText($("link-message"), messages[kind]);
  document.body.dataset.state = `link-${kind}`;
  show("screen-link");
}

function showError(error, retry) {
  stopCamera();
  const key = error instanceof NetworkError ? "page.error.network" : "page.error.unexpected";
  i18n.setText($("error-message"), key);
  $("error-retry").onclick = retry;
  document.body.dataset.state = "error";
  show("screen-error");
}

/** Handle the errors every call can get; return true when the error was handled. */
function handleCommonError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      showLinkProblem("invalid");
      return true;
    }
    if (error.status === 410 && error.error === "InvitationUsedError") {
      showAlreadyDecided();
      return true;
    }
    if (error.status === 410) {
      showLinkProblem("expired");
      return true;
    }
  }
  return false;
}

// ------------------------------------------------------------------ language
function renderLanguageOptions() {
  const select = $("language");
  const names = i18n.languageNames();
  select.replaceChildren(
    ...i18n.SUPPORTED.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = names[code] || code;
      option.selected = code === i18n.locale();
      return option;
    }),
  );
  select.disabled = false;
}

async function setLanguage(language) {
  await i18n.load(language);
  renderLanguageOptions();
  i18n.translatePage();
}

// ------------------------------------------------------------------ session
function readToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token;
}

async function openSession() {
  show("screen-loading");
  let session;
  try {
    session = await state.api.openSession();
  } catch (error) {
    if (!handleCommonError(error)) showError(error, openSession);
    return;
  }
  state.session = session;
  state.steps = session.steps;
  const language = i18n.supportedLanguage(session.locale);
  if (!state.languageChosen && language && language !== i18n.locale()) await setLanguage(language);
  i18n.setText($("help"), HELP_TEXTS[session.purpose] || "page.help");
  renderIntro();
}

function renderIntro() {
  i18n.setText($("intro-lead"), INTRO_LEADS[state.session.purpose] || "page.intro.lead");
  const list = $("intro-steps");
  const items = [...state.steps.map((step) => `page.intro.step.${step}`), "page.intro.step.decision"];
  list.replaceChildren(
    ...items.map((key) => {
      const item = document.createElement("li");
      i18n.setText(item, key);
      return item;
    }),
  );
  i18n.setText($("intro-expires"), "page.intro.expires", { date: { date: state.session.expires_at } });
  document.body.dataset.state = "intro";
  show("screen-intro");
}

// ------------------------------------------------------------------ capture
function stopCamera() {
  state.cameraRequest += 1;
  if (state.camera) {
    state.camera.stop();
    state.camera = null;
  }
}

function forgetPhoto() {
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photo = null;
  state.photoUrl = null;
  $("review-image").removeAttribute("src");
}

function beginStep(index, retake) {
  state.index = index;
  const step = state.steps[index];
  if (step === "liveness") {
    showLiveness(index, retake);
    return;
  }
  showCapture(step, retake);
}

function showCapture(step, retake) {
  stopCamera();
  forgetPhoto();
  const total = state.steps.length;
  i18n.setText($("capture-progress"), "page.capture.progress", { current: state.index + 1, total });
  i18n.setText($("capture-heading"), `api.step.${step}`);
  i18n.setText($("capture-instructions"), `page.capture.instructions.${step}`);
  $("capture-error").hidden = true;
  $("review").hidden = true;
  $("camera").hidden = false;
  setReviewBusy(false);

  const hint = $("retake-hint");
  hint.hidden = !retake;
  if (retake) {
    const key = i18n.has(`api.retake.${retake.reason}`) ? `api.retake.${retake.reason}` : "api.retake.unknown";
    i18n.setText($("retake-message"), key);
    i18n.setText($("retake-attempts"), "api.retake.attempts_left", { attempts_left: retake.attemptsLeft });
  }

  $("file-input").setAttribute("capture", step === "selfie" ? "user" : "environment");
  document.body.dataset.state = `capture-${step}`;
  document.body.dataset.retake = retake ? "true" : "false";
  show("screen-capture");
  openCamera(step);
}

async function openCamera(step) {
  stopCamera();
  const request = state.cameraRequest;
  const video = $("camera-preview");
  const status = $("camera-status");
  const take = $("take-photo");
  take.disabled = true;
  take.hidden = false;
  video.hidden = false;
  $("choose-file").classList.replace("primary", "secondary");
  i18n.setText(status, "page.camera.starting");
  video.classList.toggle("mirrored", step === "selfie");

  let camera;
  try {
    camera = await startCamera(video, step === "selfie" ? "user" : "environment");
  } catch (error) {
    if (request !== state.cameraRequest) return;
    if (!(error instanceof CameraUnavailableError)) throw error;
    video.hidden = true;
    take.hidden = true;
    i18n.setText(status, error.reason === "denied" ? "page.camera.denied" : "page.camera.unavailable");
    $("choose-file").classList.replace("secondary", "primary");
    return;
  }

  if (request !== state.cameraRequest) {
    // The hire moved on while the camera was starting.
    camera.stop();
    return;
  }
  state.camera = camera;
  i18n.setPlainText(status, "");
  take.disabled = false;
}

function showReview(photo) {
  stopCamera();
  forgetPhoto();
  state.photo = photo;
  state.photoUrl = URL.createObjectURL(photo);
  const step = state.steps[state.index];
  const image = $("review-image");
  image.src = state.photoUrl;
  i18n.setAttribute(image, "alt", "page.review.alt", { step: { key: `api.step.${step}` } });
  $("camera").hidden = true;
  $("review").hidden = false;
  $("upload-progress").hidden = true;
  i18n.setPlainText($("upload-status"), "");
  setReviewBusy(false);
  document.body.dataset.state = `review-${step}`;
  $("review-heading").focus();
}

function setReviewBusy(busy) {
  for (const id of ["use-photo", "retake-photo", "choose-file"]) $(id).disabled = busy;
}

async function takePhoto() {
  $("take-photo").disabled = true;
  try {
    showReview(await captureFrame($("camera-preview")));
  } catch {
    $("take-photo").disabled = false;
    showNotice($("capture-error"), "api.retake.image_unreadable");
  }
}

async function choosePhoto() {
  const input = $("file-input");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  try {
    showReview(await acceptedImage(file));
  } catch (error) {
    if (!(error instanceof ImageTypeError)) throw error;
    showNotice($("capture-error"), "api.error.image_type");
  }
}

function retakePhoto() {
  forgetPhoto();
  $("review").hidden = true;
  $("camera").hidden = false;
  $("capture-error").hidden = true;
  document.body.dataset.state = `capture-${state.steps[state.index]}`;
  openCamera(state.steps[state.index]);
  $("capture-heading").focus();
}

async function usePhoto() {
  const step = state.steps[state.index];
  const progress = $("upload-progress");
  const status = $("upload-status");
  $("capture-error").hidden = true;
  setReviewBusy(true);
  progress.hidden = false;
  progress.value = 0;
  i18n.setText(status, "page.upload.progress", { percent: 0 });
  try {
    const grant = await state.api.createUpload(step, state.photo.type === "image/png" ? "image/png" : "image/jpeg");
    const photo = await fitToLimit(state.photo, grant.max_bytes);
    if (!photo) {
      showNotice($("capture-error"), "api.error.image_too_large");
      setReviewBusy(false);
      return;
    }
    await uploadToS3(grant, photo, (percent) => {
      progress.value = percent;
      i18n.setText(status, "page.upload.progress", { percent });
    });
  } catch (error) {
    if (handleCommonError(error)) return;
    setReviewBusy(false);
    progress.hidden = true;
    i18n.setPlainText(status, "");
    if (error instanceof ApiError && error.body.message) {
      // An API refusal (such as too many uploads) carries its message in the session's language.
      $("capture-error").hidden = false;
      i18n.setPlainText($("capture-error"), error.body.message);
    } else if (error instanceof UploadError || error instanceof NetworkError) {
      showNotice($("capture-error"), "page.upload.failed");
    } else {
      showNotice($("capture-error"), "page.error.unexpected");
    }
    return;
  }
  forgetPhoto();
  if (state.retakeStep === step || state.index + 1 >= state.steps.length) {
    state.retakeStep = null;
    submit();
  } else {
    beginStep(state.index + 1);
  }
}

// ------------------------------------------------------------------ live face check
/** Load the detector bundle once; reject when the deployment has none. */
function loadLivenessBundle() {
  if (!state.livenessBundle) {
    state.livenessBundle = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.type = "module";
      script.src = LIVENESS_SCRIPT.href;
      // A module script's load event fires after the module has run. The styles are added only
      // then, so a deployment without the bundle requests no stylesheet it cannot serve.
      script.onload = () => {
        if (!window.HireProofLiveness) {
          reject(new Error("liveness bundle did not register"));
          return;
        }
        const styles = document.createElement("link");
        styles.rel = "stylesheet";
        styles.href = LIVENESS_STYLES.href;
        document.head.append(styles);
        resolve(window.HireProofLiveness);
      };
      script.onerror = () => reject(new Error("liveness bundle not found"));
      document.head.append(script);
    });
  }
  return state.livenessBundle;
}

function unmountDetector() {
  state.livenessRequest += 1;
  if (state.unmountDetector) {
    state.unmountDetector();
    state.unmountDetector = null;
  }
}

// NOTE: a mounted detector keeps the language it started in; a switch applies from the next start.
function detectorText() {
  return Object.fromEntries(Object.entries(DETECTOR_TEXT).map(([name, key]) => [name, i18n.t(key)]));
}

function setLivenessStatus(key, problem) {
  const status = $("liveness-status");
  status.classList.toggle("notice", problem);
  status.classList.toggle("notice-error", problem);
  if (key) i18n.setText(status, key);
  else i18n.setPlainText(status, "");
}

function showLivenessUnavailable() {
  setLivenessStatus("page.liveness.unavailable", true);
  document.body.dataset.state = "liveness-unavailable";
}

function showLivenessRetry(key) {
  unmountDetector();
  showNotice($("liveness-error"), key);
  setLivenessStatus(null, false);
  $("liveness-retry").hidden = false;
  document.body.dataset.state = "liveness-error";
  $("liveness-retry").focus();
}

/**
 * Run the live face check: a Face Liveness session from POST verify/liveness, then the detector.
 *
 * The detector only streams video. Once it finishes, the page submits, and the API reads the
 * session's result from Rekognition, so nothing the browser reports is trusted.
 */
async function showLiveness(index, retake) {
  stopCamera();
  unmountDetector();
  const request = state.livenessRequest;
  i18n.setText($("liveness-progress"), "page.capture.progress", { current: index + 1, total: state.steps.length });
  $("liveness-retry").hidden = true;
  $("liveness-error").hidden = !retake;
  if (retake) {
    const key = i18n.has(`api.retake.${retake.reason}`) ? `api.retake.${retake.reason}` : "page.liveness.error.failed";
    i18n.setText($("liveness-error"), key);
  }
  setLivenessStatus("page.liveness.loading", false);
  document.body.dataset.state = "liveness-loading";
  show("screen-liveness");

  let detector;
  try {
    detector = await loadLivenessBundle();
  } catch {
    if (request === state.livenessRequest) showLivenessUnavailable();
    return;
  }
  let liveness;
  try {
    liveness = await state.api.createLiveness();
  } catch (error) {
    if (request !== state.livenessRequest || handleCommonError(error)) return;
    if (error instanceof NetworkError) showLivenessRetry("page.error.network");
    else showLivenessUnavailable();
    return;
  }
  if (request !== state.livenessRequest) return;

  setLivenessStatus(null, false);
  document.body.dataset.state = "liveness-ready";
  // Amplify calls these from inside React's rendering, so unmounting waits for the next task.
  state.unmountDetector = detector.mount($("liveness-detector"), {
    sessionId: liveness.liveness_session_id,
    region: liveness.region,
    credentialsProvider: detector.cognitoCredentials(liveness.region, liveness.identity_pool_id),
    displayText: detectorText(),
    onComplete: () => {
      if (request !== state.livenessRequest) return;
      setTimeout(() => {
        unmountDetector();
        submit();
      });
    },
    onError: (errorState) => {
      if (request !== state.livenessRequest) return;
      setTimeout(() => showLivenessRetry(DETECTOR_ERRORS[errorState] || "page.liveness.error.failed"));
    },
    onCancel: () => {
      if (request !== state.livenessRequest) return;
      setTimeout(() => showLivenessRetry("page.liveness.cancelled"));
    },
  });
}

// ------------------------------------------------------------------ submit and result
async function submit() {
  stopCamera();
  unmountDetector();
  $("submit-error").hidden = true;
  $("submit-retry").hidden = true;
  i18n.setText($("submit-status"), "page.submit.progress");
  document.body.dataset.state = "submitting";
  show("screen-submit");
  for (let attempt = 1; attempt <= SUBMIT_MAX_ATTEMPTS; attempt += 1) {
    try {
      showResult(await state.api.submit());
      return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        i18n.setText($("submit-status"), "api.error.not_ready_to_submit");
        await sleep(SUBMIT_RETRY_MS);
        continue;
      }
      if (handleCommonError(error) || handleSubmitRefusal(error)) return;
      showSubmitError(error instanceof NetworkError ? "page.error.network" : "page.error.unexpected");
      return;
    }
  }
  showSubmitError("page.error.not_ready_timeout");
}

function showSubmitError(key) {
  showNotice($("submit-error"), key);
  $("submit-retry").hidden = false;
  document.body.dataset.state = "submit-error";
}

/** Send the hire back to the photo the API refused; return false for other errors. */
function handleSubmitRefusal(error) {
  if (!(error instanceof ApiError) || !state.steps.includes(error.field)) return false;
  const index = state.steps.indexOf(error.field);
  state.retakeStep = error.field;
  if (error.status === 422 && error.body.retake_reason) {
    state.index = index;
    beginStep(index, { reason: error.body.retake_reason, attemptsLeft: error.body.attempts_left });
    return true;
  }
  const errorKeys = { 413: "api.error.image_too_large", 415: "api.error.image_type", 422: "api.error.evidence_missing" };
  if (!(error.status in errorKeys)) return false;
  state.index = index;
  showCapture(error.field, null);
  showNotice($("capture-error"), errorKeys[error.status], { step: { key: `api.step.${error.field}` } });
  return true;
}

const RESULTS = {
  credential_pending: { heading: "page.result.passed.heading", next: "page.result.laptop" },
  done: { heading: "page.result.passed.heading", next: "page.result.close" },
  under_review: { heading: "page.result.review.heading", next: "page.result.close" },
  contact_hr: { heading: "page.result.failed.heading", next: "page.result.close" },
  contact_help_desk: { heading: "page.result.failed.heading", next: "page.result.close" },
  continue: { heading: "page.result.continue.heading", next: "page.result.continue" },
  recovery_choice: { heading: "page.result.passed.heading", next: "page.result.recovery_choice" },
  recovery_agent: { heading: "page.result.passed.heading", next: "page.result.recovery_agent" },
};

// A sign-in goes back to the application that asked for it; only a same-origin path is followed.
function continueSignIn(decision) {
  const target = decision.continue_url || "";
  if (!target.startsWith("/") || target.startsWith("//")) return;
  document.body.dataset.continue = "pending";
  setTimeout(() => location.assign(target), 0);
}

function showResult(decision) {
  const result = RESULTS[decision.next_step] || RESULTS.contact_hr;
  i18n.setText($("result-heading"), result.heading);
  i18n.setText($("result-message"), `api.next_step.${decision.next_step in RESULTS ? decision.next_step : "contact_hr"}`);
  if (decision.ships_to) i18n.setText($("result-next"), "page.result.ships_to", { address: decision.ships_to });
  else i18n.setText($("result-next"), result.next);
  $("credential").hidden = decision.next_step !== "credential_pending" && decision.next_step !== "recovery_agent";
  $("recovery-choice").hidden = decision.next_step !== "recovery_choice";
  document.body.dataset.state = `result-${decision.decision.toLowerCase()}`;
  show("screen-result");
  if (decision.next_step === "credential_pending") collectCredential(CREDENTIAL_WAITS.onboarding);
  if (decision.next_step === "continue") continueSignIn(decision);
  if (decision.next_step === "recovery_choice") showResetChoice();
  // The caller's help desk agent chooses the reset, and the new credential appears here.
  if (decision.next_step === "recovery_agent") collectCredential(CREDENTIAL_WAITS.helpDesk);
}

// ------------------------------------------------------------------ reset choice
function showResetChoice() {
  state.unsupportedResets.clear();
  for (const id of Object.values(RESET_BUTTONS)) $(id).disabled = false;
  i18n.setPlainText($("recovery-status"), "");
  $("recovery-error").hidden = true;
  document.body.dataset.recovery = "choice";
}

function recoveryPageUrl() {
  const url = new URL(RECOVERY_PAGE);
  url.searchParams.set("lang", i18n.locale());
  return url.href;
}

/** Send the person's choice (POST verify/recovery/reset), then wait for the new credential. */
async function chooseReset(kind) {
  for (const id of Object.values(RESET_BUTTONS)) $(id).disabled = true;
  $("recovery-error").hidden = true;
  i18n.setText($("recovery-status"), "page.recovery.choosing");
  document.body.dataset.recovery = "choosing";
  try {
    await state.api.chooseReset(kind);
  } catch (error) {
    showResetRefusal(kind, error);
    return;
  }
  i18n.setText($("recovery-status"), RESET_CHOSEN[kind]);
  document.body.dataset.recovery = `chosen-${kind}`;
  $("credential").hidden = false;
  // The pressed button is disabled now, so focus moves on to the section that comes next.
  $("credential-heading").focus();
  collectCredential(CREDENTIAL_WAITS.reset);
}

/** Explain why POST verify/recovery/reset failed, with what to do next, in the page's language. */
function showResetRefusal(kind, error) {
  const message = $("recovery-error-message");
  i18n.setPlainText($("recovery-status"), "");
  $("recovery-restart").hidden = true;
  // Checked before handleCommonError, which takes every other 410 for an expired link.
  if (error instanceof ApiError && error.error === "VerificationTooOldError") {
    i18n.setText(message, "page.recovery.error.too_old");
    $("recovery-restart-link").href = recoveryPageUrl();
    $("recovery-restart").hidden = false;
    showResetError("too-old", []);
    return;
  }

  if (error instanceof ApiError && error.error === "ResetNotSupportedError") {
    // The provider may still make the other reset, so that button works again.
    state.unsupportedResets.add(kind);
    i18n.setText(message, "page.recovery.error.not_supported");
    showResetError("not-supported", enabledResets());
    return;
  }

  if (error instanceof ApiError && error.error === "ResetAlreadyChosenError") {
    // Another tab or an earlier click made the choice. Its credential still appears below, once.
    i18n.setText(message, "page.recovery.error.already_chosen");
    $("recovery-restart-link").href = recoveryPageUrl();
    $("recovery-restart").hidden = false;
    showResetError("already-chosen", []);
    $("credential").hidden = false;
    collectCredential(CREDENTIAL_WAITS.reset);
    return;
  }

  if (handleCommonError(error)) return;
  if (error instanceof ApiError && error.status === 409 && error.body.message) {
    // Not passed, not eligible and closed are final, and the API's message names what to do next.
    i18n.setPlainText(message, error.body.message);
    showResetError("refused", []);
    return;
  }

  // After a network failure or an unexpected response, the person can press a button again.
  i18n.setText(message, error instanceof NetworkError ? "page.error.network" : "page.error.unexpected");
  showResetError("retry", enabledResets());
}

function enabledResets() {
  return Object.keys(RESET_BUTTONS).filter((kind) => !state.unsupportedResets.has(kind));
}

/** Show the refusal and enable the buttons of `kinds`. The first takes the focus, or else the heading. */
function showResetError(name, kinds) {
  $("recovery-error").hidden = false;
  document.body.dataset.recovery = name;
  for (const kind of kinds) $(RESET_BUTTONS[kind]).disabled = false;
  if (kinds.length) $(RESET_BUTTONS[kinds[0]]).focus();
  else $("recovery-choice-heading").focus();
}

function showAlreadyDecided() {
  // A decided session's link (or the credential-ready e-mail's link) still opens the credential.
  stopCamera();
  i18n.setText($("result-heading"), "api.error.invitation_used");
  i18n.setPlainText($("result-message"), "");
  i18n.setPlainText($("result-next"), "");
  $("credential").hidden = false;
  document.body.dataset.state = "already-decided";
  show("screen-result");
  collectCredential(CREDENTIAL_WAITS.onboarding);
}

// ------------------------------------------------------------------ credential
/** Poll GET verify/credential until the credential is stored, then show it. `wait` is a CREDENTIAL_WAITS entry. */
async function collectCredential(wait) {
  const status = $("credential-status");
  state.credentialWait = wait;
  $("credential-box").hidden = true;
  i18n.setText(status, wait.waiting);
  for (let poll = 1; poll <= wait.maxPolls; poll += 1) {
    try {
      showCredential(await state.api.credential());
      return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        // 409 means "not issued yet" or "under review", and the API's message names which.
        if (wait.showApiWaiting && error.body.message) i18n.setPlainText(status, error.body.message);
        await sleep(CREDENTIAL_POLL_MS);
        continue;
      }
      if (error instanceof NetworkError) {
        await sleep(CREDENTIAL_POLL_MS);
        continue;
      }
      showCredentialRefusal(error);
      return;
    }
  }
  i18n.setText(status, wait.timeout);
  document.body.dataset.credential = "timeout";
}

function showCredentialRefusal(error) {
  const status = $("credential-status");
  if (error instanceof ApiError && error.status === 410 && error.error === "InvitationUsedError") {
    i18n.setText(status, "api.error.credential_shown");
    document.body.dataset.credential = "already-shown";
  } else if (error instanceof ApiError && error.status === 410) {
    i18n.setText(status, "page.credential.expired");
    document.body.dataset.credential = "expired";
  } else if (error instanceof ApiError && error.status === 404 && document.body.dataset.state === "already-decided") {
    // A decided verification that issues no credential, such as the laptop recipient's: nothing is missing.
    $("credential").hidden = true;
    i18n.setText($("result-next"), "page.result.close");
    document.body.dataset.credential = "none";
  } else if (error instanceof ApiError && error.status === 404) {
    i18n.setText(status, state.credentialWait.none);
    document.body.dataset.credential = "none";
  } else if (error instanceof ApiError && error.status === 401) {
    i18n.setText(status, "api.error.invitation_not_found");
    document.body.dataset.credential = "invalid-link";
  } else {
    i18n.setText(status, "page.error.unexpected");
    document.body.dataset.credential = "error";
  }
}

function kindKey(prefix, kind) {
  return i18n.has(`${prefix}.${kind}`) ? `${prefix}.${kind}` : `${prefix}.unknown`;
}

function showCredential(credential) {
  state.credentialValue = credential.value;
  i18n.setPlainText($("credential-status"), "");
  i18n.setText($("credential-kind"), kindKey("page.credential.kind", credential.kind));
  i18n.setText($("credential-help"), kindKey(state.credentialWait.help, credential.kind));
  const value = $("credential-value");
  const isLink = credential.kind === "activation_link" || credential.kind === "password_reset_link";
  if (isLink && /^https:\/\//.test(credential.value)) {
    const link = document.createElement("a");
    link.href = credential.value;
    link.rel = "noreferrer";
    link.textContent = credential.value;
    value.replaceChildren(link);
  } else {
    i18n.setPlainText(value, credential.value);
  }
  const expires = $("credential-expires");
  expires.hidden = !credential.expires_at;
  if (credential.expires_at) i18n.setText(expires, "page.credential.expires", { date: { date: credential.expires_at } });
  $("credential-box").hidden = false;
  document.body.dataset.credential = "shown";
  $("credential-heading").focus();
}

async function copyCredential() {
  const status = $("credential-status");
  try {
    await navigator.clipboard.writeText(state.credentialValue || "");
    i18n.setText(status, "page.credential.copied");
  } catch {
    i18n.setText(status, "page.credential.copy_failed");
  }
}

function hideCredential() {
  state.credentialValue = null;
  $("credential-value").replaceChildren();
  $("credential-box").hidden = true;
  i18n.setText($("credential-status"), "page.credential.hidden");
  document.body.dataset.credential = "hidden";
  $("credential-heading").focus();
}

// ------------------------------------------------------------------ start
function bindEvents() {
  $("language").addEventListener("change", async (event) => {
    state.languageChosen = true;
    await setLanguage(event.target.value);
    $("recovery-restart-link").href = recoveryPageUrl();
  });
  $("start").addEventListener("click", () => beginStep(0));
  $("take-photo").addEventListener("click", takePhoto);
  $("choose-file").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", choosePhoto);
  $("retake-photo").addEventListener("click", retakePhoto);
  $("use-photo").addEventListener("click", usePhoto);
  $("submit-retry").addEventListener("click", submit);
  $("liveness-retry").addEventListener("click", () => showLiveness(state.index, null));
  $("credential-copy").addEventListener("click", copyCredential);
  $("credential-hide").addEventListener("click", hideCredential);
  for (const [kind, id] of Object.entries(RESET_BUTTONS)) $(id).addEventListener("click", () => chooseReset(kind));
  window.addEventListener("pagehide", stopCamera);
}

async function start(token) {
  try {
    await setLanguage(i18n.browserLanguage());
  } catch {
    // Without a catalog the error screen keeps the text index.html was served with.
    document.body.dataset.state = "error";
    $("error-retry").onclick = () => start(token);
    show("screen-error");
    return;
  }
  if (!token) {
    // The access gateway sends people who need a step-up verification to /verify/step-up.
    showLinkProblem(location.pathname.endsWith("/verify/step-up") ? "step_up" : "missing");
    return;
  }
  state.api = createClient(token);
  await openSession();
}

bindEvents();
start(readToken());
