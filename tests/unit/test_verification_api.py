"""functions/verification_api end to end on moto: session, uploads, submit and the credential.

The decision tests run the real local engine on hireproof.local.assets' photographs and
specimen cards; the retake-loop tests use a small engine that always requests a retake.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests

from hireproof import audit
from hireproof.errors import TransientError
from hireproof.i18n import translate
from hireproof.local import assets
from hireproof.models import OnboardingState
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import evaluation, service, store
from hireproof.sessions.models import SessionStatus
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
from hireproof.verification.reasons import RetakeReason, retake
from sessions_support import (
    CallRecorder,
    LambdaContext,
    add_onboarding,
    api_event,
    load_handler,
    make_hire,
    sessions_stack,
    token_from_email,
)
from template_resources import StackResources

KEY_PATTERN = re.compile(r"^evidence/(?P<session>[^/]+)/(?P<kind>id_front|id_back|selfie)-[0-9a-f-]{36}$")
MAX_BYTES = 15 * 1024 * 1024
# The id format of a Cognito identity pool: region, colon, GUID.
POOL_ID = "us-east-1:0f0e0d0c-0b0a-4909-8807-060504030201"


@dataclass
class Verification:
    """One invited hire with a registered task token, ready to call the API."""

    stack: StackResources
    handler: ModuleType
    recorder: CallRecorder
    onboarding_id: str
    session_id: str
    token: str

    def call(self, route: str, *, body: str | None = None, token: str | None = "") -> dict[str, Any]:
        event = api_event(route, self.token if token == "" else token, body=body)
        response: dict[str, Any] = self.handler.lambda_handler(event, LambdaContext())
        return response

    def upload(self, kind: str, data: bytes) -> str:
        response = self.call("uploads", body=json.dumps({"kind": kind, "content_type": "image/jpeg"}))
        assert response["statusCode"] == 200, response["body"]
        post = json.loads(response["body"])
        sent = requests.post(
            post["url"], data=post["fields"], files={"file": (kind, data, "image/jpeg")}, timeout=10
        )
        assert sent.status_code == 204
        key: str = post["key"]
        return key

    def upload_all(self, *, selfie: bytes | None = None) -> None:
        card = assets.genuine_card()
        self.upload("id_front", assets.id_card_front(card))
        self.upload("id_back", assets.id_card_back(card))
        self.upload("selfie", selfie if selfie is not None else assets.genuine_selfie())

    def evidence_keys(self) -> list[str]:
        listing = boto3.client("s3").list_objects_v2(
            Bucket=self.stack.name("EvidenceBucket"), Prefix=f"evidence/{self.session_id}/"
        )
        return [item["Key"] for item in listing.get("Contents", [])]

    def task_results(self) -> list[dict[str, Any]]:
        return self.recorder.calls["SendTaskSuccess"]


def _body(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        yield stack


def _invite(stack: StackResources, *, locale: str = "en", register: bool = True) -> Verification:
    recorder = CallRecorder()
    recorder.watch("sesv2", "sesv2", "SendEmail")
    recorder.watch("stepfunctions", "sfn", "SendTaskSuccess")
    recorder.watch("stepfunctions", "sfn", "SendTaskHeartbeat")
    onboarding_id = add_onboarding(make_hire(locale=locale))
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    if register:
        store.register_task_token(invited.session_id, "task-token-wait-for-verification")
    token = token_from_email(recorder.calls["SendEmail"][0])
    return Verification(
        stack=stack,
        handler=load_handler("verification_api"),
        recorder=recorder,
        onboarding_id=onboarding_id,
        session_id=invited.session_id,
        token=token,
    )


@pytest.fixture
def verification(stack: StackResources) -> Verification:
    return _invite(stack)


class RetakeEngine:
    """An engine that always requests the selfie again, as for a hire who keeps failing."""

    name = "retake"

    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        raise retake(RetakeReason.IMAGE_BLURRY, field="selfie", attempts_left=evidence.attempts_left)


@pytest.fixture
def retake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluation, "engine", RetakeEngine)


# ----------------------------------------------------------------- authentication
def test_session_opens_and_sends_heartbeat(verification: Verification) -> None:
    response = verification.call("session")

    body = _body(response)
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "no-store"
    assert body["session_id"] == verification.session_id
    assert body["purpose"] == "onboarding"
    assert body["status"] == "IN_PROGRESS"
    assert body["steps"] == ["id_front", "id_back", "selfie"]
    assert body["step_labels"]["selfie"] == "Selfie"
    assert body["liveness_mode"] == "local_selfie"
    assert body["attempts_left"] == 3
    assert dt.datetime.fromisoformat(body["expires_at"]) > dt.datetime.now(dt.UTC)
    heartbeats = verification.recorder.calls["SendTaskHeartbeat"]
    assert heartbeats == [{"taskToken": "task-token-wait-for-verification"}]


def test_session_in_japanese_for_ja_hire(stack: StackResources) -> None:
    verification = _invite(stack, locale="ja")

    body = _body(verification.call("session"))

    assert body["locale"] == "ja"
    assert body["step_labels"]["id_front"] == "本人確認書類の表面"


def test_session_rekognition_liveness_mode(
    verification: Verification, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERIFICATION_ENGINE", "rekognition")

    body = _body(verification.call("session"))

    assert body["liveness_mode"] == "rekognition"
    assert body["steps"] == ["id_front", "id_back", "liveness"]
    assert body["step_labels"]["liveness"] == "Live face check"


def test_missing_bearer_token_is_401(verification: Verification) -> None:
    response = verification.call("session", token=None)

    body = _body(response)
    assert response["statusCode"] == 401
    assert body["error"] == "InvitationNotFoundError"
    # The sample event's Accept-Language prefers Japanese.
    assert body["message"] == translate("api.error.invitation_missing", "ja")


def test_unknown_token_is_401(verification: Verification) -> None:
    response = verification.call("session", token="x" * 43)

    assert response["statusCode"] == 401
    assert _body(response)["error"] == "InvitationNotFoundError"


def test_expired_token_is_410(verification: Verification, monkeypatch: pytest.MonkeyPatch) -> None:
    later = int(time.time()) + 86400 + 5
    monkeypatch.setattr(store, "_now", lambda: later)

    response = verification.call("session")

    assert response["statusCode"] == 410
    assert _body(response)["error"] == "InvitationExpiredError"


def test_replaced_token_stops_working(verification: Verification) -> None:
    store.invite(verification.onboarding_id, "onboarding", reminder=True)
    new_token = token_from_email(verification.recorder.calls["SendEmail"][1])

    old = verification.call("session")
    new = verification.call("session", token=new_token)

    assert old["statusCode"] in (401, 410)
    assert new["statusCode"] == 200


# ----------------------------------------------------------------- uploads
def test_upload_presigned_post_conditions(verification: Verification) -> None:
    response = verification.call(
        "uploads", body=json.dumps({"kind": "id_front", "content_type": "image/png"})
    )

    assert response["statusCode"] == 200
    body = _body(response)
    match = KEY_PATTERN.match(body["key"])
    assert match is not None
    assert match["session"] == verification.session_id
    assert match["kind"] == "id_front"
    assert body["fields"]["key"] == body["key"]
    assert body["fields"]["Content-Type"] == "image/png"
    assert body["max_bytes"] == MAX_BYTES
    assert body["expires_in"] == 600
    policy = json.loads(base64.b64decode(body["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, MAX_BYTES] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"bucket": verification.stack.name("EvidenceBucket")} in conditions
    assert {"key": body["key"]} in conditions
    expiration = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    remaining = (expiration - dt.datetime.now(dt.UTC)).total_seconds()
    assert 540 < remaining <= 600


def test_upload_records_latest_key(verification: Verification) -> None:
    first = verification.upload("selfie", b"\xff\xd8\xff first")
    second = verification.upload("selfie", b"\xff\xd8\xff second")

    session = store.get_session(verification.session_id)
    assert first != second
    assert session.evidence == {"selfie": second}
    assert len(verification.recorder.calls["SendTaskHeartbeat"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "passport", "content_type": "image/jpeg"}, "kind"),
        ({"kind": "selfie", "content_type": "image/heic"}, "content_type"),
        ({"kind": "selfie"}, "content_type"),
        ({"kind": "selfie", "content_type": "image/jpeg", "size": 3}, "size"),
    ],
)
def test_upload_invalid_body_is_422(verification: Verification, body: dict[str, Any], field: str) -> None:
    response = verification.call("uploads", body=json.dumps(body))

    assert response["statusCode"] == 422
    assert _body(response)["field"] == field


def test_upload_limit_is_429(verification: Verification, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_UPLOADS_PER_SESSION", 2)
    body = json.dumps({"kind": "selfie", "content_type": "image/jpeg"})
    statuses = [verification.call("uploads", body=body)["statusCode"] for _ in range(3)]

    assert statuses == [200, 200, 429]


# ----------------------------------------------------------------- liveness
class LivenessEngine:
    """Stands in for the Rekognition engine: one liveness session, a passing measurement."""

    name = "rekognition"

    def __init__(self) -> None:
        self.created: list[dict[str, str]] = []
        self.evidence: list[Evidence] = []

    def create_liveness_session(self, *, verification_session_id: str, hire_id: str) -> str:
        self.created.append({"verification_session_id": verification_session_id, "hire_id": hire_id})
        return f"liveness-{len(self.created)}"

    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        self.evidence.append(evidence)
        read = 99.0
        return EngineResult(
            engine=self.name,
            liveness=LivenessResult(status=LivenessStatus.PASSED, confidence=98.0),
            face_match=FaceMatch(
                metric=FaceMetric.SIMILARITY,
                score=99.1,
                threshold=50.0,
                reference_faces=1,
                document_faces=1,
            ),
            document=DocumentFields(
                source=FieldSource.BARCODE,
                given_name=TextField(value=hire.given_name, confidence=read),
                middle_name=TextField(value=hire.middle_name, confidence=read),
                family_name=TextField(value=hire.family_name, confidence=read),
                date_of_birth=DateField(value=hire.date_of_birth, confidence=read),
                expiry_date=DateField(value=hire.verification_date + dt.timedelta(days=900), confidence=read),
            ),
            consistency=Consistency(status=ConsistencyStatus.CONSISTENT),
            image_fingerprints=ImageFingerprints(id_front="0" * 64),
        )


@pytest.fixture
def liveness_engine(monkeypatch: pytest.MonkeyPatch) -> LivenessEngine:
    engine = LivenessEngine()
    monkeypatch.setenv("VERIFICATION_ENGINE", "rekognition")
    monkeypatch.setenv("LIVENESS_IDENTITY_POOL_ID", POOL_ID)
    monkeypatch.setattr(evaluation, "engine", lambda: engine)
    return engine


def test_liveness_session_replaces_selfie(
    verification: Verification, liveness_engine: LivenessEngine
) -> None:
    card = assets.genuine_card()
    verification.upload("id_front", assets.id_card_front(card))
    verification.upload("id_back", assets.id_card_back(card))

    created = verification.call("liveness")
    decided = verification.call("submit")

    body = _body(created)
    assert created["statusCode"] == 200
    assert body == {
        "liveness_session_id": "liveness-1",
        "region": "us-east-1",
        "expires_in": 180,
        "identity_pool_id": POOL_ID,
    }
    assert liveness_engine.created == [
        {"verification_session_id": verification.session_id, "hire_id": verification.onboarding_id}
    ]
    assert _body(decided)["decision"] == "PASSED"
    evidence = liveness_engine.evidence[0]
    assert evidence.liveness_session_id == "liveness-1"
    assert evidence.verification_session_id == verification.session_id
    assert evidence.selfie is None


def test_submit_reports_decision_when_deletion_fails(
    verification: Verification, liveness_engine: LivenessEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = assets.genuine_card()
    verification.upload("id_front", assets.id_card_front(card))
    verification.upload("id_back", assets.id_card_back(card))
    verification.call("liveness")

    def fail(session_id: str) -> int:
        raise TransientError("S3 did not delete 2 evidence objects; retry")

    monkeypatch.setattr(service.evidence, "delete_all", fail)
    response = verification.call("submit")

    assert response["statusCode"] == 200
    assert len(verification.task_results()) == 1


def test_liveness_with_local_engine_is_404(verification: Verification) -> None:
    response = verification.call("liveness")

    assert response["statusCode"] == 404
    assert store.get_session(verification.session_id).liveness_session_id is None


# ----------------------------------------------------------------- submit
def test_submit_passed_sends_one_task_success(verification: Verification) -> None:
    verification.call("session")
    verification.upload_all()

    response = verification.call("submit")

    body = _body(response)
    assert response["statusCode"] == 200, body
    assert body["decision"] == "PASSED"
    assert body["next_step"] == "credential_pending"
    assert body["message"] == translate("api.next_step.credential_pending", "en")
    assert body["ships_to"] == "12 Rue Example, Springfield, 12345, US"
    results = verification.task_results()
    assert len(results) == 1
    assert results[0]["taskToken"] == "task-token-wait-for-verification"
    output = json.loads(results[0]["output"])
    assert output["session_id"] == verification.session_id
    assert output["decision"] == "PASSED"
    assert output["reasons"] == []
    assert 0 <= output["scores"]["face_distance"] < 0.5
    assert output["document_address"] == {"matches_home": None}


def test_submit_deletes_all_evidence(verification: Verification) -> None:
    verification.upload("selfie", assets.no_face_photo())  # an earlier attempt, kept until now
    verification.upload_all()
    assert len(verification.evidence_keys()) == 4

    verification.call("submit")

    assert verification.evidence_keys() == []
    assert store.get_session(verification.session_id).evidence == {}


def test_submit_decision_is_audited(verification: Verification) -> None:
    verification.upload_all()

    verification.call("submit")

    records = [r for r in audit.records_for(verification.onboarding_id)]
    decided = [r for r in records if r["action"] == "verification_decided"]
    assert len(decided) == 1
    assert decided[0]["outcome"] == "PASSED"
    assert decided[0]["details"]["session_id"] == verification.session_id
    assert "face_distance" in decided[0]["details"]
    dumped = json.dumps(records, default=str)
    assert "Dubois" not in dumped
    assert "1990-05-14" not in dumped


def test_submit_impostor_fails(verification: Verification) -> None:
    verification.upload_all(selfie=assets.impostor_selfie())

    body = _body(verification.call("submit"))

    assert body["decision"] == "FAILED"
    assert body["reasons"] == [], "failure reasons must not be shown to a possible impostor"
    assert body["next_step"] == "contact_hr"
    assert body["ships_to"] is None
    results = verification.task_results()
    assert len(results) == 1
    assert "face_mismatch" in json.loads(results[0]["output"])["reasons"]


def test_submit_retake_decrements_attempts(stack: StackResources) -> None:
    verification = _invite(stack, locale="ja")
    verification.upload_all(selfie=assets.no_face_photo())

    response = verification.call("submit")

    body = _body(response)
    assert response["statusCode"] == 422
    assert body["error"] == "RetakeRequiredError"
    assert body["retake_reason"] == "no_face_in_selfie"
    assert body["field"] == "selfie"
    assert body["attempts_left"] == 2
    assert body["message"].startswith(translate("api.retake.no_face_in_selfie", "ja"))
    assert body["message"].endswith("やり直しできるのは残り2回です。")
    session = store.get_session(verification.session_id)
    assert session.attempts_left == 2
    assert session.status is not SessionStatus.DECIDED
    assert verification.task_results() == []
    assert len(verification.evidence_keys()) == 3


def test_retake_then_pass(verification: Verification) -> None:
    verification.upload_all(selfie=assets.no_face_photo())
    first = verification.call("submit")

    verification.upload("selfie", assets.genuine_selfie())
    second = verification.call("submit")

    assert first["statusCode"] == 422
    assert _body(second)["decision"] == "PASSED"
    assert len(verification.task_results()) == 1


@pytest.mark.usefixtures("retake_engine")
def test_retakes_exhausted_needs_review(verification: Verification) -> None:
    verification.upload_all()

    responses = [verification.call("submit") for _ in range(3)]

    assert [r["statusCode"] for r in responses] == [422, 422, 200]
    assert [_body(r).get("attempts_left") for r in responses[:2]] == [2, 1]
    last = _body(responses[2])
    assert last["decision"] == "NEEDS_REVIEW"
    assert last["reasons"] == []
    assert last["next_step"] == "under_review"
    results = verification.task_results()
    assert len(results) == 1
    assert json.loads(results[0]["output"])["reasons"] == ["retakes_exhausted", "image_blurry"]
    assert verification.evidence_keys() == []


@pytest.mark.usefixtures("retake_engine")
def test_retake_engine_gets_attempts_after_this_one(
    verification: Verification, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    class Recording(RetakeEngine):
        def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
            seen.append(evidence.attempts_left)
            return super().evaluate(evidence, hire)

    monkeypatch.setattr(evaluation, "engine", Recording)
    verification.upload_all()

    verification.call("submit")
    verification.call("submit")

    assert seen == [2, 1]


def test_double_submit_sends_one_task_success(verification: Verification) -> None:
    verification.upload_all()

    first = verification.call("submit")
    second = verification.call("submit")

    assert first["statusCode"] == 200
    assert second["statusCode"] == 410
    assert _body(second)["error"] == "InvitationUsedError"
    assert len(verification.task_results()) == 1


def test_concurrent_submits_send_one_task_success(verification: Verification) -> None:
    verification.upload_all()
    # Both requests authenticated before either decided: they hold the same open session.
    session = store.session_for_token(verification.token)
    images = {kind: service.evidence.load(key) for kind, key in session.evidence.items()}
    loads = iter([images, images])
    original = service._load_images

    def load_before_deletion(current: Any) -> Any:
        return next(loads, None) or original(current)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "_load_images", load_before_deletion)
        first = service.submit(session)
        second = service.submit(session)

    assert first.decision == second.decision
    assert len(verification.task_results()) == 1


def test_submit_before_task_token_is_409(stack: StackResources) -> None:
    verification = _invite(stack, register=False)
    verification.upload_all()

    response = verification.call("submit")

    assert response["statusCode"] == 409
    session = store.get_session(verification.session_id)
    assert session.attempts_left == 3
    assert session.status is not SessionStatus.DECIDED
    assert len(verification.evidence_keys()) == 3


def test_submit_missing_image_is_422(verification: Verification) -> None:
    verification.upload("id_front", assets.id_card_front(assets.genuine_card()))

    response = verification.call("submit")

    body = _body(response)
    assert response["statusCode"] == 422
    assert body["error"] == "InvalidRequestError"
    assert body["field"] == "id_back"
    assert store.get_session(verification.session_id).attempts_left == 3


def test_submit_image_never_uploaded_is_422(verification: Verification) -> None:
    verification.upload_all()
    verification.call("uploads", body=json.dumps({"kind": "selfie", "content_type": "image/jpeg"}))

    response = verification.call("submit")

    assert response["statusCode"] == 422
    assert _body(response)["field"] == "selfie"


def test_submit_rejects_unknown_body_field(verification: Verification) -> None:
    response = verification.call("submit", body=json.dumps({"decision": "PASSED"}))

    assert response["statusCode"] == 422
    assert _body(response)["field"] == "decision"


# ----------------------------------------------------------------- credential
def _passed(verification: Verification) -> None:
    verification.upload_all()
    assert _body(verification.call("submit"))["decision"] == "PASSED"


def _in_a_week() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=7)


def test_credential_revealed_once_then_410(verification: Verification) -> None:
    _passed(verification)
    onboarding_store.update_onboarding(verification.onboarding_id, state=OnboardingState.VERIFIED)
    store.store_credential(verification.session_id, "temporary_access_pass", "TAP-5521-0093", _in_a_week())

    first = verification.call("credential")
    second = verification.call("credential")

    assert first["statusCode"] == 200
    assert first["headers"]["Cache-Control"] == "no-store"
    body = _body(first)
    assert body["kind"] == "temporary_access_pass"
    assert body["value"] == "TAP-5521-0093"
    assert second["statusCode"] == 410
    assert _body(second)["message"] == translate("api.error.credential_shown", "en")


def test_credential_not_stored_yet_is_409(verification: Verification) -> None:
    _passed(verification)

    before_record = verification.call("credential")
    onboarding_store.update_onboarding(verification.onboarding_id, state=OnboardingState.VERIFIED)
    before_store = verification.call("credential")

    assert before_record["statusCode"] == 409
    assert before_store["statusCode"] == 409
    assert _body(before_store)["message"] == translate("api.error.credential_not_ready", "en")


def test_credential_before_decision_is_409(verification: Verification) -> None:
    response = verification.call("credential")

    assert response["statusCode"] == 409


@pytest.mark.usefixtures("retake_engine")
def test_credential_under_review_is_409(verification: Verification) -> None:
    verification.upload_all()
    for _ in range(3):
        verification.call("submit")

    response = verification.call("credential")

    assert response["statusCode"] == 409
    assert _body(response)["message"] == translate("api.error.credential_under_review", "en")


def test_credential_after_review_approval(verification: Verification) -> None:
    verification.upload_all(selfie=assets.impostor_selfie())
    verification.call("submit")
    failed = verification.call("credential")
    # A reviewer overturned the decision: the workflow sets VERIFIED and stores a credential.
    onboarding_store.update_onboarding(verification.onboarding_id, state=OnboardingState.VERIFIED)
    store.store_credential(verification.session_id, "activation_link", "https://x.test/a", None)

    approved = verification.call("credential")

    assert failed["statusCode"] == 404
    assert approved["statusCode"] == 200
    assert _body(approved)["expires_at"] is None


def test_credential_for_failed_hire_is_withheld(verification: Verification) -> None:
    verification.upload_all(selfie=assets.impostor_selfie())
    verification.call("submit")
    # Even a credential stored by mistake stays hidden while the onboarding is not approved.
    store.store_credential(verification.session_id, "temporary_access_pass", "TAP", _in_a_week())

    response = verification.call("credential")

    assert response["statusCode"] == 404
    assert "TAP" not in response["body"]
