"""The layer's requirements and pyproject's runtime dependencies must not drift apart."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layer_requirements() -> set[str]:
    lines = (ROOT / "layers/common/requirements.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_layer_requirements_match_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _layer_requirements() == set(project["dependencies"])


def test_runtime_dependencies_are_pinned() -> None:
    for requirement in _layer_requirements():
        assert "==" in requirement, f"{requirement} is not pinned to an exact version"
