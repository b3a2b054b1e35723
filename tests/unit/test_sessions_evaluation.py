"""hireproof.sessions.evaluation: engine and policy chosen from the environment."""

from __future__ import annotations

import pytest

from hireproof.errors import ConfigurationError, NotFoundError
from hireproof.sessions import evaluation
from hireproof.verification.local_engine import LocalEngine
from hireproof.verification.rekognition_engine import RekognitionEngine


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.parametrize(
    ("engine", "stage", "expected"),
    [
        ("local", "local", LocalEngine),
        ("local", "dev", LocalEngine),
        ("rekognition", "prod", RekognitionEngine),
        ("rekognition", "dev", RekognitionEngine),
    ],
)
def test_engine_from_environment(
    monkeypatch: pytest.MonkeyPatch, engine: str, stage: str, expected: type
) -> None:
    monkeypatch.setenv("VERIFICATION_ENGINE", engine)
    monkeypatch.setenv("HIREPROOF_STAGE", stage)

    assert isinstance(evaluation.engine(), expected)


def test_engine_defaults_to_rekognition(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERIFICATION_ENGINE", raising=False)
    monkeypatch.setenv("HIREPROOF_STAGE", "prod")

    assert evaluation.engine_name() == "rekognition"
    assert evaluation.liveness_mode() == "rekognition"


@pytest.mark.parametrize("stage", ["prod", "staging", ""])
def test_local_engine_refused_outside_local_and_dev(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    # An unknown or empty stage counts as prod.
    monkeypatch.setenv("VERIFICATION_ENGINE", "local")
    monkeypatch.setenv("HIREPROOF_STAGE", stage)

    with pytest.raises(ConfigurationError):
        evaluation.engine()


def test_unknown_engine_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFICATION_ENGINE", "magic")

    with pytest.raises(ConfigurationError):
        evaluation.engine_name()


def test_settings_follow_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIREPROOF_STAGE", "prod")
    prod = evaluation.settings()
    monkeypatch.setenv("HIREPROOF_STAGE", "dev")
    dev = evaluation.settings()

    assert prod.allow_unchecked_liveness is False
    assert dev.allow_unchecked_liveness is True


def test_local_engine_has_no_liveness_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFICATION_ENGINE", "local")
    monkeypatch.setenv("HIREPROOF_STAGE", "local")

    with pytest.raises(NotFoundError):
        evaluation.create_liveness_session(verification_session_id="s", hire_id="h")


def test_short_fingerprint_key_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASH_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:k")
    monkeypatch.setattr(evaluation.parameters, "get_secret", lambda *_args, **_kwargs: "short")

    with pytest.raises(ConfigurationError):
        evaluation.fingerprint_key()
