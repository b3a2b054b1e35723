"""Image preparation shared by the engines: checks, EXIF orientation, downscaling, fingerprints.

The media type is read from the file's magic bytes, never from its name or the declared
content type. EXIF orientation is applied before any resize, so a phone photo taken in
portrait reaches the face detector upright.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import warnings
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hireproof.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from hireproof.verification.reasons import RetakeReason, retake

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
"""Largest accepted upload, also Rekognition's limit for an image in S3."""
MAX_ENGINE_BYTES = 5 * 1024 * 1024
"""Rekognition's limit for image bytes passed in a request."""
MAX_PIXELS = 50_000_000
"""Guard against decompression bombs: a small file that decodes to a huge image."""
MIN_SHORT_SIDE = 240
"""Below this, a face or a barcode is too small to read reliably."""
SHARPNESS_SIDE = 640
"""Sharpness is measured at this long side so that it does not depend on the resolution."""

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class MediaType(StrEnum):
    """Image types HireProof accepts."""

    JPEG = "image/jpeg"
    PNG = "image/png"


# Phones save multi-picture JPEGs, which Pillow reports as MPO.
_PILLOW_FORMATS = {MediaType.JPEG: {"JPEG", "MPO"}, MediaType.PNG: {"PNG"}}


def sniff_media_type(data: bytes) -> MediaType:
    """Return the media type from the magic bytes, or raise UnsupportedMediaTypeError."""
    if data.startswith(_JPEG_MAGIC):
        return MediaType.JPEG
    if data.startswith(_PNG_MAGIC):
        return MediaType.PNG
    raise UnsupportedMediaTypeError("Only JPEG and PNG images are accepted.")


def check_upload(data: bytes, *, field: str) -> MediaType:
    """Check an upload's size and type before decoding it."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError("The image is larger than 15 MB.", field=field)
    try:
        return sniff_media_type(data)
    except UnsupportedMediaTypeError as exc:
        raise UnsupportedMediaTypeError(exc.message, field=field) from exc


def load_upright(data: bytes, *, field: str, attempts_left: int) -> Image.Image:
    """Decode an upload into an upright RGB image.

    Raises PayloadTooLargeError or UnsupportedMediaTypeError for unusable files, and
    RetakeRequiredError (image_unreadable, image_too_small) for images the hire can retake.
    """
    media_type = check_upload(data, field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise PayloadTooLargeError("The image has too many pixels.", field=field)
            if image.format not in _PILLOW_FORMATS[media_type]:
                raise UnsupportedMediaTypeError(
                    "Only JPEG and PNG images are accepted.", field=field
                )
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PayloadTooLargeError("The image has too many pixels.", field=field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise retake(
            RetakeReason.IMAGE_UNREADABLE, field=field, attempts_left=attempts_left
        ) from exc
    rgb = _to_rgb(upright)
    if min(rgb.size) < MIN_SHORT_SIDE:
        raise retake(RetakeReason.IMAGE_TOO_SMALL, field=field, attempts_left=attempts_left)
    return rgb


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def downscale(image: Image.Image, max_long_side: int) -> Image.Image:
    """Return the image scaled so that its long side is at most `max_long_side`."""
    long_side = max(image.size)
    if long_side <= max_long_side:
        return image
    ratio = max_long_side / long_side
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_jpeg(
    image: Image.Image, *, max_bytes: int = MAX_ENGINE_BYTES, max_long_side: int | None = None
) -> bytes:
    """Encode as JPEG under `max_bytes`, lowering quality, then size, until it fits."""
    current = downscale(image, max_long_side) if max_long_side else image
    quality = 92
    for _ in range(12):
        buffer = io.BytesIO()
        current.save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
        if quality > 75:
            quality -= 8
        else:
            current = downscale(current, int(max(current.size) * 0.75))
    raise PayloadTooLargeError("The image could not be reduced below the engine's size limit.")


def sharpness(image: Image.Image) -> float:
    """Variance of the Laplacian of the grey image at a fixed size: low values mean blur."""
    grey = np.asarray(downscale(image, SHARPNESS_SIDE).convert("L"), dtype=np.float32)
    laplacian = (
        grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    )
    return float(laplacian.var())


def fingerprint_pixels(image: Image.Image, key: bytes) -> str:
    """Keyed SHA-256 of the upright RGB pixels and size.

    The same picture uploaded again matches even with other metadata or after a lossless
    re-save; a re-photographed or re-compressed picture does not.
    """
    digest = hmac.new(key, f"{image.width}x{image.height}:".encode(), hashlib.sha256)
    digest.update(_to_rgb(image).tobytes())
    return digest.hexdigest()


def fingerprint_document_number(
    key: bytes, *, issuer: str | None, number: str | None
) -> str | None:
    """Keyed SHA-256 of issuer and document number, normalized; None when there is no number."""
    if not number:
        return None
    normalized = "".join(ch for ch in number.upper() if ch.isalnum())
    payload = f"{(issuer or '').upper()}|{normalized}".encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()
