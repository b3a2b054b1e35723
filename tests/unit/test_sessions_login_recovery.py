"""Sign-in and recovery sessions through functions/verification_api on moto.

A sign-in (LOGIN) has no workflow, so it submits without a task token and always goes on to
its continue URL. A recovery waits for its workflow's task token, and a PASSED one leads to
the reset. A decoy, started for an e-mail with no eligible person, fails with `not_eligible`
without running the engine. The decision tests run the real local engine on
hireproof.local.assets' photographs and specimen cards.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from hireproof import audit
from hireproof.access import persons
from hireproof.i18n import translate
from hireproof.local import assets
from hireproof.models import Decision, VerificationPurpose
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import evaluation, interactive, service, store
from hireproof.sessions.models import DecisionRecord, EvidenceKind, NextStep, Session, SessionStatus
from sessions_support import (
    CallRecorder,
    LambdaContext,
    add_onboarding,
    api_event,
    load_handler,
    make_hire,
    sessions_stack,
)
from template_resources import StackResources

LOGIN = VerificationPurpose.LOGIN
RECOVERY = VerificationPurpose.RECOVERY
UNKNOWN_EMAIL = "nobody.here@example.com"
CONTINUE_PATH = "/oauth2/resume?request=req-4f1c&session=s-1"
TASK_TOKEN = "task-token-wait-for-recovery"


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        yield stack


@pytest.fixture
def recorder(stack: StackResources) -> CallRecorder:
    recorder = CallRecorder()
    recorder.watch("stepfunctions", "sfn", "SendTaskSuccess")
    recorder.watch("stepfunctions", "sfn", "SendTaskHeartbeat")
    return recorder


@pytest.fixture
def handler(stack: StackResources) -> ModuleType:
    return load_handler("verification_api")


def _person(employee_id: str = "4821") -> tuple[str, str]:
    """Store an ACTIVE onboarding with ACTIVE access, and return the person id and work e-mail."""
    hire = make_hire(employee_id=employee_id)
    person_id = add_onboarding(hire)
    onboarding_store.update_onboarding(person_id, state="ACTIVE")
    persons.activate(person_id, verified_at=persons.now_iso(), residence_country="US")
    return person_id, str(hire.work_email)


def _start(email: str, purpose: VerificationPurpose, **attributes: str) -> interactive.StartedSession:
    return interactive.start_for_email(
        email, purpose, source_ip="198.51.100.23", locale="en", actor="test", attributes=attributes or None
    )


def _call(handler: ModuleType, route: str, token: str) -> tuple[int, dict[str, Any]]:
    response: dict[str, Any] = handler.lambda_handler(api_event(route, token), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _upload(stack: StackResources, session_id: str, *, selfie: bytes | None = None) -> None:
    """Store the three images as the page would: reserve each key, then put the object."""
    card = assets.genuine_card()
    images = {
        EvidenceKind.ID_FRONT: assets.id_card_front(card),
        EvidenceKind.ID_BACK: assets.id_card_back(card),
        EvidenceKind.SELFIE: selfie if selfie is not None else assets.genuine_selfie(),
    }
    s3 = boto3.client("s3")
    for kind, data in images.items():
        key = store.reserve_upload(store.get_session(session_id), kind)
        s3.put_object(Bucket=stack.name("EvidenceBucket"), Key=key, Body=data)


def _evidence_keys(stack: StackResources, session_id: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(
        Bucket=stack.name("EvidenceBucket"), Prefix=f"evidence/{session_id}/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]


def _decided(person_id: str) -> list[dict[str, Any]]:
    return [r for r in audit.records_for(person_id) if r["action"] == "verification_decided"]


def _session(purpose: VerificationPurpose, **changes: Any) -> Session:
    data: dict[str, Any] = {
        "session_id": f"{purpose.value}-0123456789abcdef01234567",
        "onboarding_id": "person-1",
        "purpose": purpose,
        "status": SessionStatus.DECIDED,
        "token_hash": "0" * 64,
        "token_expires_at": 2_000_000_000,
        "attempts_left": 3,
        "created_at": 1_800_000_000,
        "expires_at": 2_100_000_000,
    }
    data.update(changes)
    return Session.model_validate(data)


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every engine run, while still running the real engine."""
    calls: list[str] = []
    measure = evaluation.measure

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["verification_session_id"])
        return measure(*args, **kwargs)

    monkeypatch.setattr(evaluation, "measure", recording)
    return calls


