"""The steps of statemachines/recovery.asl.json after the verification.

- Record Verification: the recovery becomes VERIFIED (or stays RESET_CHOSEN when the
  choice came first);
- Perform Reset: the identity provider resets the password or the MFA factors and ends the
  user's sessions where it can. The one-time credential is stored on the session for a
  single reveal to the verified person, and the recovery becomes RESET_DONE;
- Notify And Raise Risk: the manager gets an e-mail, security gets an alert, and a MEDIUM
  RiskEvent (version 0, event_time the reset time) goes on the bus;
- Lower Risk, after RecoveryRiskHoldSeconds: a LOW RiskEvent with the same event_time and
  version 1, which supersedes the raise and nothing newer (`hireproof.risk.state` orders
  events by event_time, then version). A risk that was above LOW before the reset stays;
- Close: COMPLETED, FAILED (an impostor: one security alert, nothing reset), NEEDS_REVIEW
  (nothing reset), EXPIRED (the link stops working) or ERROR (security alert).

Every effect runs once per recovery (`onboarding.effects.run_once`, names
`recovery#<recovery id>#<effect>`), so a retried or duplicated step repeats none of them.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import audit, aws, events
from hireproof.access import persons
from hireproof.access.persons import RiskLevel
from hireproof.config import require_env
from hireproof.errors import ConflictError
from hireproof.models import Decision
from hireproof.onboarding import effects
from hireproof.onboarding import store as onboarding_store
from hireproof.onboarding.steps import VerificationOutcome
from hireproof.recovery import notices, store
from hireproof.recovery.models import (
    Recovery,
    RecoveryOutcome,
    RecoveryStatus,
    ResetKind,
)
from hireproof.risk.bus import publish_risk_event
from hireproof.risk.models import RiskEvent, RiskEventKind
from hireproof.risk.state import RISK_EVENT_SK_PREFIX
from hireproof.sessions import evidence
from hireproof.sessions import store as sessions_store
from hireproof.sessions.interactive import eligible
from hireproof.sessions.models import SessionStatus

logger = Logger(child=True)

ACTOR = "recovery-workflow"
RISK_SOURCE = "hireproof.recovery"
RISK_REASON = "credential_reset"
# hireproof.risk.state marks an event it applied with this status on its RISKEVENT# item.
_APPLIED_MARKER = "APPLIED"


def effect_name(recovery_id: str, name: str) -> str:
    """Return the exactly-once effect name of one step of one recovery."""
    return f"recovery#{recovery_id}#{name}"


# ----------------------------------------------------------------- Record Verification
def record_verification(recovery_id: str) -> dict[str, Any]:
    """Mark the recovery VERIFIED after a PASSED decision; a choice made already is kept."""
    recovery = store.get(recovery_id)
    session = sessions_store.get_session(recovery.session_id)
    if session.decision is not Decision.PASSED:
        raise ConflictError(
            f"recovery {recovery_id}: session {session.session_id} did not pass, so it cannot be recorded "
            "as verified",
            field="recovery_id",
        )
    # The verification API deletes the images after its decision; this is the backstop.
    evidence.delete_all(session.session_id)
    attributes = {"decision": Decision.PASSED.value, "decided_at": session.decided_at}

    def record() -> dict[str, Any]:
        try:
            store.transition(recovery_id, RecoveryStatus.VERIFIED, attributes)
        except ConflictError:
            if store.get(recovery_id).status is not RecoveryStatus.RESET_CHOSEN:
                raise
            store.annotate(recovery_id, attributes)
        audit.record(
            subject_id=recovery.person_id,
            action="recovery_verified",
            outcome=Decision.PASSED.value,
            actor=ACTOR,
            details={"recovery_id": recovery_id, "session_id": session.session_id},
        )
        return {"decided_at": session.decided_at}

    effects.run_once(recovery.person_id, effect_name(recovery_id, "verified"), record)
    return {"status": store.get(recovery_id).status.value}


# ----------------------------------------------------------------- Perform Reset
def perform_reset(recovery_id: str) -> dict[str, Any]:
    """Reset the chosen factor at the identity provider and store the credential for its reveal.

    A repeated call, even after the recovery ended, returns the first reset's result and
    resets nothing. Raises ConflictError when no reset was chosen, when the person is no
    longer eligible (suspended or disabled since the choice: nothing is reset), or when the
    person has no account at the identity provider.
    """
    from hireproof.identity.factory import identity_provider_from_env

    recovery = store.get(recovery_id)
    person_id = recovery.person_id
    kind = recovery.reset_kind
    already_reset = effects.is_done(person_id, effect_name(recovery_id, "reset"))
    if kind is None or (recovery.status is not RecoveryStatus.RESET_CHOSEN and not already_reset):
        raise ConflictError(
            f"recovery {recovery_id} is {recovery.status.value} without a chosen reset", field="recovery_id"
        )
    if not already_reset and not eligible(persons.get_person(person_id)):
        raise ConflictError(
            f"person {person_id} lost eligibility after choosing a reset; nothing was reset",
            field="person_id",
        )
    idp_user_id = onboarding_store.get_onboarding(person_id).get("idp_user_id")
    if not idp_user_id:
        raise ConflictError(
            f"person {person_id} has no identity provider account to reset", field="person_id"
        )

    def reset() -> dict[str, Any]:
        provider = identity_provider_from_env()
        if kind is ResetKind.PASSWORD:
            credential = provider.issue_password_reset(str(idp_user_id))
        else:
            credential = provider.reset_mfa(str(idp_user_id))
        # A reset after a suspected takeover must also end the sessions the old factors opened.
        revoked = provider.capabilities.revokes_sessions
        if revoked:
            provider.revoke_sessions(str(idp_user_id))
        # Stored last, so the verified person gets a credential only after every call before it succeeded.
        sessions_store.store_credential(
            recovery.session_id, credential.kind.value, credential.value, credential.expires_at
        )
        return {
            "idp_user_id": str(idp_user_id),
            "provider": provider.name,
            "credential_kind": credential.kind.value,
            "sessions_revoked": revoked,
            "reset_at": int(time.time()),
        }

    outcome = effects.run_once(person_id, effect_name(recovery_id, "reset"), reset)
    result = outcome.result
    reset_at = int(result["reset_at"])

    def record() -> dict[str, Any]:
        store.transition(recovery_id, RecoveryStatus.RESET_DONE, {"reset_at": reset_at})
        audit.record(
            subject_id=person_id,
            action="recovery_reset_performed",
            outcome=kind.value,
            actor=ACTOR,
            details={
                "recovery_id": recovery_id,
                "session_id": recovery.session_id,
                "provider": str(result["provider"]),
                "credential_kind": str(result["credential_kind"]),
                "sessions_revoked": bool(result["sessions_revoked"]),
            },
        )
        return {"reset_at": reset_at}

    effects.run_once(person_id, effect_name(recovery_id, "reset_recorded"), record)
    logger.info(
        "recovery reset performed",
        extra={"recovery_id": recovery_id, "person_id": person_id, "reset_kind": kind.value},
    )
    return {"reset_kind": kind.value, "reset_at": reset_at, "performed": outcome.performed}


# ----------------------------------------------------------------- Notify And Raise Risk
def _reset_time(recovery: Recovery) -> dt.datetime:
    if recovery.reset_at is None:
        raise ConflictError(f"recovery {recovery.recovery_id} has no reset time; nothing was reset")
    return dt.datetime.fromtimestamp(recovery.reset_at, dt.UTC)


def _risk_event(recovery: Recovery, level: RiskLevel, version: int) -> RiskEvent:
    suffix = "raise" if version == 0 else "lower"
    return RiskEvent(
        event_id=f"{recovery.recovery_id}-{suffix}",
        source=RISK_SOURCE,
        person_id=recovery.person_id,
        level=level,
        reason=RISK_REASON,
        kind=RiskEventKind.CREDENTIAL_CHANGE,
        event_time=_reset_time(recovery),
        version=version,
    )


def notify_and_raise_risk(recovery_id: str) -> dict[str, Any]:
    """Tell the manager and security about the reset, and raise the person's risk to MEDIUM."""
    recovery = store.get(recovery_id)
    if recovery.status is not RecoveryStatus.RESET_DONE or recovery.reset_kind is None:
        raise ConflictError(f"recovery {recovery_id} is {recovery.status.value}, not RESET_DONE")
    person_id = recovery.person_id
    kind = recovery.reset_kind
    reset_time = _reset_time(recovery)
    hire = onboarding_store.get_hire(person_id)

    manager = effects.run_once(
        person_id,
        effect_name(recovery_id, "manager_notified"),
        lambda: notices.notify_manager(
            hire, kind=kind, channel=recovery.channel, reset_at=reset_time, session_id=recovery.session_id
        ),
    ).result
    reasons = [f"reset_{kind.value}", f"channel_{recovery.channel.value}"]

    def alert() -> dict[str, Any]:
        events.security_alert(subject_id=person_id, action="credential_reset", reasons=reasons)
        return {"reasons": reasons}

    effects.run_once(person_id, effect_name(recovery_id, "security_alert"), alert)
    raise_event = _risk_event(recovery, RiskLevel.MEDIUM, 0)

    def raise_risk() -> dict[str, Any]:
        publish_risk_event(raise_event)
        return {"event_id": raise_event.event_id}

    effects.run_once(person_id, effect_name(recovery_id, "risk_raised"), raise_risk)

    def record() -> dict[str, Any]:
        audit.record(
            subject_id=person_id,
            action="recovery_notified",
            outcome="sent" if manager.get("sent") else "manager_not_notified",
            actor=ACTOR,
            reasons=[] if manager.get("sent") else [str(manager.get("reason", "unknown"))],
            details={
                "recovery_id": recovery_id,
                "security_alert": "credential_reset",
                "risk_event_id": raise_event.event_id,
                "risk_level": RiskLevel.MEDIUM.value,
            },
        )
        return {}

    effects.run_once(person_id, effect_name(recovery_id, "notified_recorded"), record)
    return {"manager_notified": bool(manager.get("sent")), "risk_event_id": raise_event.event_id}


