"""Shared setup for the recovery tests: template.yaml's tables in moto, an ACTIVE person, decisions.

`recovery_stack()` is `sessions_stack()` plus the recovery table's environment and a
placeholder recovery state machine, whose executions moto records without running them.
`active_person()` stores a hire whose onboarding ended ACTIVE, as the onboarding workflow
leaves it. `decide()` writes a verification decision to a session the way the verification
API's submit does, without running an engine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from hireproof.access import persons
from hireproof.models import Decision, Hire, OnboardingState
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import store as sessions_store
from hireproof.sessions.models import DecisionRecord, Session
from sessions_support import add_onboarding, make_hire, sessions_stack
from template_resources import StackResources

PLACEHOLDER_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
SOURCE_IP = "198.51.100.23"


@contextmanager
def recovery_stack(*, provider: str = "okta") -> Iterator[StackResources]:
    """Start moto with the template's resources and the recovery functions' environment."""
    with sessions_stack() as stack:
        machine = stack.client("stepfunctions").create_state_machine(
            name="hireproof-test-recovery",
            definition=json.dumps(PLACEHOLDER_MACHINE),
            roleArn="arn:aws:iam::123456789012:role/hireproof-test",
        )["stateMachineArn"]
        os.environ.update(
            {
                "RECOVERY_TABLE": stack.name("RecoveryTable"),
                "RECOVERY_STATE_MACHINE_ARN": machine,
                "RECOVERY_MAX_VERIFICATION_AGE_SECONDS": "300",
                "IDENTITY_PROVIDER": provider,
                "SECURITY_ALERTS_TOPIC_ARN": stack.name("SecurityAlertsTopic"),
                "STARTS_PER_PERSON_PER_HOUR": "5",
                "STARTS_PER_SOURCE_PER_HOUR": "20",
            }
        )
        yield stack


def active_person(
    *, employee_id: str = "4821", idp_user_id: str | None = "00u-test-user", **changes: Any
) -> tuple[str, Hire]:
    """Store an ACTIVE person with ACTIVE access and LOW risk; return the person id and hire."""
    hire = make_hire(employee_id=employee_id, **changes)
    person_id = add_onboarding(hire)
    attributes: dict[str, Any] = {"state": OnboardingState.ACTIVE}
    if idp_user_id:
        attributes["idp_user_id"] = idp_user_id
    onboarding_store.update_onboarding(person_id, **attributes)
    persons.activate(person_id, verified_at=persons.now_iso(), residence_country="US")
    return person_id, hire


def decide(
    session_id: str, decision: Decision, *, age_seconds: int = 0, reasons: list[str] | None = None
) -> Session:
    """Record a decision on an open session; `age_seconds` moves decided_at into the past."""
    session = sessions_store.get_session(session_id)
    record = DecisionRecord(decision=decision, reasons=reasons or [], scores={})
    decided, recorded = sessions_store.record_decision(session, record)
    assert recorded, f"session {session_id} was decided already"
    if age_seconds:
        boto3.resource("dynamodb").Table(os.environ["VERIFICATION_TABLE"]).update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET decided_at = decided_at - :age",
            ExpressionAttributeValues={":age": age_seconds},
        )
        decided = sessions_store.get_session(session_id)
    return decided