# ----------------------------------------------------------------- needs_workflow, next_step
@pytest.mark.parametrize(
    ("purpose", "decoy", "expected"),
    [
        (VerificationPurpose.ONBOARDING, False, True),
        (VerificationPurpose.DEVICE_RECIPIENT, False, True),
        (VerificationPurpose.REVERIFICATION, False, True),
        (RECOVERY, False, True),
        (RECOVERY, True, False),
        (LOGIN, False, False),
        (LOGIN, True, False),
    ],
)
def test_needs_workflow_by_purpose(purpose: VerificationPurpose, decoy: bool, expected: bool) -> None:
    assert service.needs_workflow(_session(purpose, decoy=decoy)) is expected


@pytest.mark.parametrize(
    ("purpose", "decision", "channel", "expected"),
    [
        (LOGIN, Decision.PASSED, None, NextStep.CONTINUE),
        (LOGIN, Decision.FAILED, None, NextStep.CONTINUE),
        (LOGIN, Decision.NEEDS_REVIEW, None, NextStep.CONTINUE),
        (RECOVERY, Decision.PASSED, None, NextStep.RECOVERY_CHOICE),
        (RECOVERY, Decision.PASSED, "self_service", NextStep.RECOVERY_CHOICE),
        (RECOVERY, Decision.PASSED, "help_desk", NextStep.RECOVERY_AGENT),
        (RECOVERY, Decision.FAILED, "help_desk", NextStep.CONTACT_HELP_DESK),
        (RECOVERY, Decision.NEEDS_REVIEW, None, NextStep.CONTACT_HELP_DESK),
        (VerificationPurpose.ONBOARDING, Decision.PASSED, None, NextStep.CREDENTIAL_PENDING),
        (VerificationPurpose.REVERIFICATION, Decision.PASSED, None, NextStep.DONE),
    ],
)
def test_next_step_by_purpose_and_decision(
    purpose: VerificationPurpose, decision: Decision, channel: str | None, expected: NextStep
) -> None:
    session = _session(purpose, decision=decision, recovery_channel=channel)

    assert service.next_step(session) is expected


@pytest.mark.parametrize("step", list(NextStep))
def test_next_step_has_message_in_catalogs(step: NextStep) -> None:
    # The decision view translates `api.next_step.<step>`, so a missing key turns a decided
    # submit into a 500 after the decision was recorded.
    for locale in ("en", "ja"):
        assert translate(f"api.next_step.{step.value}", locale)


# ----------------------------------------------------------------- sign-in
def test_login_submit_without_task_token_decides(
    stack: StackResources, recorder: CallRecorder, handler: ModuleType
) -> None:
    person_id, email = _person()
    started = _start(email, LOGIN)
    store.set_continue_path(started.session.session_id, CONTINUE_PATH)
    _upload(stack, started.session.session_id)

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "PASSED"
    assert body["next_step"] == "continue"
    assert body["continue_url"] == CONTINUE_PATH
    assert body["message"] == translate("api.next_step.continue", "en")
    assert recorder.calls["SendTaskSuccess"] == []
    assert _evidence_keys(stack, started.session.session_id) == []
    [record] = _decided(person_id)
    assert record["outcome"] == "PASSED"
    assert record["details"]["purpose"] == "login"


def test_login_decision_stores_document_metadata(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, LOGIN)
    _upload(stack, started.session.session_id)

    status, _ = _call(handler, "submit", started.token)

    decided = store.get_session(started.session.session_id)
    assert status == 200
    assert decided.document_type == "driver_license"
    assert decided.document_country == "US"


def test_login_impostor_fails_and_continues(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, LOGIN)
    store.set_continue_path(started.session.session_id, CONTINUE_PATH)
    _upload(stack, started.session.session_id, selfie=assets.impostor_selfie())

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "FAILED"
    assert body["reasons"] == []
    assert body["next_step"] == "continue"
    assert body["continue_url"] == CONTINUE_PATH


def test_login_person_suspended_meanwhile_fails(stack: StackResources, handler: ModuleType) -> None:
    person_id, email = _person()
    started = _start(email, LOGIN)
    _upload(stack, started.session.session_id)
    persons.set_access_status(person_id, persons.AccessStatus.SUSPENDED, actor="test", reason="risk_high")

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "FAILED"
    assert body["reasons"] == []
    decided = store.get_session(started.session.session_id)
    assert decided.decision is Decision.FAILED
    assert decided.reasons[0] == "not_eligible"
    assert decided.reasons.count("not_eligible") == 1


