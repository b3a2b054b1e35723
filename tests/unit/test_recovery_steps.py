"""hireproof.recovery.steps and their functions, with template.yaml's resources in moto and FakeOkta.

The identity provider is the Okta adapter talking to FakeOkta over HTTPS on 127.0.0.1 (the
`allow_hosts` marker lets it through pytest-socket). Risk events are read from the
PutEvents calls and applied with `hireproof.risk.state`, as the risk consumer applies them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from hireproof import audit
from hireproof.access import persons
from hireproof.access.persons import AccessStatus, RiskLevel
from hireproof.errors import ConflictError
from hireproof.i18n import translate
from hireproof.identity import StagedUser
from hireproof.identity.factory import identity_provider_from_env, reset_identity_provider_cache
from hireproof.local.fakes.okta import FakeOkta
from hireproof.models import Decision, Hire
from hireproof.onboarding import store as onboarding_store
from hireproof.onboarding.steps import VerificationOutcome
from hireproof.recovery import choice, requests, steps, store
from hireproof.recovery.models import RecoveryChannel, RecoveryOutcome, RecoveryStatus, ResetKind
from hireproof.risk.models import risk_event_from_eventbridge
from hireproof.risk.state import apply_risk_event
from hireproof.sessions import store as sessions_store
from hireproof.sessions.models import SessionStatus
from recovery_support import SOURCE_IP, active_person, decide, recovery_stack
from sessions_support import CallRecorder, LambdaContext, load_handler
from template_resources import StackResources

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

MANAGER_EMAIL = "kenji.sato@example.com"


@dataclass
class World:
    stack: StackResources
    okta: FakeOkta
    recorder: CallRecorder
    person_id: str
    hire: Hire
    idp_user_id: str

    def choose(self, kind: ResetKind = ResetKind.PASSWORD) -> str:
        """Start a self-service recovery, pass it, choose `kind`; return the recovery id."""
        started = requests.start_self_service(str(self.hire.work_email), source_ip=SOURCE_IP, locale="en")
        assert started.recovery_id is not None
        recovery = store.get(started.recovery_id)
        decide(recovery.session_id, Decision.PASSED)
        choice.choose_reset(started.recovery_id, kind, "person", channel=RecoveryChannel.SELF_SERVICE)
        return started.recovery_id

    def okta_calls(self, path_suffix: str) -> int:
        return len(self.okta.calls_to("POST", f"/api/v1/users/{self.idp_user_id}/{path_suffix}"))

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(call["Message"]) for call in self.recorder.calls["Publish"]]

    def risk_events(self) -> list[dict[str, Any]]:
        return [
            json.loads(entry["Detail"])
            for call in self.recorder.calls["PutEvents"]
            for entry in call["Entries"]
            if entry["DetailType"] == "RiskLevelChanged"
        ]

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in audit.records_for(self.person_id) if r["action"] == action]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    okta = FakeOkta()
    okta.start()
    try:
        with recovery_stack() as stack:
            yield _build(stack, okta, monkeypatch)
    finally:
        okta.stop()
        parameters.clear_caches()
        reset_identity_provider_cache()


def _build(stack: StackResources, okta: FakeOkta, monkeypatch: pytest.MonkeyPatch) -> World:
    parameters.clear_caches()
    reset_identity_provider_cache()
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.name("IdentityProviderSecret"), SecretString=json.dumps(okta.secret_value())
    )
    for key, value in {
        "IDENTITY_PROVIDER_URL": okta.base_url,
        "IDENTITY_PROVIDER_CA_BUNDLE": okta.ca_bundle_path,
        "IDENTITY_PROVIDER_SECRET_ARN": stack.name("IdentityProviderSecret"),
    }.items():
        monkeypatch.setenv(key, value)
    recorder = CallRecorder()
    for service, event_service, operation in (
        ("sesv2", "sesv2", "SendEmail"),
        ("sns", "sns", "Publish"),
        ("events", "events", "PutEvents"),
        ("stepfunctions", "sfn", "SendTaskSuccess"),
    ):
        recorder.watch(service, event_service, operation)

    person_id, hire = active_person(idp_user_id=None, manager_email=MANAGER_EMAIL)
    provider = identity_provider_from_env()
    idp_user_id = provider.stage_user(StagedUser.from_hire(hire))
    provider.activate_user(idp_user_id)
    credential = provider.issue_initial_credential(idp_user_id)
    okta.complete_activation(credential.value.get_secret_value().rsplit("/", 1)[-1])
    okta.sign_in(idp_user_id)
    onboarding_store.update_onboarding(person_id, idp_user_id=idp_user_id)
    return World(stack, okta, recorder, person_id, hire, idp_user_id)


# ----------------------------------------------------------------- Record Verification
def test_record_verification_marks_verified(world: World) -> None:
    started = requests.start_self_service(str(world.hire.work_email), source_ip=SOURCE_IP, locale="en")
    assert started.recovery_id is not None
    decide(store.get(started.recovery_id).session_id, Decision.PASSED)

    result = steps.record_verification(started.recovery_id)
    steps.record_verification(started.recovery_id)

    assert result == {"status": "VERIFIED"}
    assert store.get(started.recovery_id).decision is Decision.PASSED
    assert len(world.actions("recovery_verified")) == 1


def test_record_verification_after_choice_keeps_choice(world: World) -> None:
    recovery_id = world.choose()

    result = steps.record_verification(recovery_id)

    recovery = store.get(recovery_id)
    assert result == {"status": "RESET_CHOSEN"}
    assert recovery.decision is Decision.PASSED
    assert recovery.decided_at is not None


def test_record_verification_of_failed_session_conflicts(world: World) -> None:
    started = requests.start_self_service(str(world.hire.work_email), source_ip=SOURCE_IP, locale="en")
    assert started.recovery_id is not None
    decide(store.get(started.recovery_id).session_id, Decision.FAILED)

    with pytest.raises(ConflictError):
        steps.record_verification(started.recovery_id)


# ----------------------------------------------------------------- Perform Reset
def test_password_reset_stores_credential_for_one_reveal(world: World) -> None:
    recovery_id = world.choose(ResetKind.PASSWORD)

    result = steps.perform_reset(recovery_id)

    recovery = store.get(recovery_id)
    assert result["performed"] is True
    assert recovery.status is RecoveryStatus.RESET_DONE
    assert recovery.reset_at == result["reset_at"]
    assert world.okta.users[world.idp_user_id]["status"] == "RECOVERY"
    assert len(world.okta.calls_to("DELETE", f"/api/v1/users/{world.idp_user_id}/sessions")) == 1
    credential = sessions_store.reveal_credential(recovery.session_id)
    assert credential.kind == "password_reset_link"
    world.okta.complete_password_reset(credential.value.rsplit("/", 1)[-1])
    world.okta.sign_in(world.idp_user_id)
    [performed] = world.actions("recovery_reset_performed")
    assert performed["outcome"] == "password"
    assert performed["details"]["provider"] == "okta"
    assert performed["details"]["sessions_revoked"] is True
    assert credential.value not in json.dumps(audit.records_for(world.person_id), default=str)


def test_reset_step_repeated_resets_once(world: World) -> None:
    recovery_id = world.choose(ResetKind.PASSWORD)

    first = steps.perform_reset(recovery_id)
    second = steps.perform_reset(recovery_id)

    assert first["performed"] is True
    assert second["performed"] is False
    assert second["reset_at"] == first["reset_at"]
    assert world.okta_calls("lifecycle/reset_password") == 1
    assert len(world.actions("recovery_reset_performed")) == 1


def test_mfa_reset_removes_every_factor(world: World) -> None:
    world.okta.enroll_factor(world.idp_user_id, "push")
    world.okta.enroll_factor(world.idp_user_id, "sms")
    recovery_id = world.choose(ResetKind.MFA)

    steps.perform_reset(recovery_id)

    assert world.okta.factor_types(world.idp_user_id) == []
    assert world.idp_user_id not in world.okta.recovery_phones
    assert sessions_store.reveal_credential(store.get(recovery_id).session_id).kind == "password_reset_link"


def test_reset_for_person_suspended_after_choice_resets_nothing(world: World) -> None:
    recovery_id = world.choose(ResetKind.PASSWORD)
    persons.set_access_status(world.person_id, AccessStatus.SUSPENDED, actor="test", reason="high_risk")

    with pytest.raises(ConflictError, match="nothing was reset"):
        steps.perform_reset(recovery_id)

    assert world.okta_calls("lifecycle/reset_password") == 0
    assert store.get(recovery_id).status is RecoveryStatus.RESET_CHOSEN


def test_reset_without_choice_conflicts(world: World) -> None:
    started = requests.start_self_service(str(world.hire.work_email), source_ip=SOURCE_IP, locale="en")
    assert started.recovery_id is not None

    with pytest.raises(ConflictError):
        steps.perform_reset(started.recovery_id)
    assert world.okta_calls("lifecycle/reset_password") == 0


# ----------------------------------------------------------------- Notify And Raise Risk
def test_notify_mails_manager_alerts_and_raises_risk(world: World) -> None:
    recovery_id = world.choose(ResetKind.MFA)
    reset = steps.perform_reset(recovery_id)

    result = steps.notify_and_raise_risk(recovery_id)
    steps.notify_and_raise_risk(recovery_id)

    assert result == {"manager_notified": True, "risk_event_id": f"{recovery_id}-raise"}
    [mail] = [
        m for m in world.recorder.calls["SendEmail"] if m["Destination"]["ToAddresses"] == [MANAGER_EMAIL]
    ]
    text = mail["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert "Renée Dubois" in text
    assert translate("recovery.kind.mfa", "en") in text
    assert translate("email.reset_notice.channel.self_service", "en") in text
    assert world.alerts() == [
        {
            "onboarding_id": world.person_id,
            "action": "credential_reset",
            "reasons": ["reset_mfa", "channel_self_service"],
        }
    ]
    [raised] = world.risk_events()
    assert raised["level"] == "MEDIUM"
    assert raised["version"] == 0
    assert raised["kind"] == "credential_change"
    assert raised["reason"] == "credential_reset"
    assert raised["source"] == "hireproof.recovery"
    assert dt.datetime.fromisoformat(raised["event_time"]) == dt.datetime.fromtimestamp(
        reset["reset_at"], dt.UTC
    )
    [notified] = world.actions("recovery_notified")
    assert notified["outcome"] == "sent"


def test_notice_uses_manager_language(world: World) -> None:
    active_person(employee_id="7001", work_email=MANAGER_EMAIL, locale="ja")
    recovery_id = world.choose(ResetKind.PASSWORD)
    steps.perform_reset(recovery_id)

    steps.notify_and_raise_risk(recovery_id)

    [mail] = [
        m for m in world.recorder.calls["SendEmail"] if m["Destination"]["ToAddresses"] == [MANAGER_EMAIL]
    ]
    assert mail["Content"]["Simple"]["Subject"]["Data"] == translate(
        "email.reset_notice.subject",
        "ja",
        display_name="Renée Dubois",
        kind=translate("recovery.kind.password", "ja"),
    )


def test_notify_without_manager_still_alerts(world: World) -> None:
    record = onboarding_store.get_onboarding(world.person_id)
    hire = dict(record["hire"])
    hire.pop("manager_email")
    onboarding_store.update_onboarding(world.person_id, hire=hire)
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)

    result = steps.notify_and_raise_risk(recovery_id)

    assert result["manager_notified"] is False
    assert len(world.alerts()) == 1
    [notified] = world.actions("recovery_notified")
    assert notified["outcome"] == "manager_not_notified"
    assert notified["reasons"] == ["no_manager_email"]


# ----------------------------------------------------------------- Lower Risk
def _apply(detail: dict[str, Any], person_id: str) -> str:
    event = risk_event_from_eventbridge(
        {"source": "hireproof.risk", "detail-type": "RiskLevelChanged", "id": "eb-1", "detail": detail}
    )
    return apply_risk_event(event, person_id=person_id).status


def test_lower_risk_supersedes_only_the_raise(world: World) -> None:
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)
    steps.notify_and_raise_risk(recovery_id)
    [raised] = world.risk_events()
    assert _apply(raised, world.person_id) == "applied"

    steps.lower_risk(recovery_id)
    steps.lower_risk(recovery_id)

    [_, lowered] = world.risk_events()
    assert lowered["level"] == "LOW"
    assert lowered["version"] == 1
    assert lowered["event_time"] == raised["event_time"]
    assert _apply(lowered, world.person_id) == "applied"
    assert persons.get_person(world.person_id).risk_level is RiskLevel.LOW
    assert len(world.actions("recovery_risk_lowered")) == 1


def test_late_raise_after_lower_is_stale(world: World) -> None:
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)
    steps.notify_and_raise_risk(recovery_id)
    steps.lower_risk(recovery_id)
    raised, lowered = world.risk_events()

    statuses = [_apply(lowered, world.person_id), _apply(raised, world.person_id)]

    assert statuses == ["applied", "stale"]
    assert persons.get_person(world.person_id).risk_level is RiskLevel.LOW


def test_newer_event_survives_the_lower(world: World) -> None:
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)
    steps.notify_and_raise_risk(recovery_id)
    raised = world.risk_events()[0]
    _apply(raised, world.person_id)
    newer_time = dt.datetime.fromisoformat(raised["event_time"]) + dt.timedelta(seconds=1)
    newer = {
        **raised,
        "event_id": "siem-1",
        "source": "corp.siem",
        "event_time": newer_time.isoformat(),
        "version": 0,
    }
    _apply(newer, world.person_id)

    steps.lower_risk(recovery_id)

    assert _apply(world.risk_events()[-1], world.person_id) == "stale"
    assert persons.get_person(world.person_id).risk_level is RiskLevel.MEDIUM


def test_risk_raised_before_reset_is_kept(world: World) -> None:
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    _apply(
        {
            "person_id": world.person_id,
            "level": "MEDIUM",
            "reason": "new_country",
            "event_time": earlier.isoformat(),
            "event_id": "siem-before",
        },
        world.person_id,
    )
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)
    steps.notify_and_raise_risk(recovery_id)
    _apply(world.risk_events()[0], world.person_id)

    result = steps.lower_risk(recovery_id)

    assert result == {"published": False, "reason": "risk_elevated_before_reset", "previous_level": "MEDIUM"}
    assert len(world.risk_events()) == 1
    [kept] = world.actions("recovery_risk_kept")
    assert kept["reasons"] == ["risk_elevated_before_reset"]


# ----------------------------------------------------------------- Close
def _started(world: World) -> str:
    started = requests.start_self_service(str(world.hire.work_email), source_ip=SOURCE_IP, locale="en")
    assert started.recovery_id is not None
    return started.recovery_id


def test_close_failed_alerts_once_and_resets_nothing(world: World) -> None:
    recovery_id = _started(world)
    session_id = store.get(recovery_id).session_id
    decide(session_id, Decision.FAILED, reasons=["face_mismatch"])
    verification = VerificationOutcome(
        session_id=session_id, decision=Decision.FAILED, reasons=["face_mismatch"]
    )

    result = steps.close_recovery(recovery_id, RecoveryOutcome.FAILED, verification=verification)
    steps.close_recovery(recovery_id, RecoveryOutcome.FAILED, verification=verification)

    assert result == {"outcome": "FAILED", "status": "FAILED", "reasons": ["face_mismatch"]}
    assert world.alerts() == [
        {
            "onboarding_id": world.person_id,
            "action": "recovery_verification_failed",
            "reasons": ["face_mismatch"],
        }
    ]
    assert world.okta_calls("lifecycle/reset_password") == 0
    assert len(world.actions("recovery_closed")) == 1


def test_close_needs_review_does_not_alert(world: World) -> None:
    recovery_id = _started(world)
    session_id = store.get(recovery_id).session_id
    verification = VerificationOutcome(
        session_id=session_id, decision=Decision.NEEDS_REVIEW, reasons=["retakes_exhausted"]
    )

    result = steps.close_recovery(recovery_id, RecoveryOutcome.NEEDS_REVIEW, verification=verification)

    assert result["status"] == "NEEDS_REVIEW"
    assert world.alerts() == []


def test_close_expired_before_decision_closes_link(world: World) -> None:
    recovery_id = _started(world)
    session_id = store.get(recovery_id).session_id

    result = steps.close_recovery(recovery_id, RecoveryOutcome.EXPIRED)

    assert result["reasons"] == ["verification_not_completed"]
    assert sessions_store.get_session(session_id).status is SessionStatus.EXPIRED
    assert store.get(recovery_id).status is RecoveryStatus.EXPIRED


def test_close_expired_after_pass_names_missing_choice(world: World) -> None:
    recovery_id = _started(world)
    decide(store.get(recovery_id).session_id, Decision.PASSED)
    steps.record_verification(recovery_id)

    result = steps.close_recovery(recovery_id, RecoveryOutcome.EXPIRED)

    assert result["reasons"] == ["reset_not_chosen"]
    assert world.alerts() == []


def test_close_error_alerts_and_cancels_link(world: World) -> None:
    recovery_id = _started(world)
    session_id = store.get(recovery_id).session_id

    result = steps.close_recovery(recovery_id, RecoveryOutcome.ERROR, error="IdentityProviderError")

    assert result == {
        "outcome": "ERROR",
        "status": "ERROR",
        "reasons": ["system_error_IdentityProviderError"],
    }
    assert sessions_store.get_session(session_id).status is SessionStatus.CANCELLED
    assert [alert["action"] for alert in world.alerts()] == ["recovery_error"]


def test_close_error_after_end_keeps_status(world: World) -> None:
    recovery_id = _started(world)
    steps.close_recovery(recovery_id, RecoveryOutcome.EXPIRED)

    result = steps.close_recovery(recovery_id, RecoveryOutcome.ERROR, error="States.Runtime")

    assert result["status"] == "EXPIRED"


# ----------------------------------------------------------------- the functions
def test_functions_run_the_reset_path(world: World) -> None:
    recovery_id = _started(world)
    recovery = store.get(recovery_id)
    decide(recovery.session_id, Decision.PASSED)
    register = load_handler("register_task_token")
    recovery_steps = load_handler("recovery_steps")
    perform_reset = load_handler("perform_reset")

    recorded = recovery_steps.lambda_handler(
        {"step": "record_verification", "recovery_id": recovery_id}, LambdaContext()
    )
    registered = register.lambda_handler(
        {
            "kind": "recovery_choice",
            "onboarding_id": world.person_id,
            "recovery_id": recovery_id,
            "task_token": "token-of-wait-for-reset-choice",
        },
        LambdaContext(),
    )
    choice.choose_reset(recovery_id, ResetKind.PASSWORD, "person", channel=RecoveryChannel.SELF_SERVICE)
    reset = perform_reset.lambda_handler(
        {"recovery_id": recovery_id, "person_id": world.person_id}, LambdaContext()
    )
    notified = recovery_steps.lambda_handler(
        {"step": "notify_and_raise_risk", "recovery_id": recovery_id}, LambdaContext()
    )
    lowered = recovery_steps.lambda_handler(
        {"step": "lower_risk", "recovery_id": recovery_id}, LambdaContext()
    )
    closed = recovery_steps.lambda_handler(
        {"step": "close", "recovery_id": recovery_id, "outcome": "COMPLETED"}, LambdaContext()
    )

    assert recorded == {"status": "VERIFIED"}
    assert registered == {"registered": "recovery_choice"}
    assert [call["taskToken"] for call in world.recorder.calls["SendTaskSuccess"]] == [
        "token-of-wait-for-reset-choice"
    ]
    assert reset["reset_kind"] == "password"
    assert notified["manager_notified"] is True
    assert lowered["published"] is True
    assert closed["status"] == "COMPLETED"
    actions = [r["action"] for r in audit.records_for(world.person_id) if r["action"].startswith("recovery_")]
    assert actions == [
        "recovery_started",
        "recovery_requested",
        "recovery_verified",
        "recovery_reset_chosen",
        "recovery_reset_performed",
        "recovery_notified",
        "recovery_risk_lowered",
        "recovery_closed",
    ]


def test_steps_function_rejects_unknown_step(world: World) -> None:
    recovery_steps = load_handler("recovery_steps")

    with pytest.raises(ValueError, match="step"):
        recovery_steps.lambda_handler({"step": "reset_everything", "recovery_id": "rcv-1"}, LambdaContext())


def test_recovery_table_holds_no_credential(world: World) -> None:
    recovery_id = world.choose()
    steps.perform_reset(recovery_id)
    credential = sessions_store.reveal_credential(store.get(recovery_id).session_id)

    items = boto3.resource("dynamodb").Table(os.environ["RECOVERY_TABLE"]).scan()["Items"]

    assert credential.value not in json.dumps(items, default=str)
