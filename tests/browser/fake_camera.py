"""A fake camera for Chromium: a Y4M video that shows one picture after another.

Chromium plays the file named by `--use-file-for-fake-video-capture` as the camera, from the
first frame each time a page starts the camera, and loops it. Each picture (a "segment") is
shown for SEGMENT_SECONDS, long enough for a test to press the shutter while it is on screen.
Tests tell the segments apart by a 16x9 grey thumbnail (`signature`), because the camera
path (YUV 4:2:0, then the page's JPEG encoding) changes the pixels a little.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 1280, 720
FRAME_RATE = 2
SEGMENT_SECONDS = 3
# A dark grey table under the card, as a hire would photograph it.
BACKGROUND = (58, 60, 66)
SIGNATURE_SIZE = (16, 9)


def compose_frame(photo: bytes) -> Image.Image:
    """Fit a photo (JPEG or PNG bytes) inside one camera frame on the background."""
    picture = Image.open(io.BytesIO(photo)).convert("RGB")
    picture.thumbnail((WIDTH - 80, HEIGHT - 40), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    frame.paste(picture, ((WIDTH - picture.width) // 2, (HEIGHT - picture.height) // 2))
    return frame


def to_i420(frame: Image.Image) -> bytes:
    """Convert an RGB frame to planar YUV 4:2:0 (BT.601, video range), as Y4M `C420` stores it."""
    rgb = np.asarray(frame, dtype=np.float32) / 255.0
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = 16 + 65.481 * red + 128.553 * green + 24.966 * blue
    blue_difference = 128 - 37.797 * red - 74.203 * green + 112.0 * blue
    red_difference = 128 + 112.0 * red - 93.786 * green - 18.214 * blue

    def subsample(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3))

    planes = (luma, subsample(blue_difference), subsample(red_difference))
    return b"".join(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes() for plane in planes)


def signature(frame: Image.Image) -> list[float]:
    """Return the 16x9 grey thumbnail that identifies a segment."""
    small = frame.convert("L").resize(SIGNATURE_SIZE, Image.Resampling.BOX)
    return [float(value) for value in np.asarray(small, dtype=np.float32).ravel()]


@dataclass(frozen=True)
class FakeCamera:
    """A written Y4M file and the signature of each of its segments, in play order."""

    path: Path
    segments: tuple[str, ...]
    signatures: Mapping[str, Sequence[float]]

    def segment_of(self, pixels: Sequence[float]) -> str:
        """Return the segment whose signature is nearest to a thumbnail taken in the browser."""
        observed = np.asarray(pixels, dtype=np.float32)

        def distance(name: str) -> float:
            return float(np.sum((np.asarray(self.signatures[name], dtype=np.float32) - observed) ** 2))

        return min(self.segments, key=distance)


def write_fake_camera(path: Path, pictures: Mapping[str, bytes]) -> FakeCamera:
    """Write a Y4M video showing each picture for SEGMENT_SECONDS, in the mapping's order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = {name: compose_frame(photo) for name, photo in pictures.items()}
    repeats = FRAME_RATE * SEGMENT_SECONDS
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FRAME_RATE}:1 Ip A1:1 C420\n".encode("ascii"))
        for frame in frames.values():
            planes = to_i420(frame)
            for _ in range(repeats):
                video.write(b"FRAME\n" + planes)
    return FakeCamera(
        path=path,
        segments=tuple(frames),
        signatures={name: signature(frame) for name, frame in frames.items()},
    )
