"""The verification decision policy: a pure function from engine measurements to a decision.

PASSED needs every check to pass. FAILED needs clear evidence against the hire: a face well
beyond the match threshold, a failed liveness check, a barcode that contradicts the printed
card, a date of birth or a name that clearly differs from the HR record. Anything uncertain
(borderline scores, unreadable or low-confidence fields, an expired document, a name in
another script) goes to a person as NEEDS_REVIEW. The defaults are justified in
docs/calibration.md.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hireproof.models import Decision
from hireproof.verification.engine import (
    ConsistencyStatus,
    DateField,
    EngineResult,
    FaceMetric,
    FieldSource,
    HireFacts,
    LivenessStatus,
)
from hireproof.verification.names import NameOutcome, compare_names
from hireproof.verification.reasons import DecisionReason, low_confidence

# Stages where a demo without a liveness provider may pass; production never may.
UNCHECKED_LIVENESS_STAGES = frozenset({"local", "dev"})

# Calibrated on the bundled photographs with face_recognition 1.3.0 (dlib ResNet, HOG
# detector); the measurements are in docs/calibration.md.
LOCAL_FACE_DISTANCE_THRESHOLD = 0.50


class PolicySettings(BaseModel):
    """Thresholds of the decision policy. docs/calibration.md explains each default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field(default="prod", min_length=1)
    allow_unchecked_liveness: bool = Field(
        default=False,
        description="Let a result without a liveness check pass; only in the local and dev stages.",
    )
    face_distance_pass_max: float = Field(
        default=LOCAL_FACE_DISTANCE_THRESHOLD,
        gt=0,
        description="Encoding distance at or below which two faces match.",
    )
    face_distance_fail_min: float = Field(
        default=0.60,
        gt=0,
        description="Encoding distance at or above which two faces clearly differ.",
    )
    face_similarity_pass_min: float = Field(
        default=90.0,
        ge=0,
        le=100,
        description="Rekognition similarity at or above which two faces match.",
    )
    face_similarity_fail_max: float = Field(
        default=70.0,
        ge=0,
        le=100,
        description="Rekognition similarity at or below which two faces clearly differ.",
    )
    liveness_confidence_min: float = Field(
        default=90.0,
        ge=0,
        le=100,
        description="A passed liveness check with less confidence goes to review.",
    )
    field_confidence_min: float = Field(
        default=90.0,
        ge=0,
        le=100,
        description="Document fields read with less confidence go to review instead of deciding.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.allow_unchecked_liveness and self.stage not in UNCHECKED_LIVENESS_STAGES:
            raise ValueError(f"allow_unchecked_liveness is not allowed in stage {self.stage!r}")
        if self.face_distance_fail_min < self.face_distance_pass_max:
            raise ValueError("face_distance_fail_min must not be below face_distance_pass_max")
        if self.face_similarity_fail_max > self.face_similarity_pass_min:
            raise ValueError("face_similarity_fail_max must not exceed face_similarity_pass_min")
        return self

    @classmethod
    def for_stage(cls, stage: str) -> PolicySettings:
        """Return the defaults for a stage; only local and dev accept an unchecked liveness."""
        return cls(stage=stage, allow_unchecked_liveness=stage in UNCHECKED_LIVENESS_STAGES)


class VerificationDecision(BaseModel):
    """The decision, why it is not a plain PASSED, and the scores behind it; no personal data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    reasons: tuple[str, ...] = Field(description="Why the decision is FAILED or NEEDS_REVIEW.")
    unchecked: tuple[str, ...] = Field(
        default=(), description="Checks this engine could not run and the stage allowed to skip."
    )
    scores: dict[str, float] = Field(default_factory=dict)
    engine: str


class _Findings:
    """Collects failure and review reasons in the order the checks ran."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.reviews: list[str] = []
        self.unchecked: list[str] = []
        self.scores: dict[str, float] = {}

    def fail(self, reason: str) -> None:
        if str(reason) not in self.failures:
            self.failures.append(str(reason))

    def review(self, reason: str) -> None:
        if str(reason) not in self.reviews:
            self.reviews.append(str(reason))


def _check_liveness(result: EngineResult, settings: PolicySettings, found: _Findings) -> None:
    liveness = result.liveness
    if liveness.confidence is not None:
        found.scores["liveness_confidence"] = liveness.confidence
    if liveness.status is LivenessStatus.FAILED:
        found.fail(DecisionReason.LIVENESS_FAILED)
    elif liveness.status is LivenessStatus.NOT_CHECKED:
        if settings.allow_unchecked_liveness:
            found.unchecked.append(DecisionReason.LIVENESS_NOT_CHECKED.value)
        else:
            found.review(DecisionReason.LIVENESS_NOT_CHECKED)
    elif liveness.confidence is None or liveness.confidence < settings.liveness_confidence_min:
        found.review(low_confidence("liveness"))


def _check_face(result: EngineResult, settings: PolicySettings, found: _Findings) -> None:
    match = result.face_match
    if match.reference_faces != 1 or match.document_faces != 1:
        found.review(DecisionReason.FACE_COUNT_UNEXPECTED)
        return
    if match.metric is FaceMetric.EUCLIDEAN_DISTANCE:
        pass_bound, fail_bound = settings.face_distance_pass_max, settings.face_distance_fail_min
        found.scores.update(
            face_distance=_score(match.score),
            face_distance_pass_max=pass_bound,
            face_distance_fail_min=fail_bound,
        )
        if match.score is None:
            found.review(DecisionReason.FACE_MATCH_BORDERLINE)
        elif match.score >= fail_bound:
            found.fail(DecisionReason.FACE_MISMATCH)
        elif match.score > pass_bound:
            found.review(DecisionReason.FACE_MATCH_BORDERLINE)
        return
    pass_bound, fail_bound = settings.face_similarity_pass_min, settings.face_similarity_fail_max
    found.scores.update(
        face_similarity=_score(match.score),
        face_similarity_pass_min=pass_bound,
        face_similarity_fail_max=fail_bound,
    )
    if match.score is None:
        # No similarity means "below the threshold the engine applied"; that is a clear
        # mismatch only when the engine's threshold is itself at or below the fail bound.
        if match.threshold <= fail_bound:
            found.fail(DecisionReason.FACE_MISMATCH)
        else:
            found.review(DecisionReason.FACE_MATCH_BORDERLINE)
    elif match.score <= fail_bound:
        found.fail(DecisionReason.FACE_MISMATCH)
    elif match.score < pass_bound:
        found.review(DecisionReason.FACE_MATCH_BORDERLINE)


def _score(value: float | None) -> float:
    return -1.0 if value is None else value


def _confident(name: str, confidence: float, settings: PolicySettings, found: _Findings) -> bool:
    found.scores[f"confidence_{name}"] = confidence
    if confidence < settings.field_confidence_min:
        found.review(low_confidence(name))
        return False
    return True


def _check_document(
    result: EngineResult, hire: HireFacts, settings: PolicySettings, found: _Findings
) -> None:
    doc = result.document
    if result.consistency.status is ConsistencyStatus.MISMATCH:
        found.fail(DecisionReason.BARCODE_MISMATCH)
    elif result.consistency.status is ConsistencyStatus.NOT_CHECKED:
        found.unchecked.append(DecisionReason.PRINTED_TEXT_NOT_CHECKED.value)
    if doc.source is FieldSource.NONE:
        found.review(DecisionReason.DOCUMENT_FIELDS_UNREADABLE)
        return
    _check_expiry(doc.expiry_date, hire, settings, found)
    _check_name(result, hire, settings, found)
    _check_dob(doc.date_of_birth, hire, settings, found)


def _check_expiry(
    expiry: DateField, hire: HireFacts, settings: PolicySettings, found: _Findings
) -> None:
    if expiry.value is None:
        found.review(DecisionReason.EXPIRY_UNREADABLE)
        return
    confident = _confident("expiry_date", expiry.confidence, settings, found)
    if expiry.value < hire.verification_date and confident:
        found.review(DecisionReason.DOCUMENT_EXPIRED)


def _check_name(
    result: EngineResult, hire: HireFacts, settings: PolicySettings, found: _Findings
) -> None:
    doc = result.document
    comparison = compare_names(
        record_given=hire.given_name,
        record_family=hire.family_name,
        record_middle=hire.middle_name,
        document_given=doc.given_name.value,
        document_family=doc.family_name.value,
        document_middle=doc.middle_name.value,
    )
    found.scores["name_token_overlap"] = comparison.token_overlap
    if comparison.outcome is NameOutcome.UNREADABLE:
        found.review(DecisionReason.NAME_UNREADABLE)
        return
    confident = all(
        [
            _confident("given_name", doc.given_name.confidence, settings, found),
            _confident("family_name", doc.family_name.confidence, settings, found),
        ]
    )
    if comparison.outcome is NameOutcome.SCRIPT_DIFFERS:
        found.review(DecisionReason.NAME_SCRIPT_DIFFERS)
    elif comparison.outcome is NameOutcome.PARTIAL:
        found.review(DecisionReason.NAME_PARTIAL_MATCH)
    elif comparison.outcome is NameOutcome.MISMATCH:
        # A misread name is not evidence against the hire; only a confident read fails.
        if confident:
            found.fail(DecisionReason.NAME_MISMATCH)
        else:
            found.review(DecisionReason.NAME_MISMATCH)


def _check_dob(dob: DateField, hire: HireFacts, settings: PolicySettings, found: _Findings) -> None:
    if hire.date_of_birth is None:
        return
    if dob.value is None:
        found.review(DecisionReason.DOB_UNREADABLE)
        return
    confident = _confident("date_of_birth", dob.confidence, settings, found)
    if dob.value != hire.date_of_birth:
        if confident:
            found.fail(DecisionReason.DOB_MISMATCH)
        else:
            found.review(DecisionReason.DOB_MISMATCH)


def decide(result: EngineResult, hire: HireFacts, settings: PolicySettings) -> VerificationDecision:
    """Decide one verification attempt from the engine's measurements and the HR record.

    FAILED when any check finds clear evidence against the hire, else NEEDS_REVIEW when any
    check is uncertain, else PASSED. `reasons` lists the failure reasons first, then the
    review reasons, each once, in the order the checks ran.
    """
    found = _Findings()
    _check_liveness(result, settings, found)
    _check_face(result, settings, found)
    _check_document(result, hire, settings, found)
    if found.failures:
        decision = Decision.FAILED
    elif found.reviews:
        decision = Decision.NEEDS_REVIEW
    else:
        decision = Decision.PASSED
    return VerificationDecision(
        decision=decision,
        reasons=tuple(found.failures + found.reviews),
        unchecked=tuple(found.unchecked),
        scores=found.scores,
        engine=result.engine,
    )
