"""hireproof.verification.reuse on template.yaml's onboarding table in moto, alone and through submit.

The submit tests replace the engine with `CardEngine`, which fingerprints the uploaded bytes
and a fixed document number with the deployment's real hash key, so "the same card" is the
same bytes or number, and every measurement otherwise passes the dev-stage policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from hireproof import audit
from hireproof.demo import scenarios
from hireproof.local import assets
from hireproof.models import Decision, VerificationPurpose, onboarding_id_for
from hireproof.sessions import evaluation, service, store
from hireproof.sessions.models import EvidenceKind
from hireproof.verification import reuse
from hireproof.verification.engine import (
    Consistency,
    ConsistencyStatus,
    DateField,
    DocumentFields,
    EngineResult,
    Evidence,
    FaceMatch,
    FaceMetric,
    FieldSource,
    HireFacts,
    ImageFingerprints,
    LivenessResult,
    LivenessStatus,
    TextField,
)
from hireproof.verification.images import fingerprint_document_number, fingerprint_pixels, load_upright
from hireproof.verification.policy import VerificationDecision
from sessions_support import CallRecorder, add_onboarding, make_hire, sessions_stack, token_from_email
from template_resources import StackResources, mocked_stack

DOC_A = "a" * 64
DOC_B = "b" * 64
SELFIE_A = "c" * 64
FRONT_A = "d" * 64
FRONT_B = "e" * 64


def engine_result(
    *,
    document: str | None = DOC_A,
    front: str = FRONT_A,
    back: str | None = None,
    selfie: str | None = SELFIE_A,
) -> EngineResult:
    return EngineResult(
        engine="test",
        liveness=LivenessResult(status=LivenessStatus.NOT_CHECKED),
        face_match=FaceMatch(
            metric=FaceMetric.EUCLIDEAN_DISTANCE,
            score=0.2,
            threshold=0.5,
            reference_faces=1,
            document_faces=1,
        ),
        document=DocumentFields(),
        image_fingerprints=ImageFingerprints(id_front=front, id_back=back, selfie=selfie),
        document_number_fingerprint=document,
    )


def passed() -> VerificationDecision:
    return VerificationDecision(
        decision=Decision.PASSED, reasons=(), scores={"face_distance": 0.2}, engine="test"
    )


def fingerprint_items(stack: StackResources) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(stack.name("OnboardingTable"))
    items: list[dict[str, Any]] = table.scan()["Items"]
    return [item for item in items if str(item["pk"]).startswith(reuse.PK_PREFIX)]


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


# ----------------------------------------------------------------- the module
def test_fingerprints_of_present_kinds() -> None:
    result = engine_result(back="f" * 64, selfie=None)

    kinds = [fingerprint.kind for fingerprint in reuse.fingerprints_of(result)]

    assert kinds == [
        reuse.FingerprintKind.DOCUMENT_NUMBER,
        reuse.FingerprintKind.ID_FRONT,
        reuse.FingerprintKind.ID_BACK,
    ]


def test_record_item_per_fingerprint(stack: StackResources) -> None:
    reuse.record(
        reuse.fingerprints_of(engine_result()), onboarding_id="generic-1", session_id="generic-1.onboarding"
    )

    items = sorted(fingerprint_items(stack), key=lambda item: item["pk"])
    assert [item["pk"] for item in items] == [
        f"FINGERPRINT#document_number#{DOC_A}",
        f"FINGERPRINT#id_front#{FRONT_A}",
        f"FINGERPRINT#selfie#{SELFIE_A}",
    ]
    assert {item["sk"] for item in items} == {"generic-1"}
    assert set(items[0]) == {"pk", "sk", "kind", "session_id", "first_seen_at", "expires_at"}
    assert items[0]["expires_at"] > dt.datetime.now(dt.UTC).timestamp() + 300 * 86_400


def test_record_again_keeps_the_first_sighting(stack: StackResources) -> None:
    fingerprints = reuse.fingerprints_of(engine_result(selfie=None))
    reuse.record(fingerprints, onboarding_id="generic-1", session_id="generic-1.onboarding")
    first = {item["pk"]: item["first_seen_at"] for item in fingerprint_items(stack)}

    reuse.record(fingerprints, onboarding_id="generic-1", session_id="generic-1.device_recipient")

    items = fingerprint_items(stack)
    assert {item["pk"]: item["first_seen_at"] for item in items} == first
    assert {item["session_id"] for item in items} == {"generic-1.onboarding"}


def test_same_onboarding_retry_is_not_reuse(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s1")

    again = reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s2")

    assert again.decision is Decision.PASSED
    assert again.reasons == ()


def test_other_onboardings_document_fails(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s1")

    second = reuse.record_and_check(
        engine_result(front=FRONT_B, selfie="9" * 64), passed(), onboarding_id="generic-2", session_id="s2"
    )

    assert second.decision is Decision.FAILED
    assert second.reasons == ("document_reused",)
    assert second.scores == {"face_distance": 0.2}


def test_other_onboardings_selfie_fails(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s1")

    second = reuse.record_and_check(
        engine_result(document=DOC_B, front=FRONT_B), passed(), onboarding_id="generic-2", session_id="s2"
    )

    assert second.decision is Decision.FAILED
    assert second.reasons == ("image_reused",)


def test_reuse_reasons_come_first(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s1")
    review = VerificationDecision(
        decision=Decision.NEEDS_REVIEW, reasons=("document_expired",), scores={}, engine="test"
    )

    second = reuse.record_and_check(engine_result(), review, onboarding_id="generic-2", session_id="s2")

    assert second.decision is Decision.FAILED
    assert second.reasons == ("document_reused", "image_reused", "document_expired")


def test_earlier_holder_not_failed(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-1", session_id="s1")
    later = reuse.record_and_check(engine_result(), passed(), onboarding_id="generic-2", session_id="s2")

    first_again = reuse.record_and_check(
        engine_result(), passed(), onboarding_id="generic-1", session_id="s3"
    )

    assert later.decision is Decision.FAILED
    assert first_again.decision is Decision.PASSED


def test_simultaneous_sightings_fail_both(stack: StackResources) -> None:
    fingerprint = reuse.Fingerprint(kind=reuse.FingerprintKind.DOCUMENT_NUMBER, value=DOC_A)
    table = boto3.resource("dynamodb").Table(stack.name("OnboardingTable"))
    for onboarding_id in ("generic-1", "generic-2"):
        table.put_item(
            Item={"pk": fingerprint.pk, "sk": onboarding_id, "first_seen_at": "2027-01-04T09:00:00.000+00:00"}
        )

    first = reuse.find_reuse([fingerprint], onboarding_id="generic-1")
    second = reuse.find_reuse([fingerprint], onboarding_id="generic-2")

    assert [r.other_onboarding_ids for r in first] == [("generic-2",)]
    assert [r.other_onboarding_ids for r in second] == [("generic-1",)]


def test_reuse_audited_on_both_onboardings(stack: StackResources) -> None:
    reuse.record_and_check(engine_result(selfie=None), passed(), onboarding_id="generic-1", session_id="s1")

    reuse.record_and_check(
        engine_result(front=FRONT_B, selfie=None), passed(), onboarding_id="generic-2", session_id="s2"
    )

    later = [r for r in audit.records_for("generic-2") if r["action"] == "fingerprint_reused"]
    earlier = [r for r in audit.records_for("generic-1") if r["action"] == "fingerprint_reused_later"]
    assert [(r["outcome"], r["details"]["other_onboarding_id"]) for r in later] == [
        ("document_reused", "generic-1")
    ]
    assert [(r["outcome"], r["details"]["other_onboarding_id"]) for r in earlier] == [
        ("document_reused", "generic-2")
    ]
    assert DOC_A not in json.dumps(later + earlier, default=str)


# ----------------------------------------------------------------- through submit
class CardEngine:
    """Fingerprints the uploaded bytes and one document number; every other measurement passes."""

    name = "card"

    def __init__(self, document_number: str = "D4820017") -> None:
        self.document_number = document_number

    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        key = evidence.fingerprint_key

        def mark(data: bytes | None) -> str | None:
            return hmac.new(key, data, hashlib.sha256).hexdigest() if data is not None else None

        high = 99.0
        return EngineResult(
            engine=self.name,
            liveness=LivenessResult(status=LivenessStatus.NOT_CHECKED),
            face_match=FaceMatch(
                metric=FaceMetric.EUCLIDEAN_DISTANCE,
                score=0.2,
                threshold=0.5,
                reference_faces=1,
                document_faces=1,
            ),
            document=DocumentFields(
                source=FieldSource.BARCODE,
                given_name=TextField(value=hire.given_name, confidence=high),
                family_name=TextField(value=hire.family_name, confidence=high),
                middle_name=TextField(value=hire.middle_name, confidence=high),
                date_of_birth=DateField(value=hire.date_of_birth, confidence=high),
                expiry_date=DateField(value=hire.verification_date + dt.timedelta(days=900), confidence=high),
                document_number=TextField(value=self.document_number, confidence=high),
            ),
            consistency=Consistency(status=ConsistencyStatus.CONSISTENT),
            image_fingerprints=ImageFingerprints(
                id_front=mark(evidence.id_front) or "",
                id_back=mark(evidence.id_back),
                selfie=mark(evidence.selfie),
            ),
            document_number_fingerprint=fingerprint_document_number(
                key, issuer="ZZ", number=self.document_number
            ),
        )


class Submitter:
    """Invites hires and submits images for them straight through the session service."""

    def __init__(self, stack: StackResources) -> None:
        self.stack = stack
        self.recorder = CallRecorder()
        self.sent = self.recorder.watch("stepfunctions", "sfn", "SendTaskSuccess")
        self.mails = self.recorder.watch("sesv2", "sesv2", "SendEmail")

    def submit(
        self, employee_id: str, images: dict[EvidenceKind, bytes], purpose: str = "onboarding"
    ) -> tuple[str, dict[str, Any]]:
        """Verify one hire with these images; return the decision view and the workflow's output."""
        hire = make_hire(employee_id=employee_id)
        onboarding_id = onboarding_id_for(hire.source, hire.source_employee_id)
        if purpose == VerificationPurpose.ONBOARDING:
            add_onboarding(hire)
        invited = store.invite(onboarding_id, purpose, reminder=False)
        assert token_from_email(self.mails[-1])
        store.register_task_token(invited.session_id, f"task-token-{invited.session_id}")
        session = store.get_session(invited.session_id)
        s3 = boto3.client("s3")
        for kind, data in images.items():
            key = store.reserve_upload(session, kind)
            s3.put_object(Bucket=self.stack.name("EvidenceBucket"), Key=key, Body=data)
        view = service.submit(store.get_session(invited.session_id))
        output = json.loads(self.sent[-1]["output"])
        assert output["session_id"] == invited.session_id
        return view.decision.value, output


