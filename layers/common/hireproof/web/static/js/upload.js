// Photos to S3 through the API's presigned POST, and fitting a photo to the upload limit.

export const ACCEPTED_TYPES = ["image/jpeg", "image/png"];
// Long side of a photo that is re-encoded because it is over the limit or in another format.
const REENCODE_LONG_SIDE = 3000;

/** S3 rejected the upload or the connection failed; `status` is 0 for a network failure. */
export class UploadError extends Error {
  constructor(status) {
    super(`upload failed with HTTP ${status}`);
    this.name = "UploadError";
    this.status = status;
  }
}

/** The browser cannot read the chosen file as an image. */
export class ImageTypeError extends Error {
  constructor(cause) {
    super("the file is not an image this browser can read", { cause });
    this.name = "ImageTypeError";
  }
}

/** Re-encode an image as a JPEG whose long side is at most REENCODE_LONG_SIDE pixels. */
async function reencode(blob) {
  let bitmap;
  try {
    // from-image applies the EXIF orientation, so the upload is upright without its EXIF.
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch (error) {
    throw new ImageTypeError(error);
  }
  const scale = Math.min(1, REENCODE_LONG_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve, reject) => {
    canvas.toBlob((out) => (out ? resolve(out) : reject(new ImageTypeError())), "image/jpeg", 0.9);
  });
}

/** Return a JPEG or PNG blob for a chosen file, converting other image types the browser reads. */
export async function acceptedImage(blob) {
  return ACCEPTED_TYPES.includes(blob.type) ? blob : reencode(blob);
}

/** Return the blob, or a smaller JPEG of it when it is larger than `maxBytes`; null if still too large. */
export async function fitToLimit(blob, maxBytes) {
  if (blob.size <= maxBytes) return blob;
  const smaller = await reencode(blob);
  return smaller.size <= maxBytes ? smaller : null;
}

/**
 * POST one photo to S3 with the presigned fields; S3 requires the file to be the last field.
 * `onProgress` receives whole percentages. XMLHttpRequest, because fetch reports no upload progress.
 */
export function uploadToS3(grant, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
    form.append("file", blob, blob.type === "image/png" ? "photo.png" : "photo.jpg");

    const request = new XMLHttpRequest();
    request.open("POST", grant.url);
    request.timeout = 120000;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((100 * event.loaded) / event.total));
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve();
      else reject(new UploadError(request.status));
    });
    request.addEventListener("error", () => reject(new UploadError(0)));
    request.addEventListener("timeout", () => reject(new UploadError(0)));
    request.send(form);
  });
}
