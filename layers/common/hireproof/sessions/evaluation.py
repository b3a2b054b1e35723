"""Choose the verification engine and policy settings from the environment; evaluate one attempt.

VERIFICATION_ENGINE selects `local` (face_recognition, no liveness check) or `rekognition`;
HIREPROOF_STAGE selects the policy settings. The prod stage never runs the local engine.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities import parameters

from hireproof.config import Stage, current_stage, optional_env, require_env
from hireproof.errors import ConfigurationError, NotFoundError
from hireproof.models import Hire
from hireproof.sessions.models import EvidenceKind
from hireproof.verification import policy
from hireproof.verification.engine import EngineResult, Evidence, HireFacts, VerificationEngine

LOCAL = "local"
REKOGNITION = "rekognition"
# Each engine's module and class, imported only when chosen: the local engine needs the
# `local` extra (dlib), which the Lambda layer does not ship.
_ENGINES: Mapping[str, tuple[str, str]] = {
    LOCAL: ("hireproof.verification.local_engine", "LocalEngine"),
    REKOGNITION: ("hireproof.verification.rekognition_engine", "RekognitionEngine"),
}
_FINGERPRINT_KEY_CACHE_SECONDS = 300
_MIN_FINGERPRINT_KEY_BYTES = 16


def engine_name() -> str:
    """Return the configured engine name; the prod stage refuses the local engine."""
    name = optional_env("VERIFICATION_ENGINE", REKOGNITION)
    if name not in _ENGINES:
        raise ConfigurationError(f"VERIFICATION_ENGINE must be one of {sorted(_ENGINES)}, got {name!r}")
    if name == LOCAL and current_stage() is Stage.PROD:
        raise ConfigurationError(
            "the local engine cannot check liveness and is not allowed in the prod stage;"
            " set VERIFICATION_ENGINE=rekognition"
        )
    return name


def liveness_mode() -> Literal["local_selfie", "rekognition"]:
    """Return how the page captures the face: a selfie (local) or Rekognition Face Liveness."""
    return "local_selfie" if engine_name() == LOCAL else "rekognition"


@cache
def _engine(name: str) -> VerificationEngine:
    module_name, class_name = _ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"verification engine {name!r} is not available in this deployment ({module_name})"
        ) from exc
    engine: VerificationEngine = getattr(module, class_name)()
    return engine


def engine() -> VerificationEngine:
    """Return the configured engine, created once per process (the local one loads dlib models)."""
    return _engine(engine_name())


def create_liveness_session(*, verification_session_id: str, hire_id: str) -> str:
    """Create a Rekognition Face Liveness session; only the Rekognition engine has liveness."""
    configured: Any = engine()
    if not hasattr(configured, "create_liveness_session"):
        raise NotFoundError(
            f"the {configured.name} engine has no liveness check; upload a selfie instead",
            field="liveness",
        )
    session_id: str = configured.create_liveness_session(
        verification_session_id=verification_session_id, hire_id=hire_id
    )
    return session_id


def settings() -> policy.PolicySettings:
    """Return the policy settings of the current stage."""
    return policy.PolicySettings.for_stage(current_stage().value)


def fingerprint_key() -> bytes:
    """Return the secret key of image and document-number fingerprints (HASH_KEY_SECRET_ARN)."""
    secret = parameters.get_secret(require_env("HASH_KEY_SECRET_ARN"), max_age=_FINGERPRINT_KEY_CACHE_SECONDS)
    key = str(secret).encode("utf-8")
    if len(key) < _MIN_FINGERPRINT_KEY_BYTES:
        raise ConfigurationError(
            f"the secret in HASH_KEY_SECRET_ARN must be at least {_MIN_FINGERPRINT_KEY_BYTES} bytes"
        )
    return key


def measure(
    images: Mapping[EvidenceKind, bytes],
    hire: Hire | HireFacts,
    *,
    attempts_left_after: int,
    verification_session_id: str,
    liveness_session_id: str | None = None,
    today: dt.date | None = None,
) -> tuple[EngineResult, HireFacts]:
    """Measure one attempt with the configured engine; return the measurements and the HR facts.

    `attempts_left_after` is how many submits remain if this one needs a retake. With a
    `liveness_session_id` the engine takes the reference face from the liveness check;
    without one, from the selfie, and liveness counts as not checked.
    Raises RetakeRequiredError when an image cannot be evaluated.
    """
    evidence = Evidence(
        id_front=images[EvidenceKind.ID_FRONT],
        id_back=images.get(EvidenceKind.ID_BACK),
        selfie=images.get(EvidenceKind.SELFIE),
        liveness_session_id=liveness_session_id,
        verification_session_id=verification_session_id,
        fingerprint_key=fingerprint_key(),
        attempts_left=max(0, attempts_left_after),
    )
    facts = (
        hire
        if isinstance(hire, HireFacts)
        else HireFacts.from_hire(hire, today or dt.datetime.now(dt.UTC).date())
    )
    return engine().evaluate(evidence, facts), facts


def evaluate(
    images: Mapping[EvidenceKind, bytes],
    hire: Hire,
    *,
    attempts_left_after: int,
    verification_session_id: str,
    liveness_session_id: str | None = None,
    today: dt.date | None = None,
) -> policy.VerificationDecision:
    """Measure one attempt (see `measure`) and decide it with the stage's policy."""
    result, facts = measure(
        images,
        hire,
        attempts_left_after=attempts_left_after,
        verification_session_id=verification_session_id,
        liveness_session_id=liveness_session_id,
        today=today,
    )
    return policy.decide(result, facts, settings())