def images(
    front: bytes = b"front-1", back: bytes = b"back-1", selfie: bytes = b"selfie-1"
) -> dict[EvidenceKind, bytes]:
    return {EvidenceKind.ID_FRONT: front, EvidenceKind.ID_BACK: back, EvidenceKind.SELFIE: selfie}


@pytest.fixture
def submitter() -> Iterator[Submitter]:
    with sessions_stack() as resources:
        yield Submitter(resources)


def use_engine(monkeypatch: pytest.MonkeyPatch, engine: CardEngine) -> None:
    monkeypatch.setattr(evaluation, "engine", lambda: engine)


def test_submit_same_card_document_reused(submitter: Submitter, monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, CardEngine("D4820017"))
    first, _ = submitter.submit("4821", images())

    decision, output = submitter.submit("4822", images(b"front-2", b"back-2", b"selfie-2"))

    assert first == "PASSED"
    assert decision == "FAILED"
    assert output["decision"] == "FAILED"
    assert output["reasons"] == ["document_reused"]


def test_submit_same_selfie_image_reused(submitter: Submitter, monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, CardEngine("D4820017"))
    submitter.submit("4821", images())
    use_engine(monkeypatch, CardEngine("D5550123"))

    decision, output = submitter.submit("4822", images(b"front-2", b"back-2", b"selfie-1"))

    assert decision == "FAILED"
    assert output["reasons"] == ["image_reused"]


