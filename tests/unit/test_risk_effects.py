"""hireproof.risk.effects and hireproof.risk.reverification with template.yaml's resources in moto.

The identity provider is the Okta adapter talking to FakeOkta, and the gateway is the
Cloudflare adapter talking to FakeCloudflareApi, both over HTTPS on 127.0.0.1 (the
`allow_hosts` marker lets them through pytest-socket). Step Functions is moto's, which
records executions without running them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from hireproof import audit, aws
from hireproof.access import persons
from hireproof.access.gateway_admin import reset_gateway_admin_cache
from hireproof.access.persons import AccessStatus, RiskLevel
from hireproof.errors import ConflictError, InvalidRequestError, NotFoundError, TransientError
from hireproof.identity import StagedUser
from hireproof.identity.factory import identity_provider_from_env, reset_identity_provider_cache
from hireproof.local.fakes.cloudflare_api import FakeCloudflareApi
from hireproof.local.fakes.okta import FakeOkta
from hireproof.models import Decision, OnboardingState
from hireproof.onboarding import store
from hireproof.onboarding.steps import VerificationOutcome
from hireproof.risk import effects, state
from hireproof.risk.models import RiskEvent, RiskEventKind
from hireproof.risk.reverification import ReverificationOutcome, close_reverification
from sessions_support import LambdaContext, add_onboarding, load_handler, make_hire
from template_resources import StackResources, mocked_stack

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

T0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
GROUP = "hireproof-verified"


@dataclass
class World:
    stack: StackResources
    okta: FakeOkta
    cloudflare: FakeCloudflareApi
    person_id: str
    idp_user_id: str
    work_email: str

    def access(self) -> dict[str, Any]:
        table = aws.table(os.environ["ONBOARDING_TABLE"])
        return dict(table.get_item(Key={"pk": self.person_id, "sk": "ACCESS"}, ConsistentRead=True)["Item"])

    def okta_status(self) -> str:
        return str(self.okta.users[self.idp_user_id]["status"])

    def session_revocations(self) -> int:
        return len(self.okta.calls_to("DELETE", f"/api/v1/users/{self.idp_user_id}/sessions"))

    def executions(self) -> list[dict[str, Any]]:
        sfn = aws.client("stepfunctions")
        return list(
            sfn.list_executions(stateMachineArn=os.environ["REVERIFICATION_STATE_MACHINE_ARN"])["executions"]
        )

    def audit(self, action: str) -> list[dict[str, Any]]:
        return [record for record in audit.records_for(self.person_id) if record["action"] == action]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    okta, cloudflare = FakeOkta(), FakeCloudflareApi()
    okta.start()
    cloudflare.start()
    try:
        with mocked_stack() as stack:
            yield _build(stack, okta, cloudflare, monkeypatch)
    finally:
        okta.stop()
        cloudflare.stop()
        parameters.clear_caches()
        reset_identity_provider_cache()
        reset_gateway_admin_cache()


def _build(
    stack: StackResources, okta: FakeOkta, cloudflare: FakeCloudflareApi, monkeypatch: pytest.MonkeyPatch
) -> World:
    parameters.clear_caches()
    reset_identity_provider_cache()
    reset_gateway_admin_cache()
    secrets = stack.client("secretsmanager")
    secrets.put_secret_value(
        SecretId=stack.name("IdentityProviderSecret"), SecretString=json.dumps(okta.secret_value())
    )
    secrets.put_secret_value(
        SecretId=stack.name("GatewayAdminSecret"), SecretString=json.dumps(cloudflare.secret_value())
    )
    machine = stack.client("stepfunctions").create_state_machine(
        name="hireproof-test-reverification",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/hireproof-test",
    )["stateMachineArn"]
    environment = {
        **stack.function_environment("RiskEventsFunction"),
        **stack.function_environment("CloseReverificationFunction"),
        "IDENTITY_PROVIDER": "okta",
        "IDENTITY_PROVIDER_URL": okta.base_url,
        "IDENTITY_PROVIDER_CA_BUNDLE": okta.ca_bundle_path,
        "GATEWAY_ADMIN_CA_BUNDLE": cloudflare.ca_bundle_path,
        "REVERIFICATION_STATE_MACHINE_ARN": machine,
        "ACCESS_GROUPS": json.dumps({"*": [GROUP]}),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    okta.add_group(GROUP)

    hire = make_hire()
    person_id = add_onboarding(hire)
    provider = identity_provider_from_env()
    idp_user_id = provider.stage_user(StagedUser.from_hire(hire))
    provider.activate_user(idp_user_id)
    credential = provider.issue_initial_credential(idp_user_id)
    okta.complete_activation(credential.value.get_secret_value().rsplit("/", 1)[-1])
    provider.add_to_groups(idp_user_id, [GROUP])
    okta.sign_in(idp_user_id)
    store.update_onboarding(person_id, state=OnboardingState.ACTIVE, idp_user_id=idp_user_id)
    persons.activate(
        person_id, verified_at=persons.now_iso(T0 - dt.timedelta(days=1)), residence_country="US"
    )
    return World(stack, okta, cloudflare, person_id, idp_user_id, str(hire.work_email))


def _event(event_id: str, level: RiskLevel, minutes: int = 0) -> RiskEvent:
    return RiskEvent(
        event_id=event_id,
        source="corp.siem",
        person_id="ignored",
        level=level,
        reason="impossible_travel",
        kind=RiskEventKind.IMPOSSIBLE_TRAVEL,
        event_time=T0 + dt.timedelta(minutes=minutes),
    )


def _deliver(world: World, event: RiskEvent) -> effects.RiskResponse:
    outcome = state.apply_risk_event(event, person_id=world.person_id)
    return effects.respond_to_risk(world.person_id, outcome, event)


# ----------------------------------------------------------------- execution names
def test_execution_name_is_deterministic() -> None:
    first = effects.execution_name("bamboohr-4821", "evt-1")

    assert first == effects.execution_name("bamboohr-4821", "evt-1")
    assert first != effects.execution_name("bamboohr-4821", "evt-2")
    assert first.startswith("bamboohr-4821-")


def test_execution_name_fits_step_functions_rules() -> None:
    name = effects.execution_name("generic-" + "x" * 90 + "/é", "a" * 200)

    assert 1 <= len(name) <= 80
    assert all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name)


# ----------------------------------------------------------------- respond_to_risk
def test_high_risk_suspends_revokes_and_starts(world: World) -> None:
    response = _deliver(world, _event("evt-high", RiskLevel.HIGH))

    assert response.actions == (
        "access_suspended",
        "idp_sessions_revoked",
        "gateway_sessions_revoked",
        "reverification_started",
        "security_alerted",
    )
    assert world.access()["access_status"] == "SUSPENDED"
    assert world.okta_status() == "SUSPENDED"
    assert world.okta.sessions.get(world.idp_user_id) is None
    assert world.session_revocations() == 1
    assert world.cloudflare.revocations_of(world.work_email) == 1
    [execution] = world.executions()
    assert execution["name"] == effects.execution_name(world.person_id, "evt-high")
    assert execution["executionArn"] == response.execution_arn
    assert json.loads(
        aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    ) == {"person_id": world.person_id, "event_id": "evt-high", "mode": "suspended"}
    [record] = world.audit("risk_response")
    assert record["outcome"] == "SUSPENDED"
    assert record["reasons"] == ["impossible_travel"]


def test_duplicate_delivery_repeats_nothing(world: World) -> None:
    event = _event("evt-high", RiskLevel.HIGH)
    _deliver(world, event)

    again = _deliver(world, event)

    assert again.actions == ()
    assert world.session_revocations() == 1
    assert world.cloudflare.revocations_of(world.work_email) == 1
    assert len(world.executions()) == 1
    assert len(world.audit("risk_response")) == 1


def test_duplicate_after_crash_finishes_effects(world: World) -> None:
    event = _event("evt-high", RiskLevel.HIGH)
    outcome = state.apply_risk_event(event, person_id=world.person_id)
    world.cloudflare.inject_fault(status=503, body={"success": False, "errors": []})
    with pytest.raises(TransientError, match="HTTP 503"):
        effects.respond_to_risk(world.person_id, outcome, event)

    again = _deliver(world, event)

    assert again.actions == ("gateway_sessions_revoked", "reverification_started", "security_alerted")
    assert world.session_revocations() == 1
    assert world.cloudflare.revocations_of(world.work_email) == 1


def test_second_high_event_keeps_one_reverification(world: World) -> None:
    first = _deliver(world, _event("evt-1", RiskLevel.HIGH))

    second = _deliver(world, _event("evt-2", RiskLevel.HIGH, minutes=5))

    assert "reverification_started" not in second.actions
    assert "reverification_already_running" in second.reasons
    assert second.execution_arn == first.execution_arn
    assert len(world.executions()) == 1
    # The newer signal still ends any session opened in between.
    assert world.session_revocations() == 2


def test_new_reverification_after_previous_ended(world: World) -> None:
    first = _deliver(world, _event("evt-1", RiskLevel.HIGH))
    aws.client("stepfunctions").stop_execution(executionArn=first.execution_arn)

    second = _deliver(world, _event("evt-2", RiskLevel.HIGH, minutes=5))

    assert "reverification_started" in second.actions
    assert second.execution_arn != first.execution_arn
    assert len(world.executions()) == 2


def test_low_risk_changes_no_access(world: World) -> None:
    response = _deliver(world, _event("evt-lower", RiskLevel.LOW))

    assert response.actions == ()
    assert world.access()["access_status"] == "ACTIVE"
    assert world.okta_status() == "ACTIVE"
    assert world.okta.calls_to("DELETE", "/api/v1/users") == []
    assert world.cloudflare.revocations == []
    assert world.executions() == []


def test_medium_risk_starts_step_up_without_cutting_access(world: World) -> None:
    response = _deliver(world, _event("evt-medium", RiskLevel.MEDIUM))
    again = _deliver(world, _event("evt-medium", RiskLevel.MEDIUM))

    assert response.actions == ("step_up_started",)
    assert again.actions == ()
    access = world.access()
    assert access["access_status"] == "ACTIVE"
    assert access["risk_level"] == "MEDIUM"
    assert access["step_up_required"] is True
    assert world.okta_status() == "ACTIVE"
    assert world.cloudflare.revocations == []
    [execution] = world.executions()
    assert json.loads(
        aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    ) == {"person_id": world.person_id, "event_id": "evt-medium", "mode": "step_up"}


def test_stale_high_event_does_nothing(world: World) -> None:
    _deliver(world, _event("evt-new", RiskLevel.LOW, minutes=10))

    response = _deliver(world, _event("evt-old", RiskLevel.HIGH))

    assert response.actions == ()
    assert world.access()["access_status"] == "ACTIVE"
    assert world.cloudflare.revocations == []


def test_disabled_person_is_not_suspended(world: World) -> None:
    persons.set_access_status(world.person_id, AccessStatus.DISABLED, actor="test", reason="offboarded")

    response = _deliver(world, _event("evt-high", RiskLevel.HIGH))

    assert response.actions == ()
    assert response.reasons == ("access_disabled",)
    assert world.access()["access_status"] == "DISABLED"
    assert world.cloudflare.revocations == []
    assert world.executions() == []


def test_unconfigured_gateway_is_audited(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_ADMIN_SECRET_ARN")

    response = _deliver(world, _event("evt-high", RiskLevel.HIGH))

    assert "gateway_revocation_skipped" in response.reasons
    assert world.cloudflare.revocations == []
    [record] = world.audit("risk_response")
    assert "gateway_revocation_skipped" in record["reasons"]


# ----------------------------------------------------------------- close_reverification
def _verification(world: World, decision: Decision, reasons: list[str] | None = None) -> VerificationOutcome:
    return VerificationOutcome(
        session_id=f"{world.person_id}.reverification", decision=decision, reasons=reasons or []
    )


def test_passed_reverification_restores_access(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))

    result = close_reverification(
        world.person_id,
        ReverificationOutcome.PASSED,
        event_id="evt-high",
        verification=_verification(world, Decision.PASSED),
    )

    assert result["access_status"] == "ACTIVE"
    access = world.access()
    assert (access["access_status"], access["risk_level"], access["step_up_required"]) == (
        "ACTIVE",
        "LOW",
        False,
    )
    assert world.okta_status() == "ACTIVE"
    # Restoring assigns the groups again, because some providers drop them on suspension.
    assignments = [
        call for call in world.okta.calls_to("PUT", "/api/v1/groups/") if world.idp_user_id in call.path
    ]
    assert len(assignments) == 2
    assert len(world.audit("verification_recorded")) == 1


def test_passed_reverification_of_revoked_person_is_ignored(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))
    persons.set_access_status(world.person_id, AccessStatus.DISABLED, actor="operator", reason="revoked")

    result = close_reverification(
        world.person_id,
        ReverificationOutcome.PASSED,
        event_id="evt-high",
        verification=_verification(world, Decision.PASSED),
    )

    assert result["access_status"] == "DISABLED"
    assert "access_disabled_before_pass" in result["reasons"]
    assert world.access()["access_status"] == "DISABLED"
    assert world.okta_status() == "SUSPENDED"


def test_failed_reverification_disables_once(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))
    topic_messages = _subscribe(world.stack, "SecurityAlertsTopic")
    verification = _verification(world, Decision.FAILED, ["face_mismatch"])

    close_reverification(
        world.person_id, ReverificationOutcome.FAILED, event_id="evt-high", verification=verification
    )
    close_reverification(
        world.person_id, ReverificationOutcome.FAILED, event_id="evt-high", verification=verification
    )

    assert world.access()["access_status"] == "DISABLED"
    assert world.okta_status() == "DEPROVISIONED"
    alerts = topic_messages()
    assert [(a["action"], a["reasons"]) for a in alerts] == [("reverification_failed", ["face_mismatch"])]
    assert len(world.audit("access_status_changed")) == 2  # SUSPENDED, then DISABLED once


def test_review_keeps_suspension_and_asks_reviewers(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))
    review_messages = _subscribe(world.stack, "ReviewRequestsTopic")

    close_reverification(
        world.person_id,
        ReverificationOutcome.NEEDS_REVIEW,
        event_id="evt-high",
        verification=_verification(world, Decision.NEEDS_REVIEW, ["document_expired"]),
    )

    assert world.access()["access_status"] == "SUSPENDED"
    assert review_messages() == [
        {
            "onboarding_id": world.person_id,
            "stage": "reverification",
            "reasons": ["document_expired"],
            "event_id": "evt-high",
        }
    ]


def test_system_error_alerts_and_keeps_suspension(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))
    topic_messages = _subscribe(world.stack, "SecurityAlertsTopic")

    close_reverification(
        world.person_id, ReverificationOutcome.ERROR, event_id="evt-high", error="States.TaskFailed"
    )

    assert world.access()["access_status"] == "SUSPENDED"
    assert [(a["action"], a["reasons"]) for a in topic_messages()] == [
        ("reverification_error", ["system_error_States.TaskFailed"])
    ]


def _subscribe(stack: StackResources, topic: str) -> Any:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"hireproof-test-{topic}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.client("sns").subscribe(
        TopicArn=stack.arn(topic), Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )

    def messages() -> list[dict[str, Any]]:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in batch]

    return messages


# ----------------------------------------------------------------- operator commands
def test_revoke_person_disables_and_cancels(world: World) -> None:
    started = _deliver(world, _event("evt-high", RiskLevel.HIGH))

    response = effects.revoke_person(world.person_id, actor="operator:alice", reason="confirmed_impostor")

    assert response.execution_arn == started.execution_arn
    assert "reverification_cancelled" in response.actions
    sfn = aws.client("stepfunctions")
    assert sfn.describe_execution(executionArn=started.execution_arn)["status"] == "ABORTED"
    assert world.access()["access_status"] == "DISABLED"
    assert world.access()["access_status_reason"] == "confirmed_impostor"
    assert world.okta_status() == "DEPROVISIONED"
    assert world.cloudflare.revocations_of(world.work_email) == 2
    [record] = world.audit("access_revoked")
    assert record["actor"] == "operator:alice"


def test_restore_person_requires_step_up(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))

    response = effects.restore_person(world.person_id, actor="operator:alice", reason="false_positive")

    assert response.actions == ("reverification_cancelled", "idp_account_restored", "access_active")
    access = world.access()
    assert access["access_status"] == "ACTIVE"
    # No verification was recorded: HIGH drops to MEDIUM and a step-up stays pending.
    assert access["risk_level"] == "MEDIUM"
    assert access["step_up_required"] is True
    assert world.okta_status() == "ACTIVE"
    assert world.audit("verification_recorded") == []
    assert len(world.audit("access_restored")) == 1
    assert len(world.audit("step_up_required")) == 1


def test_restore_person_drops_older_risk_events(world: World) -> None:
    _deliver(world, _event("evt-high", RiskLevel.HIGH))
    effects.restore_person(world.person_id, actor="operator:alice", reason="false_positive")

    late_event = _event("evt-late-high", RiskLevel.HIGH, minutes=1)

    late = state.apply_risk_event(late_event, person_id=world.person_id)

    assert late.status == "stale"
    assert world.access()["risk_level"] == "MEDIUM"


def test_operator_commands_reject_unknown_person(world: World) -> None:
    with pytest.raises(NotFoundError):
        effects.revoke_person("generic-nobody", actor="operator:alice", reason="test")


def test_operator_commands_reject_person_still_onboarding(world: World) -> None:
    other = add_onboarding(make_hire(employee_id="9999"))

    with pytest.raises(ConflictError):
        effects.restore_person(other, actor="operator:alice", reason="test")


# ----------------------------------------------------------------- the RiskEventsFunction handler
def _bus_event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "f3c2a8d4-0000-4000-8000-000000000001",
        "detail-type": "RiskLevelChanged",
        "source": "corp.siem",
        "account": "123456789012",
        "time": "2026-12-01T09:00:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def _detail(**subject: str) -> dict[str, Any]:
    return {"level": "HIGH", "reason": "impossible_travel", "event_time": T0.isoformat(), **subject}


def test_handler_resolves_person_by_email(world: World) -> None:
    handler = load_handler("risk_events")

    result = handler.lambda_handler(_bus_event(_detail(email=world.work_email.upper())), LambdaContext())

    assert result["status"] == "applied"
    assert result["person_id"] == world.person_id
    assert "access_suspended" in result["actions"]
    assert world.access()["access_status"] == "SUSPENDED"


def test_handler_audits_unknown_subject(world: World) -> None:
    handler = load_handler("risk_events")
    event = _bus_event(_detail(email="nobody.here@example.com"))

    result = handler.lambda_handler(event, LambdaContext())

    assert result == {"status": "unknown_subject"}
    [record] = audit.records_for(f"risk-event#{event['id']}")
    assert record["outcome"] == "unknown_subject"
    assert "nobody.here" not in repr(record)


def test_handler_ignores_person_still_onboarding(world: World) -> None:
    handler = load_handler("risk_events")
    other = add_onboarding(make_hire(employee_id="9999"))

    result = handler.lambda_handler(_bus_event(_detail(person_id=other)), LambdaContext())

    assert result == {"status": "onboarding_not_active"}
    [record] = [r for r in audit.records_for(other) if r["action"] == "risk_event_ignored"]
    assert record["outcome"] == "onboarding_not_active"
    assert world.cloudflare.revocations == []


def test_handler_raises_on_invalid_event(world: World) -> None:
    handler = load_handler("risk_events")
    event = _bus_event(_detail(person_id=world.person_id) | {"level": "SEVERE"})

    with pytest.raises(InvalidRequestError, match=r"detail\.level"):
        handler.lambda_handler(event, LambdaContext())


def test_high_risk_during_step_up_replaces_it(world: World) -> None:
    _deliver(world, _event("evt-medium", RiskLevel.MEDIUM))

    response = _deliver(world, _event("evt-high", RiskLevel.HIGH, minutes=1))

    statuses = {e["name"]: e["status"] for e in world.executions()}
    assert statuses[effects.execution_name(world.person_id, "evt-medium")] == "ABORTED"
    assert statuses[effects.execution_name(world.person_id, "evt-high")] == "RUNNING"
    assert "reverification_started" in response.actions
    assert world.access()["access_status"] == "SUSPENDED"
