// The phone's camera: a live preview and a still photo taken from it.

/** The camera cannot be used: `reason` is "denied" (permission) or "unavailable". */
export class CameraUnavailableError extends Error {
  constructor(reason, cause) {
    super(`camera ${reason}`, { cause });
    this.name = "CameraUnavailableError";
    this.reason = reason;
  }
}

const DENIED = new Set(["NotAllowedError", "SecurityError"]);

function release(video, stream) {
  stream.getTracks().forEach((track) => track.stop());
  // A camera started later may already show in the same video element.
  if (video.srcObject === stream) video.srcObject = null;
}

/**
 * Start the camera facing `facingMode` ("environment" for the ID, "user" for the selfie)
 * and show it in `video`. Returns an object whose stop() releases the camera.
 */
export async function startCamera(video, facingMode) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    // Browsers offer no camera API outside secure contexts (https, or http on localhost).
    throw new CameraUnavailableError("unavailable");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      // "ideal", not "exact": a laptop or a phone with one camera still gets a picture.
      video: { facingMode: { ideal: facingMode }, width: { ideal: 1920 }, height: { ideal: 1080 } },
    });
  } catch (error) {
    throw new CameraUnavailableError(DENIED.has(error.name) ? "denied" : "unavailable", error);
  }
  video.srcObject = stream;
  try {
    await video.play();
    if (!video.videoWidth) {
      await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
    }
  } catch (error) {
    release(video, stream);
    throw new CameraUnavailableError("unavailable", error);
  }
  return { stop: () => release(video, stream) };
}

/** Take the current video frame at the camera's full resolution, as a JPEG blob. */
export function captureFrame(video) {
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  // Only the preview of the front camera is mirrored (by CSS), never the photo.
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("the browser did not encode the photo"))),
      "image/jpeg",
      0.92,
    );
  });
}
