// The new hire's verification page: open the session, take the photos, submit, show the result.
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
  renderIntro();
}

function renderIntro() {
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
    showLiveness(index);
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

function showLiveness(index) {
  // NOTE: the AWS engine's live face check needs Amplify UI's FaceLivenessDetector, which
  // brings npm packages and a Cognito identity pool for its credentials. This page does not
  // include it, so a hire in liveness_mode "rekognition" stops at this step.
  stopCamera();
  i18n.setText($("liveness-progress"), "page.capture.progress", { current: index + 1, total: state.steps.length });
  document.body.dataset.state = "liveness-unavailable";
  show("screen-liveness");
}

// ------------------------------------------------------------------ submit and result
async function submit() {
  stopCamera();
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
};

function showResult(decision) {
  const result = RESULTS[decision.next_step] || RESULTS.contact_hr;
  i18n.setText($("result-heading"), result.heading);
  i18n.setText($("result-message"), `api.next_step.${decision.next_step in RESULTS ? decision.next_step : "contact_hr"}`);
  if (decision.ships_to) i18n.setText($("result-next"), "page.result.ships_to", { address: decision.ships_to });
  else i18n.setText($("result-next"), result.next);
  $("credential").hidden = decision.next_step !== "credential_pending";
  document.body.dataset.state = `result-${decision.decision.toLowerCase()}`;
  show("screen-result");
  if (decision.next_step === "credential_pending") collectCredential();
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
  collectCredential();
}

// ------------------------------------------------------------------ credential
async function collectCredential() {
  const status = $("credential-status");
  $("credential-box").hidden = true;
  i18n.setText(status, "page.credential.waiting");
  for (let poll = 1; poll <= CREDENTIAL_MAX_POLLS; poll += 1) {
    try {
      showCredential(await state.api.credential());
      return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        // 409 means "not issued yet" or "under review", and the API's message names which.
        if (error.body.message) i18n.setPlainText(status, error.body.message);
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
  i18n.setText(status, "page.credential.timeout");
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
    i18n.setText(status, "api.error.credential_none");
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
  i18n.setText($("credential-help"), kindKey("page.credential.help", credential.kind));
  const value = $("credential-value");
  if (credential.kind === "activation_link" && /^https:\/\//.test(credential.value)) {
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
  });
  $("start").addEventListener("click", () => beginStep(0));
  $("take-photo").addEventListener("click", takePhoto);
  $("choose-file").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", choosePhoto);
  $("retake-photo").addEventListener("click", retakePhoto);
  $("use-photo").addEventListener("click", usePhoto);
  $("submit-retry").addEventListener("click", submit);
  $("credential-copy").addEventListener("click", copyCredential);
  $("credential-hide").addEventListener("click", hideCredential);
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
