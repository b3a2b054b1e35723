"""What a person's risk level does to their access, and the operator's revoke and restore commands.

`respond_to_risk` acts on the outcome of `hireproof.risk.state.apply_risk_event`:

- HIGH: access SUSPENDED, the account suspended and its sessions revoked at the identity
  provider, the gateway's sessions revoked, and a re-verification started (statemachines/
  reverification.asl.json). Each of these is an effect of `onboarding.effects.run_once` whose
  name contains the event id, so a redelivered event repeats none of them.
- MEDIUM: nothing here. The state set step_up_required, so the access decision requires a
  step-up verification.
- LOW: nothing here. A LOW event does not end a suspension; only a passed re-verification or
  an operator's `restore_person` does.

At most one re-verification runs per person. The person's partition of the onboarding table
contains `sk=REVERIFICATION` with the ARN of the latest execution; a new one starts only when
that execution has ended. The execution name is derived from the person id and the event
id, so two deliveries of one event name the same execution.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import audit, aws, events
from hireproof.access import persons
from hireproof.access.gateway_admin import NoGatewayAdmin, gateway_admin_from_env
from hireproof.access.persons import ACCESS_SK, AccessStatus, RiskLevel
from hireproof.config import require_env
from hireproof.errors import ConflictError
from hireproof.models import OnboardingState, VerificationPurpose
from hireproof.onboarding import effects
from hireproof.onboarding import store as onboarding_store
from hireproof.risk.models import ReverificationMode, RiskEvent
from hireproof.risk.state import RiskApplyOutcome

logger = Logger(child=True)

ACTOR = "risk-response"
REVERIFICATION_SK = "REVERIFICATION"
STATE_MACHINE_ENV = "REVERIFICATION_STATE_MACHINE_ARN"
# A claimed re-verification whose execution does not exist yet is being started by another
# invocation. After this long (far beyond a Lambda timeout) the claim counts as abandoned.
CLAIM_SECONDS = 900
_EXECUTION_NAME_LENGTH = 80


@dataclass(frozen=True)
class RiskResponse:
    """Result of `respond_to_risk`, `revoke_person` or `restore_person` for one person.

    `actions` lists the effects that this call performed, in order. Effects that an earlier
    delivery of the same event performed are not repeated, so they are not listed. `reasons`
    are the audit reasons, such as `gateway_revocation_skipped`.
    """

    person_id: str
    level: RiskLevel | None
    actions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    execution_arn: str | None = None


# ----------------------------------------------------------------- risk events
def respond_to_risk(person_id: str, outcome: RiskApplyOutcome, event: RiskEvent) -> RiskResponse:
    """Act on an applied risk event: HIGH suspends the person and starts a re-verification.

    A duplicate delivery finishes the effects of the first one when this event still set
    the person's current risk, because the first delivery may have stopped halfway. A stale
    event does nothing. Errors propagate, so the event is delivered again and `run_once`
    skips the effects that completed.
    """
    if event.level is RiskLevel.MEDIUM and outcome.status == "applied":
        return _start_step_up(person_id, event)
    if event.level is not RiskLevel.HIGH or not _still_current(person_id, outcome, event):
        logger.info(
            "risk event needs no response",
            extra={
                "person_id": person_id,
                "event_id": event.event_id,
                "risk_level": event.level.value,
                "apply_status": outcome.status,
            },
        )
        return RiskResponse(person_id=person_id, level=outcome.level)

    person = persons.get_person(person_id)
    if person.access_status is AccessStatus.DISABLED:
        # An operator or a failed re-verification disabled the person; nothing is left to suspend.
        audit.record(
            subject_id=person_id,
            action="risk_response",
            outcome="skipped",
            actor=ACTOR,
            reasons=[event.reason, "access_disabled"],
            details={"event_id": event.event_id},
        )
        return RiskResponse(person_id=person_id, level=event.level, reasons=("access_disabled",))
    return _suspend_for_high_risk(person_id, event)


def _still_current(person_id: str, outcome: RiskApplyOutcome, event: RiskEvent) -> bool:
    """Return whether this delivery acts: the event applied now, or applied earlier and not overtaken."""
    if outcome.status == "applied":
        return True
    if outcome.status != "duplicate":
        return False
    # The ACCESS item names the event that set its level. A passed verification resets the
    # level to LOW but keeps that id, so the level is checked as well.
    access = _access_item(person_id)
    return access.get("risk_event_id") == event.event_id and access.get("risk_level") == RiskLevel.HIGH.value


def _start_step_up(person_id: str, event: RiskEvent) -> RiskResponse:
    """Send the person a step-up verification link; access is not cut meanwhile.

    The access decision denies with `step_up_required` until the step-up passes. A failed
    step-up disables the account like a failed re-verification.
    """
    person = persons.get_person(person_id)
    if person.access_status is not AccessStatus.ACTIVE or not person.step_up_required:
        return RiskResponse(person_id=person_id, level=event.level)
    started = effects.run_once(
        person_id,
        _effect_name(event.event_id, "step_up_started"),
        lambda: start_reverification(person_id, event.event_id, mode=ReverificationMode.STEP_UP),
    )
    actions = ("step_up_started",) if started.performed and started.result.get("started") else ()
    reasons: tuple[str, ...] = (event.reason,)
    if not started.result.get("started"):
        reasons = (event.reason, "reverification_already_running")
    logger.info(
        "step-up verification requested",
        extra={"person_id": person_id, "event_id": event.event_id, "actions": list(actions)},
    )
    return RiskResponse(
        person_id=person_id,
        level=event.level,
        actions=actions,
        reasons=reasons,
        execution_arn=str(started.result.get("execution_arn") or "") or None,
    )


def _access_item(person_id: str) -> dict[str, Any]:
    table = aws.table(require_env("ONBOARDING_TABLE"))
    item = table.get_item(Key={"pk": person_id, "sk": ACCESS_SK}, ConsistentRead=True).get("Item")
    return dict(item or {})


def _effect_name(event_id: str, name: str) -> str:
    return f"risk#{event_id}#{name}"


def _suspend_for_high_risk(person_id: str, event: RiskEvent) -> RiskResponse:
    record = onboarding_store.get_onboarding(person_id)
    work_email = str(onboarding_store.get_hire(person_id).work_email)
    actions: list[str] = []
    reasons: list[str] = [event.reason]

    # The status comes first: the access decision denies a SUSPENDED person at once, while the
    # calls to the identity provider and the gateway may still fail and be retried.
    suspended = effects.run_once(
        person_id,
        _effect_name(event.event_id, "access_suspended"),
        lambda: _set_status(person_id, AccessStatus.SUSPENDED, event.reason),
    )
    if suspended.performed:
        actions.append("access_suspended")

    idp = effects.run_once(
        person_id,
        _effect_name(event.event_id, "idp_sessions_revoked"),
        lambda: _suspend_at_identity_provider(record.get("idp_user_id")),
    )
    if idp.performed:
        actions.append("idp_sessions_revoked")
    reasons.extend(idp.result.get("reasons", []))

    gateway = effects.run_once(
        person_id,
        _effect_name(event.event_id, "gateway_sessions_revoked"),
        lambda: revoke_gateway_sessions(work_email),
    )
    if gateway.performed:
        actions.append("gateway_sessions_revoked")
    reasons.extend(gateway.result.get("reasons", []))

    started = effects.run_once(
        person_id,
        _effect_name(event.event_id, "reverification_started"),
        lambda: start_reverification(person_id, event.event_id),
    )
    if started.performed and started.result.get("started"):
        actions.append("reverification_started")
    if not started.result.get("started"):
        reasons.append("reverification_already_running")
    execution_arn = str(started.result.get("execution_arn") or "") or None

    reasons = list(dict.fromkeys(reasons))

    def alert() -> dict[str, Any]:
        events.security_alert(subject_id=person_id, action="access_suspended_high_risk", reasons=reasons)
        return {"reasons": reasons}

    if effects.run_once(person_id, _effect_name(event.event_id, "security_alert"), alert).performed:
        actions.append("security_alerted")
    effects.run_once(
        person_id,
        _effect_name(event.event_id, "response_audited"),
        lambda: _audit_response(person_id, event, reasons, execution_arn),
    )
    logger.info(
        "high risk response finished",
        extra={"person_id": person_id, "event_id": event.event_id, "actions": actions, "reasons": reasons},
    )
    return RiskResponse(
        person_id=person_id,
        level=event.level,
        actions=tuple(actions),
        reasons=tuple(reasons),
        execution_arn=execution_arn,
    )


def _set_status(person_id: str, status: AccessStatus, reason: str) -> dict[str, Any]:
    persons.set_access_status(person_id, status, actor=ACTOR, reason=reason)
    return {"access_status": status.value}


def _suspend_at_identity_provider(idp_user_id: object) -> dict[str, Any]:
    """Suspend the account, then end its sessions, so that no new session starts in between."""
    from hireproof.identity.factory import identity_provider_from_env

    if not idp_user_id:
        return {"reasons": ["no_idp_account"]}
    provider = identity_provider_from_env()
    provider.suspend_user(str(idp_user_id))
    provider.revoke_sessions(str(idp_user_id))
    reasons = [] if provider.capabilities.revokes_sessions else ["idp_sessions_not_revocable"]
    return {"idp_user_id": str(idp_user_id), "provider": provider.name, "reasons": reasons}


def revoke_gateway_sessions(work_email: str) -> dict[str, Any]:
    """Revoke the person's gateway sessions; reason `gateway_revocation_skipped` without a gateway."""
    admin = gateway_admin_from_env()
    admin.revoke_user(work_email)
    if isinstance(admin, NoGatewayAdmin):
        return {"gateway": admin.name, "reasons": ["gateway_revocation_skipped"]}
    return {"gateway": admin.name, "reasons": []}


