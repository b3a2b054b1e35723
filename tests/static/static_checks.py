"""Run the static checks the way `make static` runs them, on the repository or on a scratch copy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
VENV_BIN = Path(sys.executable).parent
CHECKOV_VENV = REPO_ROOT / ".checkov-venv"
# One checkov run took 3-6 s on two cores here. The bound only stops a hung process.
CHECK_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class CheckRun:
    """Exit status and combined output of one check."""

    returncode: int
    output: str


@dataclass(frozen=True)
class TranslatedRepository:
    """scripts/checkov.sh run once on the repository's own template."""

    checkov: CheckRun
    cfn_json: Path


def run_check(args: Sequence[str | Path], cwd: Path) -> CheckRun:
    completed = subprocess.run(  # noqa: S603 - fixed tools from this repository
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
        check=False,
    )
    return CheckRun(completed.returncode, completed.stdout + completed.stderr)


def write_project(root: Path, template: str, files: dict[str, str] | None = None) -> Path:
    """Write template.yaml and the given files under root, and return the template path."""
    for relative, text in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    template_path = root / "template.yaml"
    template_path.write_text(template, encoding="utf-8")
    return template_path
