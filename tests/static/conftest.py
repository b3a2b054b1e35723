"""Fixtures shared by the static-check tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from static_checks import CHECKOV_VENV, REPO_ROOT, SCRIPTS, TranslatedRepository, run_check


@pytest.fixture(scope="session")
def checkov_venv() -> Path:
    """The separate virtualenv with checkov and aws-sam-translator (created by `make checkov`)."""
    if not (CHECKOV_VENV / ".installed").is_file():
        message = f"{CHECKOV_VENV} is missing: run `make checkov` once to create it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHECKOV_VENV


@pytest.fixture(scope="session")
def translated_repository(
    checkov_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> TranslatedRepository:
    cfn_json = tmp_path_factory.mktemp("translated") / "template.cfn.json"
    run = run_check([SCRIPTS / "checkov.sh", "template.yaml", cfn_json], REPO_ROOT)
    return TranslatedRepository(run, cfn_json)