def _audit_response(
    person_id: str, event: RiskEvent, reasons: list[str], execution_arn: str | None
) -> dict[str, Any]:
    audit.record(
        subject_id=person_id,
        action="risk_response",
        outcome=AccessStatus.SUSPENDED.value,
        actor=ACTOR,
        reasons=reasons,
        details={
            "event_id": event.event_id,
            "risk_level": event.level.value,
            "execution_arn": execution_arn,
        },
    )
    return {"reasons": reasons}


def record_unknown_subject(event: RiskEvent) -> None:
    """Audit a risk event whose subject has no onboarding in HireProof, under the event's id."""
    audit.record(
        subject_id=f"risk-event#{event.event_id}",
        action="risk_event_ignored",
        outcome="unknown_subject",
        actor=event.source[:200],
        reasons=["unknown_subject", event.reason],
        details={
            "event_id": event.event_id,
            "risk_level": event.level.value,
            "kind": event.kind.value,
            "subject": "person_id" if event.person_id is not None else "email",
        },
    )
    logger.info("risk event about an unknown subject", extra={"event_id": event.event_id})


def record_inactive_subject(event: RiskEvent, person_id: str, onboarding_state: str) -> None:
    """Audit a risk event about a person whose onboarding has not made them ACTIVE."""
    audit.record(
        subject_id=person_id,
        action="risk_event_ignored",
        outcome="onboarding_not_active",
        actor=event.source[:200],
        reasons=["onboarding_not_active", event.reason],
        details={
            "event_id": event.event_id,
            "risk_level": event.level.value,
            "onboarding_state": onboarding_state,
        },
    )
    logger.info(
        "risk event about a person still onboarding",
        extra={"person_id": person_id, "event_id": event.event_id, "onboarding_state": onboarding_state},
    )


