"""Every sample event under events/ is valid JSON and loaded by at least one test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hireproof.local.fakes.bamboohr import load_seed

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# The fake BambooHR directory loads this folder whole; its test is below.
DIRECTORY_SEED = EVENTS / "hr_directory"
SAMPLES = sorted(p for p in EVENTS.glob("*/*.json") if p.parent != DIRECTORY_SEED)


def _test_sources() -> dict[Path, str]:
    this_file = Path(__file__).resolve()
    return {
        path: path.read_text(encoding="utf-8")
        for path in (ROOT / "tests").rglob("*.py")
        if path.resolve() != this_file
    }


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sample_event_is_loaded_by_a_test(sample: Path) -> None:
    json.loads(sample.read_text(encoding="utf-8"))
    function, name = f'"{sample.parent.name}"', f'"{sample.stem}"'

    users = [path for path, text in _test_sources().items() if function in text and name in text]

    assert users, f"no test loads {sample.relative_to(ROOT)}; use it in a test or delete it"


def test_directory_seed_serves_every_file() -> None:
    files = sorted(DIRECTORY_SEED.glob("*.json"))
    seeded = load_seed(DIRECTORY_SEED)

    assert len(files) >= 1
    assert len(seeded) == len(files)
