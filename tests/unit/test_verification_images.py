"""Image preparation: magic bytes, size limits, EXIF orientation, downscaling, fingerprints."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from hireproof.errors import PayloadTooLargeError, RetakeRequiredError, UnsupportedMediaTypeError
from hireproof.verification.images import (
    MAX_ENGINE_BYTES,
    MAX_UPLOAD_BYTES,
    MediaType,
    downscale,
    encode_jpeg,
    fingerprint_document_number,
    fingerprint_pixels,
    load_upright,
    sharpness,
    sniff_media_type,
)
from hireproof.verification.reasons import RetakeReason

KEY = b"k" * 32


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def red_top(width: int = 400, height: int = 300) -> Image.Image:
    """Red top half, blue bottom half: which way is up is visible in the pixels."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width, height // 2))
    return image


@pytest.mark.parametrize(("fmt", "expected"), [("JPEG", MediaType.JPEG), ("PNG", MediaType.PNG)])
def test_sniff_reads_magic_bytes(fmt: str, expected: MediaType) -> None:
    assert sniff_media_type(encoded(red_top(), fmt)) is expected


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_formats_are_unsupported(fmt: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        load_upright(encoded(red_top(), fmt), field="selfie", attempts_left=2)

    assert caught.value.field == "selfie"


def test_upload_over_15_mb_is_refused_before_decoding() -> None:
    data = b"\xff\xd8\xff" + b"\0" * MAX_UPLOAD_BYTES

    with pytest.raises(PayloadTooLargeError) as caught:
        load_upright(data, field="id_front", attempts_left=2)

    assert caught.value.field == "id_front"


def test_exif_rotated_photo_comes_out_upright() -> None:
    # A phone held sideways stores the pixels rotated and records EXIF Orientation 6
    # ("rotate 90 degrees clockwise to display").
    stored = red_top(400, 300).rotate(90, expand=True)  # red now on the left, 300x400
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(stored, "JPEG", exif=exif.tobytes(), quality=95)

    upright = load_upright(data, field="selfie", attempts_left=2)

    assert upright.size == (400, 300)
    top, bottom = upright.getpixel((200, 40)), upright.getpixel((200, 260))
    assert top == pytest.approx((255, 0, 0), abs=40)
    assert bottom == pytest.approx((0, 0, 255), abs=40)


def test_large_photo_is_encoded_under_the_engine_limit() -> None:
    # Noise defeats compression: at quality 100 this 6-megapixel JPEG is over 5 MB and
    # stays over it when re-encoded at the first quality tried.
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 256, (2000, 3000, 3), dtype=np.uint8), "RGB")
    data = encoded(noise, "JPEG", quality=100)
    assert MAX_ENGINE_BYTES < len(data) <= MAX_UPLOAD_BYTES

    jpeg = encode_jpeg(load_upright(data, field="selfie", attempts_left=2))

    assert len(jpeg) <= MAX_ENGINE_BYTES
    assert sniff_media_type(jpeg) is MediaType.JPEG


def test_encode_scales_down_when_quality_is_not_enough() -> None:
    rng = np.random.default_rng(11)
    noise = Image.fromarray(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8), "RGB")

    jpeg = encode_jpeg(noise, max_bytes=300_000)

    assert len(jpeg) <= 300_000
    assert max(Image.open(io.BytesIO(jpeg)).size) < 1600


def test_encode_respects_a_long_side_bound() -> None:
    jpeg = encode_jpeg(red_top(3000, 2000), max_long_side=1024)

    assert Image.open(io.BytesIO(jpeg)).size == (1024, 683)


def test_downscale_keeps_small_images_and_aspect() -> None:
    small = red_top(300, 200)

    assert downscale(small, 800) is small
    assert downscale(red_top(1600, 1200), 800).size == (800, 600)


def test_tiny_image_needs_a_retake() -> None:
    with pytest.raises(RetakeRequiredError) as caught:
        load_upright(encoded(red_top(120, 90), "PNG"), field="selfie", attempts_left=1)

    assert caught.value.reason == RetakeReason.IMAGE_TOO_SMALL
    assert caught.value.attempts_left == 1


def test_truncated_file_needs_a_retake() -> None:
    data = encoded(red_top(), "JPEG")[:200]

    with pytest.raises(RetakeRequiredError) as caught:
        load_upright(data, field="id_front", attempts_left=2)

    assert caught.value.reason == RetakeReason.IMAGE_UNREADABLE


def test_transparent_png_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))

    upright = load_upright(encoded(image, "PNG"), field="selfie", attempts_left=2)

    assert upright.mode == "RGB"
    assert upright.getpixel((10, 10)) == (255, 255, 255)


def test_blur_lowers_sharpness() -> None:
    rng = np.random.default_rng(3)
    texture = Image.fromarray(rng.integers(0, 256, (480, 640), dtype=np.uint8), "L").convert("RGB")

    sharp = sharpness(texture)
    blurred = sharpness(texture.filter(ImageFilter.GaussianBlur(6)))

    assert blurred < 4.0 < sharp


def test_pixel_fingerprint_keyed_and_content_bound() -> None:
    image = red_top()
    png = load_upright(encoded(image, "PNG"), field="selfie", attempts_left=2)
    png_again = load_upright(
        encoded(image, "PNG", compress_level=1), field="selfie", attempts_left=2
    )
    other = red_top(400, 302)

    assert fingerprint_pixels(png, KEY) == fingerprint_pixels(png_again, KEY)
    assert fingerprint_pixels(png, KEY) != fingerprint_pixels(other, KEY)
    assert fingerprint_pixels(png, KEY) != fingerprint_pixels(png, b"x" * 32)


def test_document_number_fingerprint_normalizes_and_needs_a_number() -> None:
    first = fingerprint_document_number(KEY, issuer="us-zz", number="D 482-0017")

    assert first == fingerprint_document_number(KEY, issuer="US-ZZ", number="d4820017")
    assert first != fingerprint_document_number(KEY, issuer="US-CA", number="D4820017")
    assert fingerprint_document_number(KEY, issuer="US-ZZ", number=None) is None
