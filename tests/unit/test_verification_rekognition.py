"""The Rekognition engine against botocore Stubber responses shaped as AWS documents them."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from hireproof.errors import RetakeRequiredError, TransientError, VerificationEngineError
from hireproof.local import assets
from hireproof.models import Decision
from hireproof.verification.engine import (
    ConsistencyStatus,
    Evidence,
    FaceMetric,
    FieldSource,
    HireFacts,
    LivenessStatus,
)
from hireproof.verification.policy import PolicySettings, decide
from hireproof.verification.reasons import RetakeReason
from hireproof.verification.rekognition_engine import RekognitionEngine, liveness_request_token

SESSION_ID = "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e"
VERIFICATION_ID = "vs-123"
BUCKET = "hireproof-liveness"
TODAY = dt.date(2026, 12, 4)
CARD = assets.genuine_card(TODAY)
HIRE = HireFacts(
    given_name="Renée",
    middle_name="Claire",
    family_name="Dubois",
    date_of_birth=CARD.date_of_birth,
    verification_date=TODAY,
)
SELFIE = assets.genuine_selfie()
FRONT = assets.id_card_front(CARD)
BACK = assets.id_card_back(CARD)
BOX = {"Width": 0.4, "Height": 0.5, "Left": 0.3, "Top": 0.2}
KEY = b"fingerprint-key-for-tests"


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Stubs:
    """Rekognition, Textract and S3 clients with active Stubbers."""

    def __init__(self) -> None:
        self.rekognition, self.textract, self.s3 = (
            client("rekognition"),
            client("textract"),
            client("s3"),
        )
        self.rek = Stubber(self.rekognition)
        self.tex = Stubber(self.textract)
        self.s3_stub = Stubber(self.s3)

    def engine(self, **options: Any) -> RekognitionEngine:
        # One worker runs the calls in submission order, which the Stubber queues need.
        options.setdefault("max_workers", 1)
        return RekognitionEngine(
            rekognition=self.rekognition, textract=self.textract, s3=self.s3, **options
        )

    def liveness(
        self, *, status: str = "SUCCEEDED", confidence: float = 98.5, **reference: Any
    ) -> None:
        response: dict[str, Any] = {
            "SessionId": SESSION_ID,
            "Status": status,
            "Confidence": confidence,
        }
        if status == "SUCCEEDED":
            response["ReferenceImage"] = {"Bytes": SELFIE, "BoundingBox": BOX, **reference}
            response["AuditImages"] = [{"Bytes": SELFIE, "BoundingBox": BOX}]
        self.rek.add_response(
            "get_face_liveness_session_results", response, {"SessionId": SESSION_ID}
        )

    def faces(self, count: int = 1, image: Any = ANY, confidence: float = 99.9) -> None:
        details = [{"BoundingBox": BOX, "Confidence": confidence} for _ in range(count)]
        self.rek.add_response("detect_faces", {"FaceDetails": details}, {"Image": {"Bytes": image}})

    def compare(self, similarity: float | None, source: Any = SELFIE) -> None:
        face = {"BoundingBox": BOX, "Confidence": 99.9}
        response: dict[str, Any] = {
            "SourceImageFace": face,
            "FaceMatches": [],
            "UnmatchedFaces": [],
        }
        if similarity is None:
            response["UnmatchedFaces"] = [face]
        else:
            response["FaceMatches"] = [{"Similarity": similarity, "Face": face}]
        self.rek.add_response(
            "compare_faces",
            response,
            {
                "SourceImage": {"Bytes": source},
                "TargetImage": {"Bytes": ANY},
                "SimilarityThreshold": 50.0,
                "QualityFilter": "AUTO",
            },
        )

    def analyze_id(self, **overrides: tuple[str, float]) -> None:
        values = {
            "FIRST_NAME": ("RENEE", 99.1),
            "MIDDLE_NAME": ("CLAIRE", 98.7),
            "LAST_NAME": ("DUBOIS", 99.4),
            "DATE_OF_BIRTH": ("05/14/1990", 98.9),
            "EXPIRATION_DATE": (CARD.expiry.strftime("%m/%d/%Y"), 98.2),
            "DOCUMENT_NUMBER": (CARD.document_number, 97.5),
            "ID_TYPE": ("DRIVER LICENSE FRONT", 99.0),
            **overrides,
        }
        fields = []
        for kind, (text, confidence) in values.items():
            detection: dict[str, Any] = {"Text": text, "Confidence": confidence}
            if kind in {"DATE_OF_BIRTH", "EXPIRATION_DATE"}:
                month, day, year = text.split("/")
                detection["NormalizedValue"] = {
                    "Value": f"{year}-{month}-{day}T00:00:00",
                    "ValueType": "Date",
                }
            fields.append({"Type": {"Text": kind}, "ValueDetection": detection})
        self.tex.add_response(
            "analyze_id",
            {
                "IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": fields}],
                "DocumentMetadata": {"Pages": 1},
                "AnalyzeIDModelVersion": "1.0",
            },
            {"DocumentPages": [{"Bytes": ANY}]},
        )

    def genuine(self, similarity: float | None = 99.2, **fields: tuple[str, float]) -> None:
        self.liveness()
        self.faces()  # ID front
        self.analyze_id(**fields)
        self.faces(image=SELFIE)  # liveness reference image
        self.compare(similarity)


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    stubs = Stubs()
    with stubs.rek, stubs.tex, stubs.s3_stub:
        yield stubs
    stubs.rek.assert_no_pending_responses()
    stubs.tex.assert_no_pending_responses()
    stubs.s3_stub.assert_no_pending_responses()


def evidence(back: bytes | None = BACK, attempts_left: int = 2) -> Evidence:
    return Evidence(
        id_front=FRONT,
        id_back=back,
        liveness_session_id=SESSION_ID,
        verification_session_id=VERIFICATION_ID,
        fingerprint_key=KEY,
        attempts_left=attempts_left,
    )


def test_genuine_attempt_passes_in_prod(stubs: Stubs) -> None:
    stubs.genuine()

    result = stubs.engine().evaluate(evidence(), HIRE)

    assert result.liveness.status is LivenessStatus.PASSED
    assert result.liveness.confidence == 98.5
    assert result.face_match.metric is FaceMetric.SIMILARITY
    assert result.face_match.score == 99.2
    assert result.face_match.threshold == 50.0
    assert result.document.source is FieldSource.PRINTED_TEXT
    assert result.document.date_of_birth.value == dt.date(1990, 5, 14)
    assert result.document.expiry_date.value == CARD.expiry
    assert result.consistency.status is ConsistencyStatus.CONSISTENT
    assert result.image_fingerprints.selfie is not None
    decision = decide(result, HIRE, PolicySettings())
    assert decision.decision is Decision.PASSED
    assert decision.reasons == ()
    assert decision.unchecked == ()


def test_impostor_below_the_similarity_threshold_fails(stubs: Stubs) -> None:
    stubs.genuine(similarity=None)

    result = stubs.engine().evaluate(evidence(), HIRE)

    assert result.face_match.score is None
    assert decide(result, HIRE, PolicySettings()).reasons == ("face_mismatch",)


def test_low_liveness_confidence_is_a_spoof(stubs: Stubs) -> None:
    stubs.rek.add_response(
        "get_face_liveness_session_results",
        {
            "SessionId": SESSION_ID,
            "Status": "SUCCEEDED",
            "Confidence": 31.0,
            "ReferenceImage": {"Bytes": SELFIE, "BoundingBox": BOX},
        },
        {"SessionId": SESSION_ID},
    )
    stubs.faces()
    stubs.analyze_id()
    stubs.faces(image=SELFIE)
    stubs.compare(99.0)

    result = stubs.engine().evaluate(evidence(), HIRE)

    assert result.liveness.status is LivenessStatus.FAILED
    decision = decide(result, HIRE, PolicySettings())
    assert decision.decision is Decision.FAILED
    assert decision.reasons == ("liveness_failed",)


def test_reference_from_other_session_fails(stubs: Stubs) -> None:
    stubs.liveness(S3Object={"Bucket": BUCKET, "Name": "liveness/vs-other/reference.jpg"})
    stubs.faces()
    stubs.analyze_id()
    stubs.faces(image=SELFIE)
    stubs.compare(99.0)

    result = stubs.engine(output_bucket=BUCKET).evaluate(evidence(), HIRE)

    assert result.liveness.status is LivenessStatus.FAILED


def test_reference_image_fetched_from_s3(stubs: Stubs) -> None:
    name = f"liveness/{VERIFICATION_ID}/reference.jpg"
    stubs.rek.add_response(
        "get_face_liveness_session_results",
        {
            "SessionId": SESSION_ID,
            "Status": "SUCCEEDED",
            "Confidence": 97.0,
            "ReferenceImage": {"S3Object": {"Bucket": BUCKET, "Name": name}, "BoundingBox": BOX},
        },
        {"SessionId": SESSION_ID},
    )
    stubs.s3_stub.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(SELFIE), len(SELFIE))},
        {"Bucket": BUCKET, "Key": name},
    )
    stubs.faces()
    stubs.analyze_id()
    stubs.faces(image=SELFIE)
    stubs.compare(98.0)

    result = stubs.engine(output_bucket=BUCKET).evaluate(evidence(), HIRE)

    assert result.liveness.status is LivenessStatus.PASSED
    assert result.face_match.score == 98.0


@pytest.mark.parametrize("status", ["EXPIRED", "FAILED", "IN_PROGRESS", "CREATED"])
def test_unfinished_liveness_session_needs_a_retake(stubs: Stubs, status: str) -> None:
    stubs.liveness(status=status)
    stubs.faces()
    stubs.analyze_id()

    with pytest.raises(RetakeRequiredError) as caught:
        stubs.engine().evaluate(evidence(attempts_left=1), HIRE)

    assert caught.value.reason == RetakeReason.LIVENESS_INCOMPLETE
    assert caught.value.attempts_left == 1


@pytest.mark.parametrize(
    ("reference_faces", "front_faces", "reason"),
    [
        (2, 1, RetakeReason.MULTIPLE_FACES_IN_SELFIE),
        (0, 1, RetakeReason.NO_FACE_IN_SELFIE),
        (1, 2, RetakeReason.MULTIPLE_FACES_ON_DOCUMENT),
    ],
)
def test_face_counts_other_than_one_need_a_retake(
    stubs: Stubs, reference_faces: int, front_faces: int, reason: RetakeReason
) -> None:
    stubs.liveness()
    stubs.faces(front_faces)
    stubs.analyze_id()
    stubs.faces(reference_faces, image=SELFIE)
    stubs.compare(99.0)

    with pytest.raises(RetakeRequiredError) as caught:
        stubs.engine().evaluate(evidence(), HIRE)

    assert caught.value.reason == reason


def test_low_confidence_faces_are_not_usable(stubs: Stubs) -> None:
    stubs.liveness()
    stubs.faces(1, confidence=60.0)
    stubs.analyze_id()
    stubs.faces(image=SELFIE)
    stubs.compare(99.0)

    with pytest.raises(RetakeRequiredError) as caught:
        stubs.engine().evaluate(evidence(), HIRE)

    assert caught.value.reason == RetakeReason.NO_FACE_ON_DOCUMENT


def test_printed_date_of_birth_contradicting_the_barcode_fails(stubs: Stubs) -> None:
    stubs.genuine(DATE_OF_BIRTH=("05/14/1985", 99.0))

    result = stubs.engine().evaluate(evidence(), HIRE)

    assert result.consistency.status is ConsistencyStatus.MISMATCH
    assert result.consistency.mismatched_fields == ("date_of_birth",)
    decision = decide(result, HIRE, PolicySettings())
    assert decision.decision is Decision.FAILED
    assert decision.reasons == ("barcode_mismatch", "dob_mismatch")


def test_low_confidence_field_uses_barcode(stubs: Stubs) -> None:
    stubs.genuine(LAST_NAME=("DU8OIS", 31.0))

    result = stubs.engine().evaluate(evidence(), HIRE)

    assert result.document.family_name.value == "DUBOIS"
    assert result.document.family_name.confidence == 100.0
    assert result.consistency.status is ConsistencyStatus.CONSISTENT


def test_missing_back_skips_cross_check(stubs: Stubs) -> None:
    stubs.genuine()

    result = stubs.engine().evaluate(evidence(back=None), HIRE)

    assert result.consistency.status is ConsistencyStatus.NOT_CHECKED
    assert decide(result, HIRE, PolicySettings()).unchecked == ("printed_text_not_checked",)


def test_throttling_is_transient(stubs: Stubs) -> None:
    stubs.rek.add_client_error(
        "get_face_liveness_session_results", service_error_code="ThrottlingException"
    )
    stubs.faces()
    stubs.analyze_id()

    with pytest.raises(TransientError):
        stubs.engine().evaluate(evidence(), HIRE)


def test_selfie_without_liveness_session_is_unchecked(stubs: Stubs) -> None:
    stubs.faces()  # ID front
    stubs.analyze_id()
    stubs.faces()  # the selfie, re-encoded
    stubs.compare(99.0, source=ANY)
    selfie_only = evidence().model_copy(update={"liveness_session_id": None, "selfie": SELFIE})

    result = stubs.engine().evaluate(selfie_only, HIRE)

    assert result.liveness.status is LivenessStatus.NOT_CHECKED
    assert result.face_match.score == 99.0
    assert decide(result, HIRE, PolicySettings()).reasons == ("liveness_not_checked",)


def test_default_clients_use_the_configured_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without credentials in the environment, boto3 would ask the instance metadata service.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    engine = RekognitionEngine()

    assert engine.rekognition.meta.region_name == "eu-west-1"
    assert engine.textract.meta.service_model.service_name == "textract"


def test_access_denied_is_an_engine_error(stubs: Stubs) -> None:
    stubs.liveness()
    stubs.faces()
    stubs.tex.add_client_error("analyze_id", service_error_code="AccessDeniedException")
    stubs.faces(image=SELFIE)
    stubs.compare(99.0)

    with pytest.raises(VerificationEngineError, match="AccessDeniedException"):
        stubs.engine().evaluate(evidence(), HIRE)


def test_create_liveness_session_binds_the_verification_and_hire(stubs: Stubs) -> None:
    token = liveness_request_token(VERIFICATION_ID, "hire-1")
    stubs.rek.add_response(
        "create_face_liveness_session",
        {"SessionId": SESSION_ID},
        {
            "ClientRequestToken": token,
            "KmsKeyId": "alias/hireproof",
            "Settings": {
                "AuditImagesLimit": 2,
                "OutputConfig": {"S3Bucket": BUCKET, "S3KeyPrefix": f"liveness/{VERIFICATION_ID}/"},
            },
        },
    )
    engine = stubs.engine(output_bucket=BUCKET, kms_key_id="alias/hireproof")

    session_id = engine.create_liveness_session(
        verification_session_id=VERIFICATION_ID, hire_id="hire-1"
    )

    assert session_id == SESSION_ID
    assert token == liveness_request_token(VERIFICATION_ID, "hire-1")
    assert token != liveness_request_token(VERIFICATION_ID, "hire-2")
    assert token != liveness_request_token("vs-other", "hire-1")


class SlowClient:
    """Fake client: returns each response after a fixed delay and counts overlapping calls."""

    def __init__(self, responses: dict[str, Any], delay: float, tracker: dict[str, int]) -> None:
        self._responses, self._delay, self._tracker = responses, delay, tracker
        self._lock = threading.Lock()

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            with self._lock:
                self._tracker["running"] += 1
                self._tracker["peak"] = max(self._tracker["peak"], self._tracker["running"])
            time.sleep(self._delay)
            with self._lock:
                self._tracker["running"] -= 1
            return self._responses[operation]

        return call


def test_independent_calls_run_concurrently() -> None:
    tracker = {"running": 0, "peak": 0}
    face = {"BoundingBox": BOX, "Confidence": 99.9}
    rekognition = SlowClient(
        {
            "get_face_liveness_session_results": {
                "Status": "SUCCEEDED",
                "Confidence": 99.0,
                "ReferenceImage": {"Bytes": SELFIE},
            },
            "detect_faces": {"FaceDetails": [face]},
            "compare_faces": {"FaceMatches": [{"Similarity": 99.0, "Face": face}]},
        },
        0.2,
        tracker,
    )
    textract = SlowClient({"analyze_id": {"IdentityDocuments": []}}, 0.2, tracker)
    s3 = SlowClient({}, 0.0, tracker)
    engine = RekognitionEngine(rekognition=rekognition, textract=textract, s3=s3)

    result = engine.evaluate(evidence(back=None), HIRE)

    assert result.face_match.score == 99.0
    # Liveness results, DetectFaces on the ID and AnalyzeID start together; then DetectFaces
    # on the reference image and CompareFaces.
    assert tracker["peak"] >= 3
