"""The verification decision policy: one table row per rule, asserting decision and reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from hireproof.models import Decision
from hireproof.verification.engine import (
    Consistency,
    ConsistencyStatus,
    DateField,
    DocumentFields,
    DocumentType,
    EngineResult,
    FaceMatch,
    FaceMetric,
    FieldSource,
    HireFacts,
    ImageFingerprints,
    LivenessResult,
    LivenessStatus,
    TextField,
)
from hireproof.verification.policy import PolicySettings, decide

TODAY = dt.date(2026, 12, 4)
DOB = dt.date(1990, 5, 14)
PROD = PolicySettings()
LOCAL = PolicySettings.for_stage("local")

HIRE = HireFacts(
    given_name="Renée",
    middle_name="Claire",
    family_name="Dubois",
    date_of_birth=DOB,
    verification_date=TODAY,
)
HIRE_WITHOUT_DOB = HIRE.model_copy(update={"date_of_birth": None})
HIRE_NO_MIDDLE = HIRE.model_copy(update={"middle_name": None})


def text(value: str | None, confidence: float = 99.0) -> TextField:
    return TextField(value=value, confidence=confidence if value else 0.0)


def date(value: dt.date | None, confidence: float = 99.0) -> DateField:
    return DateField(value=value, confidence=confidence if value else 0.0)


def result(
    *,
    liveness: LivenessStatus = LivenessStatus.PASSED,
    liveness_confidence: float | None = 99.0,
    metric: FaceMetric = FaceMetric.SIMILARITY,
    score: float | None = 99.0,
    threshold: float = 50.0,
    faces: tuple[int, int] = (1, 1),
    given: TextField | None = None,
    family: TextField | None = None,
    middle: TextField | None = None,
    dob: DateField | None = None,
    expiry: DateField | None = None,
    source: FieldSource = FieldSource.PRINTED_TEXT,
    consistency: ConsistencyStatus = ConsistencyStatus.CONSISTENT,
) -> EngineResult:
    """A result that passes every check unless a keyword changes one thing."""
    document = (
        DocumentFields()
        if source is FieldSource.NONE
        else DocumentFields(
            source=source,
            given_name=given or text("RENEE"),
            family_name=family or text("DUBOIS"),
            middle_name=middle or text("CLAIRE"),
            date_of_birth=dob or date(DOB),
            expiry_date=expiry or date(dt.date(2030, 5, 14)),
            document_number=text("D4820017"),
            issuing_country=text("US"),
            issuing_subdivision=text("ZZ"),
            document_type=DocumentType.DRIVER_LICENSE,
        )
    )
    return EngineResult(
        engine="test",
        liveness=LivenessResult(status=liveness, confidence=liveness_confidence),
        face_match=FaceMatch(
            metric=metric,
            score=score,
            threshold=threshold,
            reference_faces=faces[0],
            document_faces=faces[1],
        ),
        document=document,
        consistency=Consistency(status=consistency),
        image_fingerprints=ImageFingerprints(id_front="f" * 64),
    )


def local(score: float, **kwargs: Any) -> EngineResult:
    """A local-engine result: euclidean distance, no liveness check, fields from the barcode."""
    return result(
        liveness=LivenessStatus.NOT_CHECKED,
        liveness_confidence=None,
        metric=FaceMetric.EUCLIDEAN_DISTANCE,
        score=score,
        threshold=0.5,
        source=FieldSource.BARCODE,
        consistency=ConsistencyStatus.NOT_CHECKED,
        **kwargs,
    )


PASSED, FAILED, REVIEW = Decision.PASSED, Decision.FAILED, Decision.NEEDS_REVIEW

CASES = [
    # id, result, hire, settings, decision, reasons
    ("all_checks_pass", result(), HIRE, PROD, PASSED, ()),
    # liveness
    (
        "liveness_failed_is_spoof",
        result(liveness=LivenessStatus.FAILED, liveness_confidence=12.0),
        HIRE,
        PROD,
        FAILED,
        ("liveness_failed",),
    ),
    (
        "liveness_low_confidence",
        result(liveness_confidence=85.0),
        HIRE,
        PROD,
        REVIEW,
        ("low_confidence_liveness",),
    ),
    ("liveness_not_checked_in_prod", local(0.3), HIRE, PROD, REVIEW, ("liveness_not_checked",)),
    ("liveness_not_checked_allowed_locally", local(0.3), HIRE, LOCAL, PASSED, ()),
    # face, euclidean distance (local engine)
    ("distance_at_pass_bound", local(0.50), HIRE, LOCAL, PASSED, ()),
    ("distance_borderline", local(0.55), HIRE, LOCAL, REVIEW, ("face_match_borderline",)),
    ("distance_at_fail_bound", local(0.60), HIRE, LOCAL, FAILED, ("face_mismatch",)),
    ("distance_impostor_measured", local(0.82), HIRE, LOCAL, FAILED, ("face_mismatch",)),
    (
        "distance_missing",
        local(0.3).model_copy(
            update={
                "face_match": FaceMatch(
                    metric=FaceMetric.EUCLIDEAN_DISTANCE,
                    score=None,
                    threshold=0.5,
                    reference_faces=1,
                    document_faces=1,
                )
            }
        ),
        HIRE,
        LOCAL,
        REVIEW,
        ("face_match_borderline",),
    ),
    # face, similarity (Rekognition)
    ("similarity_at_pass_bound", result(score=90.0), HIRE, PROD, PASSED, ()),
    ("similarity_borderline", result(score=80.0), HIRE, PROD, REVIEW, ("face_match_borderline",)),
    ("similarity_clear_mismatch", result(score=40.0), HIRE, PROD, FAILED, ("face_mismatch",)),
    (
        "similarity_below_low_engine_floor",
        result(score=None, threshold=50.0),
        HIRE,
        PROD,
        FAILED,
        ("face_mismatch",),
    ),
    (
        "similarity_below_high_engine_floor",
        result(score=None, threshold=85.0),
        HIRE,
        PROD,
        REVIEW,
        ("face_match_borderline",),
    ),
    (
        "two_faces_reached_policy",
        result(faces=(2, 1)),
        HIRE,
        PROD,
        REVIEW,
        ("face_count_unexpected",),
    ),
    # document
    (
        "document_expired",
        result(expiry=date(TODAY - dt.timedelta(days=1))),
        HIRE,
        PROD,
        REVIEW,
        ("document_expired",),
    ),
    ("document_expires_today", result(expiry=date(TODAY)), HIRE, PROD, PASSED, ()),
    ("expiry_unreadable", result(expiry=date(None)), HIRE, PROD, REVIEW, ("expiry_unreadable",)),
    (
        "expiry_low_confidence",
        result(expiry=date(dt.date(2030, 1, 1), 60.0)),
        HIRE,
        PROD,
        REVIEW,
        ("low_confidence_expiry_date",),
    ),
    (
        "no_fields_read",
        result(source=FieldSource.NONE),
        HIRE,
        PROD,
        REVIEW,
        ("document_fields_unreadable",),
    ),
    (
        "barcode_contradicts_print",
        result(consistency=ConsistencyStatus.MISMATCH),
        HIRE,
        PROD,
        FAILED,
        ("barcode_mismatch",),
    ),
    # name
    ("name_case_and_accents", result(given=text("renee")), HIRE, PROD, PASSED, ()),
    (
        "name_order_swapped",
        result(given=text("DUBOIS"), family=text("RENEE")),
        HIRE,
        PROD,
        PASSED,
        (),
    ),
    ("middle_name_initial", result(middle=text("C")), HIRE, PROD, PASSED, ()),
    ("middle_name_missing_on_card", result(middle=text(None)), HIRE, PROD, PASSED, ()),
    ("middle_name_only_on_card", result(), HIRE_NO_MIDDLE, PROD, PASSED, ()),
    (
        "middle_name_inside_given_field",
        result(given=text("RENEE CLAIRE"), middle=text(None)),
        HIRE_NO_MIDDLE,
        PROD,
        PASSED,
        (),
    ),
    (
        "middle_name_differs",
        result(middle=text("MARIE")),
        HIRE,
        PROD,
        REVIEW,
        ("name_partial_match",),
    ),
    (
        "family_name_differs_only",
        result(family=text("MARTIN")),
        HIRE,
        PROD,
        REVIEW,
        ("name_partial_match",),
    ),
    ("given_name_typo", result(given=text("RENE")), HIRE, PROD, REVIEW, ("name_partial_match",)),
    (
        "name_clearly_different",
        result(given=text("JOHN"), family=text("SMITH"), middle=text(None)),
        HIRE,
        PROD,
        FAILED,
        ("name_mismatch",),
    ),
    (
        "name_different_but_misread",
        result(given=text("JOHN", 50.0), family=text("SMITH"), middle=text(None)),
        HIRE,
        PROD,
        REVIEW,
        ("low_confidence_given_name", "name_mismatch"),
    ),
    (
        "name_in_japanese_script",
        result(given=text("太郎"), family=text("山田"), middle=text(None)),
        HireFacts(given_name="Taro", family_name="Yamada", verification_date=TODAY),
        PROD,
        REVIEW,
        ("name_script_differs",),
    ),
    (
        "name_same_script_japanese",
        result(given=text("太郎"), family=text("山田"), middle=text(None)),
        HireFacts(given_name="太郎", family_name="山田", verification_date=TODAY),
        PROD,
        PASSED,
        (),
    ),
    (
        "name_hyphen_and_apostrophe",
        result(given=text("SEAN"), family=text("OBRIEN SMITH"), middle=text(None)),
        HireFacts(given_name="Seán", family_name="O'Brien-Smith", verification_date=TODAY),
        PROD,
        PASSED,
        (),
    ),
    (
        "name_unreadable",
        result(given=text(None), family=text(None), middle=text(None)),
        HIRE,
        PROD,
        REVIEW,
        ("name_unreadable",),
    ),
    # date of birth
    ("dob_mismatch", result(dob=date(dt.date(1991, 5, 14))), HIRE, PROD, FAILED, ("dob_mismatch",)),
    (
        "dob_mismatch_misread",
        result(dob=date(dt.date(1991, 5, 14), 70.0)),
        HIRE,
        PROD,
        REVIEW,
        ("low_confidence_date_of_birth", "dob_mismatch"),
    ),
    ("dob_unreadable", result(dob=date(None)), HIRE, PROD, REVIEW, ("dob_unreadable",)),
    (
        "dob_not_on_record",
        result(dob=date(dt.date(1970, 1, 1))),
        HIRE_WITHOUT_DOB,
        PROD,
        PASSED,
        (),
    ),
    # several findings: a failure outranks reviews, and every reason is listed
    (
        "impostor_with_expired_card",
        result(score=20.0, expiry=date(dt.date(2020, 1, 1))),
        HIRE,
        PROD,
        FAILED,
        ("face_mismatch", "document_expired"),
    ),
]


@pytest.mark.parametrize(
    ("engine_result", "hire", "settings", "expected", "reasons"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decide_table(
    engine_result: EngineResult,
    hire: HireFacts,
    settings: PolicySettings,
    expected: Decision,
    reasons: tuple[str, ...],
) -> None:
    decision = decide(engine_result, hire, settings)

    assert decision.decision is expected
    assert decision.reasons == reasons
    assert decision.engine == "test"


def test_decide_records_unchecked_liveness() -> None:
    decision = decide(local(0.3), HIRE, LOCAL)

    assert decision.decision is Decision.PASSED
    assert decision.unchecked == ("liveness_not_checked", "printed_text_not_checked")


def test_decide_reports_scores_behind_the_decision() -> None:
    decision = decide(local(0.55), HIRE, LOCAL)

    assert decision.scores["face_distance"] == pytest.approx(0.55)
    assert decision.scores["face_distance_pass_max"] == LOCAL.face_distance_pass_max
    assert decision.scores["face_distance_fail_min"] == LOCAL.face_distance_fail_min
    assert decision.scores["name_token_overlap"] == 1.0
    assert decision.scores["confidence_date_of_birth"] == 99.0


def test_decision_carries_no_personal_data() -> None:
    dumped = decide(result(family=text("MARTIN")), HIRE, PROD).model_dump_json()

    for personal in ("RENEE", "DUBOIS", "MARTIN", "1990", "D4820017"):
        assert personal not in dumped


def test_decide_is_pure() -> None:
    engine_result = result(score=80.0)
    before = engine_result.model_dump()

    first = decide(engine_result, HIRE, PROD)
    second = decide(engine_result, HIRE, PROD)

    assert first == second
    assert engine_result.model_dump() == before


def test_settings_refuse_unchecked_liveness_in_prod() -> None:
    with pytest.raises(ValidationError, match="allow_unchecked_liveness"):
        PolicySettings(stage="prod", allow_unchecked_liveness=True)


@pytest.mark.parametrize(("stage", "allowed"), [("local", True), ("dev", True), ("prod", False)])
def test_settings_for_stage(stage: str, allowed: bool) -> None:
    assert PolicySettings.for_stage(stage).allow_unchecked_liveness is allowed


def test_settings_refuse_inverted_face_bounds() -> None:
    with pytest.raises(ValidationError, match="face_distance_fail_min"):
        PolicySettings(face_distance_pass_max=0.6, face_distance_fail_min=0.5)