# ----------------------------------------------------------------- Lower Risk
def _level_before(person_id: str, event_id: str) -> RiskLevel | None:
    """Return the risk level the raise replaced, once `hireproof.risk.state` has applied it."""
    table = aws.table(require_env("ONBOARDING_TABLE"))
    marker = table.get_item(
        Key={"pk": person_id, "sk": f"{RISK_EVENT_SK_PREFIX}{event_id}"}, ConsistentRead=True
    ).get("Item")
    if not marker or marker.get("status") != _APPLIED_MARKER:
        return None
    return RiskLevel(str(marker["previous_level"]))


def lower_risk(recovery_id: str) -> dict[str, Any]:
    """Publish the LOW event that ends the hold, unless the risk was above LOW before the reset.

    A raise not applied yet (EventBridge delivers late) does not stop the LOW event: with
    the same event_time and a higher version, the late raise then arrives stale.
    """
    recovery = store.get(recovery_id)
    raise_event = _risk_event(recovery, RiskLevel.MEDIUM, 0)
    # NOTE: when the raise is not applied yet, the level before it is unknown. The LOW event
    # then goes out and also ends a MEDIUM from another source that is older than the reset.
    before = _level_before(recovery.person_id, raise_event.event_id)
    lower_event = _risk_event(recovery, RiskLevel.LOW, 1)
    details: dict[str, audit.AuditValue] = {"recovery_id": recovery_id, "risk_event_id": lower_event.event_id}

    def lower() -> dict[str, Any]:
        if before is not None and before is not RiskLevel.LOW:
            # Another source had raised the risk before the reset, and its step-up still applies.
            reason = "risk_elevated_before_reset"
            audit.record(
                subject_id=recovery.person_id,
                action="recovery_risk_kept",
                outcome=before.value,
                actor=ACTOR,
                reasons=[reason],
                details=details,
            )
            return {"published": False, "reason": reason, "previous_level": before.value}
        publish_risk_event(lower_event)
        audit.record(
            subject_id=recovery.person_id,
            action="recovery_risk_lowered",
            outcome=RiskLevel.LOW.value,
            actor=ACTOR,
            details=details,
        )
        return {"published": True, "event_id": lower_event.event_id}

    return effects.run_once(recovery.person_id, effect_name(recovery_id, "risk_lowered"), lower).result


