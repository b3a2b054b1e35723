"""Time the local verification engine, and measure the face distances behind its threshold.

    .venv/bin/python benchmarks/local_engine.py              # timing, into build/bench.json
    .venv/bin/python benchmarks/local_engine.py --calibrate  # distances for docs/calibration.md

Timing runs the whole `LocalEngine.evaluate` (decode, EXIF, checks, detection, encodings,
barcode) on the demo's genuine and impostor attempts and reports the median wall time of one
verification. The figure is merged into build/bench.json as `local_engine_seconds`.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import face_recognition
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from hireproof.local import assets
from hireproof.verification.engine import Evidence, HireFacts
from hireproof.verification.images import downscale
from hireproof.verification.local_engine import (
    DOCUMENT_LONG_SIDE,
    SELFIE_LONG_SIDE,
    LocalEngine,
    find_faces,
)

BENCH_FILE = Path("build/bench.json")
KEY = b"benchmark-fingerprint-key"


def time_engine(runs: int) -> dict[str, Any]:
    card = assets.genuine_card()
    front, back = assets.id_card_front(card), assets.id_card_back(card)
    hire = HireFacts(
        given_name=card.given,
        middle_name=card.middle,
        family_name=card.family,
        date_of_birth=card.date_of_birth,
        verification_date=card.issued,
    )
    attempts = [
        Evidence(id_front=front, id_back=back, selfie=selfie, fingerprint_key=KEY)
        for selfie in (assets.genuine_selfie(), assets.impostor_selfie())
    ]
    engine = LocalEngine()
    engine.evaluate(attempts[0], hire)  # warm-up: first use loads the dlib models
    seconds = []
    for run in range(runs):
        started = time.perf_counter()
        engine.evaluate(attempts[run % len(attempts)], hire)
        seconds.append(time.perf_counter() - started)
    return {
        "local_engine_seconds": round(statistics.median(seconds), 4),
        "local_engine_seconds_max": round(max(seconds), 4),
        "local_engine_runs": runs,
    }


def merge(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


# ----------------------------------------------------------------- calibration
def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _jpeg_again(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return _image(buffer.getvalue())


def _half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2))


SELFIE_VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as_shipped": lambda im: im,
    "unmirrored": ImageOps.mirror,
    "jpeg_q40": lambda im: _jpeg_again(im, 40),
    "darker": lambda im: ImageEnhance.Brightness(im).enhance(0.7),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "half_size": _half,
    "soft_blur": lambda im: im.filter(ImageFilter.GaussianBlur(2)),
    "greyscale": lambda im: im.convert("L").convert("RGB"),
}
CARD_VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as_shipped": lambda im: im,
    "jpeg_q50": lambda im: _jpeg_again(im, 50),
    "photo_of_card_70pct": lambda im: im.resize((im.width * 7 // 10, im.height * 7 // 10)),
}


def _encoding(image: Image.Image, long_side: int) -> np.ndarray[Any, Any] | None:
    pixels = np.asarray(downscale(image, long_side))
    boxes = find_faces(pixels)
    if len(boxes) != 1:
        return None
    encoding: np.ndarray[Any, Any] = face_recognition.face_encodings(pixels, [boxes[0]])[0]
    return encoding


def calibrate() -> dict[str, list[float]]:
    card = assets.genuine_card()
    selfies = {
        "genuine": _image(assets.genuine_selfie()),
        "impostor": _image(assets.impostor_selfie()),
    }
    cards = {
        "genuine": _image(assets.id_card_front(card, assets.DemoPerson.GENUINE)),
        "impostor": _image(assets.id_card_front(card, assets.DemoPerson.IMPOSTOR)),
    }
    selfie_codes = {
        (person, name): _encoding(variant(image), SELFIE_LONG_SIDE)
        for person, image in selfies.items()
        for name, variant in SELFIE_VARIANTS.items()
    }
    card_codes = {
        (person, name): _encoding(variant(image), DOCUMENT_LONG_SIDE)
        for person, image in cards.items()
        for name, variant in CARD_VARIANTS.items()
    }
    missed = [key for key, code in {**selfie_codes, **card_codes}.items() if code is None]
    distances: dict[str, list[float]] = {}
    for (s_person, _), s_code in selfie_codes.items():
        for (c_person, _), c_code in card_codes.items():
            if s_code is None or c_code is None:
                continue
            kind = (
                f"same:{s_person}" if s_person == c_person else f"selfie:{s_person}/card:{c_person}"
            )
            distances.setdefault(kind, []).append(float(np.linalg.norm(s_code - c_code)))
    for kind, values in distances.items():
        values.sort()
        print(
            f"{kind:30s} pairs={len(values):3d} min={values[0]:.3f} "
            f"median={statistics.median(values):.3f} max={values[-1]:.3f}"
        )
    print("variants without exactly one detected face:", missed or "none")
    return distances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output", type=Path, default=BENCH_FILE)
    parser.add_argument("--calibrate", action="store_true")
    args = parser.parse_args()
    if args.calibrate:
        calibrate()
        return
    figures = time_engine(args.runs)
    merge(figures, args.output)
    print(
        f"local engine: median {figures['local_engine_seconds']:.3f} s per verification "
        f"(max {figures['local_engine_seconds_max']:.3f} s, {args.runs} runs) -> {args.output}"
    )


if __name__ == "__main__":
    main()