def test_login_onboarding_reopened_meanwhile_fails(stack: StackResources, handler: ModuleType) -> None:
    person_id, email = _person()
    started = _start(email, LOGIN)
    _upload(stack, started.session.session_id)
    onboarding_store.update_onboarding(person_id, state="FAILED")

    _call(handler, "submit", started.token)

    decided = store.get_session(started.session.session_id)
    assert decided.decision is Decision.FAILED
    assert decided.reasons[0] == "not_eligible"


def test_login_credential_is_404(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, LOGIN)
    _upload(stack, started.session.session_id)
    _call(handler, "submit", started.token)

    status, body = _call(handler, "credential", started.token)

    assert status == 404
    assert body["message"] == translate("api.error.credential_none", "en")


# ----------------------------------------------------------------- recovery
def test_recovery_submit_without_task_token_is_409(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, RECOVERY)
    _upload(stack, started.session.session_id)

    status, body = _call(handler, "submit", started.token)

    assert status == 409
    assert body["message"] == translate("api.error.not_ready_to_submit", "en")
    session = store.get_session(started.session.session_id)
    assert session.status is not SessionStatus.DECIDED
    assert session.attempts_left == 3
    assert len(_evidence_keys(stack, started.session.session_id)) == 3


@pytest.mark.parametrize(
    ("channel", "step"), [("self_service", "recovery_choice"), ("help_desk", "recovery_agent")]
)
def test_recovery_passed_next_step_by_channel(
    stack: StackResources, recorder: CallRecorder, handler: ModuleType, channel: str, step: str
) -> None:
    _, email = _person()
    started = _start(email, RECOVERY, recovery_channel=channel)
    store.register_task_token(started.session.session_id, TASK_TOKEN)
    _upload(stack, started.session.session_id)

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "PASSED"
    assert body["next_step"] == step
    assert body["continue_url"] is None
    [sent] = recorder.calls["SendTaskSuccess"]
    assert sent["taskToken"] == TASK_TOKEN
    assert json.loads(sent["output"])["decision"] == "PASSED"


def test_recovery_person_suspended_meanwhile_fails(
    stack: StackResources, recorder: CallRecorder, handler: ModuleType
) -> None:
    person_id, email = _person()
    started = _start(email, RECOVERY, recovery_channel="self_service")
    store.register_task_token(started.session.session_id, TASK_TOKEN)
    _upload(stack, started.session.session_id)
    persons.set_access_status(person_id, persons.AccessStatus.DISABLED, actor="test", reason="revoked")

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "FAILED"
    assert body["next_step"] == "contact_help_desk"
    [sent] = recorder.calls["SendTaskSuccess"]
    output = json.loads(sent["output"])
    assert output["decision"] == "FAILED"
    assert output["reasons"][0] == "not_eligible"


# ----------------------------------------------------------------- recovery credential
def _decide(session_id: str, decision: Decision) -> None:
    record = DecisionRecord(decision=decision, reasons=[], scores={})
    store.record_decision(store.get_session(session_id), record)


def _in_an_hour() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def test_recovery_credential_before_decision_is_409(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, RECOVERY)

    status, body = _call(handler, "credential", started.token)

    assert status == 409
    assert body["message"] == translate("api.error.verification_not_finished", "en")


def test_recovery_credential_failed_is_404(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, RECOVERY)
    _decide(started.session.session_id, Decision.FAILED)
    # Even a reset stored by mistake stays hidden after a failed verification.
    store.store_credential(started.session.session_id, "password_reset_link", "https://x.test/r", None)

    status, body = _call(handler, "credential", started.token)

    assert status == 404
    assert "x.test" not in json.dumps(body)