def test_submit_same_hire_recipient_passes(submitter: Submitter, monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, CardEngine("D4820017"))
    first, _ = submitter.submit("4821", images())

    decision, output = submitter.submit("4821", images(), purpose=VerificationPurpose.DEVICE_RECIPIENT.value)

    assert first == "PASSED"
    assert decision == "PASSED"
    assert output["reasons"] == []


def test_submit_earlier_hire_still_passes(submitter: Submitter, monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, CardEngine("D4820017"))
    submitter.submit("4821", images())
    reused, _ = submitter.submit("4822", images())

    decision, _ = submitter.submit("4821", images(), purpose=VerificationPurpose.DEVICE_RECIPIENT.value)

    assert reused == "FAILED"
    assert decision == "PASSED"


# ----------------------------------------------------------------- the demo's hires
DEMO_EMPLOYEES = ("E-1001", "E-1002", "E-1003", "E-1004", "E-1005", "E-1006")


def test_demo_card_numbers_distinct() -> None:
    numbers = {scenarios.document_number_of(employee) for employee in DEMO_EMPLOYEES}

    assert len(numbers) == len(DEMO_EMPLOYEES)
    assert scenarios.card_of("E-1001", "Eileen", "Collins").document_number == scenarios.document_number_of(
        "E-1001"
    )


def test_demo_selfies_differ_per_hire() -> None:
    key = b"k" * 32

    def pixels(data: bytes) -> str:
        return fingerprint_pixels(load_upright(data, field="selfie", attempts_left=0), key)

    per_hire = {pixels(scenarios.selfie_of(employee)) for employee in DEMO_EMPLOYEES}

    assert len(per_hire) == len(DEMO_EMPLOYEES)
    assert scenarios.selfie_of("E-1001") == scenarios.selfie_of("E-1001")
    assert pixels(assets.genuine_selfie()) not in per_hire
    assert io.BytesIO(scenarios.selfie_of("E-1001")).read(3) == b"\xff\xd8\xff"