# ----------------------------------------------------------------- Close
_TARGET = {
    RecoveryOutcome.COMPLETED: RecoveryStatus.COMPLETED,
    RecoveryOutcome.FAILED: RecoveryStatus.FAILED,
    RecoveryOutcome.NEEDS_REVIEW: RecoveryStatus.NEEDS_REVIEW,
    RecoveryOutcome.EXPIRED: RecoveryStatus.EXPIRED,
    RecoveryOutcome.ERROR: RecoveryStatus.ERROR,
}


def close_recovery(
    recovery_id: str,
    outcome: RecoveryOutcome,
    *,
    verification: VerificationOutcome | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """End a recovery in the status its outcome calls for, with its alert and audit record."""
    recovery = store.get(recovery_id)
    person_id = recovery.person_id
    reasons = list(verification.reasons) if verification is not None else []
    if verification is not None:
        evidence.delete_all(recovery.session_id)

    if outcome is RecoveryOutcome.EXPIRED:
        reasons = [
            "verification_not_completed" if recovery.status is RecoveryStatus.STARTED else "reset_not_chosen"
        ]
        sessions_store.close(recovery.session_id, SessionStatus.EXPIRED)
    elif outcome is RecoveryOutcome.ERROR:
        reasons = [f"system_error_{error or 'unknown'}"]
        sessions_store.close(recovery.session_id, SessionStatus.CANCELLED)

    attributes: dict[str, Any] = {"close_reasons": reasons}
    if verification is not None:
        attributes["decision"] = verification.decision.value
    try:
        closed, _ = store.transition(recovery_id, _TARGET[outcome], attributes)
    except ConflictError:
        if outcome is not RecoveryOutcome.ERROR:
            raise
        # A system error after the recovery ended changes nothing but is still reported.
        closed = store.get(recovery_id)
        logger.warning(
            "recovery error after its end", extra={"recovery_id": recovery_id, "status": closed.status}
        )

    if outcome is RecoveryOutcome.FAILED:
        # A real person's record failed to match: an impostor, or a person who lost eligibility.
        _alert_once(recovery, "recovery_verification_failed", reasons)
    elif outcome is RecoveryOutcome.ERROR:
        _alert_once(recovery, "recovery_error", reasons)

    def record() -> dict[str, Any]:
        audit.record(
            subject_id=person_id,
            action="recovery_closed",
            outcome=outcome.value,
            actor=ACTOR,
            reasons=reasons,
            details={
                "recovery_id": recovery_id,
                "session_id": recovery.session_id,
                "channel": recovery.channel.value,
                "status": closed.status.value,
                "reset_kind": recovery.reset_kind.value if recovery.reset_kind else None,
            },
        )
        return {}

    effects.run_once(person_id, effect_name(recovery_id, "closed"), record)
    logger.info(
        "recovery closed",
        extra={"recovery_id": recovery_id, "person_id": person_id, "outcome": outcome.value},
    )
    return {"outcome": outcome.value, "status": closed.status.value, "reasons": reasons}


def _alert_once(recovery: Recovery, action: str, reasons: list[str]) -> None:
    def alert() -> dict[str, Any]:
        events.security_alert(subject_id=recovery.person_id, action=action, reasons=reasons)
        return {"reasons": reasons}

    effects.run_once(recovery.person_id, effect_name(recovery.recovery_id, "close_alert"), alert)