def test_recovery_credential_not_stored_is_409(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    started = _start(email, RECOVERY)
    _decide(started.session.session_id, Decision.PASSED)

    status, body = _call(handler, "credential", started.token)

    assert status == 409
    assert body["message"] == translate("api.error.credential_not_ready", "en")


def test_recovery_credential_revealed_once(stack: StackResources, handler: ModuleType) -> None:
    person_id, email = _person()
    started = _start(email, RECOVERY)
    _decide(started.session.session_id, Decision.PASSED)
    store.store_credential(
        started.session.session_id, "temporary_access_pass", "TAP-7731-0452", _in_an_hour()
    )

    first_status, first = _call(handler, "credential", started.token)
    second_status, second = _call(handler, "credential", started.token)

    assert first_status == 200
    assert first["kind"] == "temporary_access_pass"
    assert first["value"] == "TAP-7731-0452"
    assert second_status == 410
    assert second["message"] == translate("api.error.credential_shown", "en")
    revealed = [r for r in audit.records_for(person_id) if r["action"] == "credential_revealed"]
    assert len(revealed) == 1


# ----------------------------------------------------------------- decoys
@pytest.mark.parametrize(("purpose", "step"), [(LOGIN, "continue"), (RECOVERY, "contact_help_desk")])
def test_decoy_submit_fails_after_engine(
    stack: StackResources,
    recorder: CallRecorder,
    handler: ModuleType,
    engine_calls: list[str],
    purpose: VerificationPurpose,
    step: str,
) -> None:
    started = _start(UNKNOWN_EMAIL, purpose)
    store.set_continue_path(started.session.session_id, CONTINUE_PATH)
    _upload(stack, started.session.session_id)

    status, body = _call(handler, "submit", started.token)

    assert status == 200, body
    assert body["decision"] == "FAILED"
    assert body["reasons"] == []
    assert body["next_step"] == step
    # The engine runs for a decoy as for a person, so retakes and timing do not tell them apart.
    assert len(engine_calls) == 1
    assert recorder.calls["SendTaskSuccess"] == []
    assert _evidence_keys(stack, started.session.session_id) == []
    decided = store.get_session(started.session.session_id)
    assert decided.reasons == ["not_eligible"]
    assert decided.document_type is None


def test_decoy_submit_continue_url_like_real(stack: StackResources, handler: ModuleType) -> None:
    started = _start(UNKNOWN_EMAIL, LOGIN)
    store.set_continue_path(started.session.session_id, CONTINUE_PATH)
    _upload(stack, started.session.session_id)

    _, body = _call(handler, "submit", started.token)

    assert body["continue_url"] == CONTINUE_PATH


def test_decoy_unreadable_image_asks_retake(stack: StackResources, handler: ModuleType) -> None:
    _, email = _person()
    real = _start(email, LOGIN)
    decoy = _start(UNKNOWN_EMAIL, LOGIN)
    unreadable = b"\xff\xd8\xff\xe0 not a JPEG image"
    _upload(stack, real.session.session_id, selfie=unreadable)
    _upload(stack, decoy.session.session_id, selfie=unreadable)

    real_status, real_body = _call(handler, "submit", real.token)
    decoy_status, decoy_body = _call(handler, "submit", decoy.token)

    assert real_status == 422
    assert real_body["retake_reason"] == "image_unreadable"
    assert decoy_status == real_status
    assert decoy_body.get("retake_reason") == real_body["retake_reason"]


def test_decoy_submit_requires_images(stack: StackResources, handler: ModuleType) -> None:
    started = _start(UNKNOWN_EMAIL, RECOVERY)

    status, body = _call(handler, "submit", started.token)

    assert status == 422
    assert body["error"] == "InvalidRequestError"
    assert body["field"] == "id_front"
    assert store.get_session(started.session.session_id).status is SessionStatus.INVITED


def test_decoy_recovery_credential_is_404(stack: StackResources, handler: ModuleType) -> None:
    started = _start(UNKNOWN_EMAIL, RECOVERY)
    _upload(stack, started.session.session_id)
    _call(handler, "submit", started.token)

    status, _ = _call(handler, "credential", started.token)

    assert status == 404


def test_decoy_session_view_matches_real(
    stack: StackResources, recorder: CallRecorder, handler: ModuleType
) -> None:
    _, email = _person()
    real = _start(email, RECOVERY)
    decoy = _start(UNKNOWN_EMAIL, RECOVERY)

    real_status, real_view = _call(handler, "session", real.token)
    decoy_status, decoy_view = _call(handler, "session", decoy.token)

    assert real_status == decoy_status == 200
    assert real_view.keys() == decoy_view.keys()
    varying = {"session_id", "expires_at"}
    assert {k: v for k, v in decoy_view.items() if k not in varying} == {
        k: v for k, v in real_view.items() if k not in varying
    }
    assert decoy_view["status"] == "IN_PROGRESS"
    assert recorder.calls["SendTaskHeartbeat"] == []