# ----------------------------------------------------------------- the re-verification execution
def execution_name(person_id: str, event_id: str) -> str:
    """Return the re-verification execution name for one person and event: deterministic, 1-80 characters.

    Step Functions names allow letters, digits, '-' and '_'. The person id is kept readable
    and a SHA-256 of both ids keeps names unique after truncation.
    """
    digest = hashlib.sha256(f"{person_id}\0{event_id}".encode()).hexdigest()[:24]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in person_id)
    return f"{safe[: _EXECUTION_NAME_LENGTH - len(digest) - 1]}-{digest}"


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def _claim_item(person_id: str) -> dict[str, Any] | None:
    item = _table().get_item(Key={"pk": person_id, "sk": REVERIFICATION_SK}, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def running_reverification(person_id: str) -> str | None:
    """Return the ARN of the person's running (or just claimed) re-verification, or None."""
    claim = _claim_item(person_id)
    if claim is None:
        return None
    arn = str(claim["execution_arn"])
    try:
        status = aws.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
            raise
        fresh = time.time() - float(claim.get("claimed_at", 0)) < CLAIM_SECONDS
        return arn if fresh else None
    return arn if status == "RUNNING" else None


def start_reverification(
    person_id: str, event_id: str, *, mode: ReverificationMode = ReverificationMode.SUSPENDED
) -> dict[str, Any]:
    """Start the person's re-verification for this event, unless another one is running.

    Returns `{"execution_arn", "started"}`; `started` is False when another execution runs,
    whose ARN is returned. A second call for the same event finds its own execution and
    returns it as started.
    """
    state_machine_arn = require_env(STATE_MACHINE_ENV)
    name = execution_name(person_id, event_id)
    arn = _execution_arn(state_machine_arn, name)

    claim = _claim_item(person_id)
    running = running_reverification(person_id)
    escalating = (
        running is not None
        and running != arn
        and claim is not None
        and claim.get("mode") == ReverificationMode.STEP_UP.value
        and mode is ReverificationMode.SUSPENDED
    )
    if escalating:
        # A step-up that expires leaves access alone, which would strand a suspended person;
        # the suspended re-verification replaces it.
        cancel_reverification(person_id, cause="risk rose to HIGH during a step-up")
        running = None
    if running is not None and running != arn:
        logger.info(
            "re-verification already running", extra={"person_id": person_id, "execution_arn": running}
        )
        return {"execution_arn": running, "started": False}

    condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    if claim is not None:
        condition = {
            "ConditionExpression": "execution_arn = :previous",
            "ExpressionAttributeValues": {":previous": claim["execution_arn"]},
        }
    try:
        _table().put_item(
            Item={
                "pk": person_id,
                "sk": REVERIFICATION_SK,
                "execution_arn": arn,
                "event_id": event_id,
                "mode": mode.value,
                "claimed_at": int(time.time()),
            },
            **condition,
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # Another event claimed the person between the read and the write.
        other = _claim_item(person_id)
        other_arn = str(other["execution_arn"]) if other else arn
        if other_arn != arn:
            return {"execution_arn": other_arn, "started": False}

    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps({"person_id": person_id, "event_id": event_id, "mode": mode.value}),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        logger.info(
            "re-verification was started before", extra={"person_id": person_id, "execution_arn": arn}
        )
    logger.info("re-verification started", extra={"person_id": person_id, "execution_arn": arn})
    return {"execution_arn": arn, "started": True}


def cancel_reverification(person_id: str, *, cause: str) -> str | None:
    """Stop the person's running re-verification and cancel its link; return the stopped ARN.

    An operator's decision replaces the re-verification, so a later pass cannot restore a
    revoked person and a later failure cannot disable a restored one.
    """
    from hireproof.sessions.models import SessionStatus, session_id_for
    from hireproof.sessions.store import close

    arn = running_reverification(person_id)
    if arn is not None:
        try:
            aws.client("stepfunctions").stop_execution(
                executionArn=arn, error="ReverificationCancelled", cause=cause[:256]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
        logger.info("re-verification cancelled", extra={"person_id": person_id, "execution_arn": arn})
    close(session_id_for(person_id, VerificationPurpose.REVERIFICATION), SessionStatus.CANCELLED)
    return arn


# ----------------------------------------------------------------- operator commands
def _require_active_onboarding(person_id: str) -> persons.Person:
    person = persons.get_person(person_id)
    if person.onboarding_state != OnboardingState.ACTIVE.value:
        raise ConflictError(
            f"person {person_id} has no access to change: the onboarding is {person.onboarding_state}",
            field="person_id",
        )
    return person


def revoke_person(person_id: str, *, actor: str, reason: str) -> RiskResponse:
    """Revoke a person for good: access DISABLED, the account disabled and its sessions revoked.

    Stops a running re-verification first. Every step is safe to repeat, so a failed command
    can be run again. Raises NotFoundError for an unknown person and ConflictError for a
    person whose onboarding is not ACTIVE.
    """
    from hireproof.identity.factory import identity_provider_from_env

    _require_active_onboarding(person_id)
    persons.set_access_status(person_id, AccessStatus.DISABLED, actor=actor, reason=reason)
    reasons = [reason]
    cancelled = cancel_reverification(person_id, cause="access revoked by an operator")

    idp_user_id = onboarding_store.get_onboarding(person_id).get("idp_user_id")
    if idp_user_id:
        provider = identity_provider_from_env()
        provider.disable_user(str(idp_user_id))
        provider.revoke_sessions(str(idp_user_id))
        if not provider.capabilities.revokes_sessions:
            reasons.append("idp_sessions_not_revocable")
    else:
        reasons.append("no_idp_account")
    gateway = revoke_gateway_sessions(str(onboarding_store.get_hire(person_id).work_email))
    reasons.extend(gateway["reasons"])

    actions = ["access_disabled", *(["reverification_cancelled"] if cancelled else [])]
    if idp_user_id:
        actions.append("idp_account_disabled")
    actions.append("gateway_sessions_revoked")
    return _operator_response(
        person_id, "access_revoked", AccessStatus.DISABLED, actor, reasons, actions, cancelled
    )


def _operator_response(
    person_id: str,
    action: str,
    status: AccessStatus,
    actor: str,
    reasons: list[str],
    actions: list[str],
    cancelled: str | None,
) -> RiskResponse:
    """Audit an operator's revoke or restore and build its response."""
    audit.record(
        subject_id=person_id,
        action=action,
        outcome=status.value,
        actor=actor,
        reasons=reasons,
        details={"reverification_cancelled": cancelled},
    )
    logger.info("operator changed access", extra={"person_id": person_id, "action": action})
    return RiskResponse(
        person_id=person_id,
        level=None,
        actions=tuple(actions),
        reasons=tuple(reasons),
        execution_arn=cancelled,
    )


def restore_person(person_id: str, *, actor: str, reason: str) -> RiskResponse:
    """Restore a suspended or revoked person: the account restored with its groups, access ACTIVE.

    The person must still pass a step-up verification before the gateway lets them in: HIGH
    risk drops to MEDIUM and a step-up is required (`persons.require_step_up`). Stops a
    running re-verification first.
    Raises NotFoundError for an unknown person and ConflictError for a person whose
    onboarding is not ACTIVE.
    """
    from hireproof.identity.factory import identity_provider_from_env
    from hireproof.onboarding.steps import access_groups

    _require_active_onboarding(person_id)
    cancelled = cancel_reverification(person_id, cause="access restored by an operator")
    idp_user_id = onboarding_store.get_onboarding(person_id).get("idp_user_id")
    reasons = [reason]
    if idp_user_id:
        provider = identity_provider_from_env()
        provider.restore_user(str(idp_user_id))
        # Suspension may have removed the memberships (IAM Identity Center does).
        provider.add_to_groups(
            str(idp_user_id), access_groups(onboarding_store.get_hire(person_id).department)
        )
    else:
        reasons.append("no_idp_account")
    persons.set_access_status(person_id, AccessStatus.ACTIVE, actor=actor, reason=reason)
    # Fail closed: the restored person gets in only after passing a fresh verification.
    persons.require_step_up(person_id, actor=actor, reason="restored_by_operator")

    actions = [*(["reverification_cancelled"] if cancelled else [])]
    if idp_user_id:
        actions.append("idp_account_restored")
    actions.append("access_active")
    return _operator_response(
        person_id, "access_restored", AccessStatus.ACTIVE, actor, reasons, actions, cancelled
    )
