"""The re-verification's end steps (statemachines/reverification.asl.json).

A person suspended for high risk verifies again through the ordinary verification page, in a
session of purpose REVERIFICATION. The workflow ends in one of these outcomes:

- PASSED: the account is restored at the identity provider with its groups, then
  `persons.record_verification` sets access ACTIVE, risk LOW and no step-up;
- FAILED or EXPIRED (no decision in time): the account is disabled and its sessions revoked,
  access DISABLED, and security gets one alert;
- a step-up (mode step_up, started by MEDIUM risk) that expires: the link stops working, and
  the step-up stays pending. Access is neither suspended nor disabled.
- NEEDS_REVIEW: access stays as it is (SUSPENDED, or ACTIVE with a step-up pending) and the
  reviewers' topic gets a request. A reviewer
  then restores or revokes the person with the operator commands of `hireproof.risk.effects`;
- ERROR: a step failed after its retries; access stays SUSPENDED and security gets an alert.

Effects run once per re-verification: their names contain the id of the risk event that
started it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import audit, aws, events
from hireproof.access import persons
from hireproof.access.persons import AccessStatus
from hireproof.config import require_env
from hireproof.models import VerificationPurpose
from hireproof.onboarding import effects
from hireproof.onboarding import store as onboarding_store
from hireproof.onboarding.steps import VerificationOutcome, access_groups
from hireproof.risk.models import ReverificationMode
from hireproof.sessions import evidence
from hireproof.sessions.models import SessionStatus, session_id_for

logger = Logger(child=True)

ACTOR = "reverification-workflow"


class ReverificationOutcome(StrEnum):
    """End of a re-verification, one per end state of the workflow."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    EXPIRED = "EXPIRED"
    ERROR = "ERROR"


def _effect_name(event_id: str, name: str) -> str:
    return f"reverification#{event_id}#{name}"


def close_reverification(
    person_id: str,
    outcome: ReverificationOutcome,
    *,
    event_id: str,
    verification: VerificationOutcome | None = None,
    error: str | None = None,
    mode: ReverificationMode = ReverificationMode.SUSPENDED,
) -> dict[str, Any]:
    """Bring the person's access to the state that the re-verification's outcome calls for.

    A step-up that is not completed in time only expires its link: the person keeps access to
    what does not need a step-up, and the next access decision still requires one.
    """
    session_id = session_id_for(person_id, VerificationPurpose.REVERIFICATION)
    reasons = list(verification.reasons) if verification is not None else []
    if verification is not None:
        # The verification API deletes the images after its decision; this is the backstop.
        evidence.delete_all(verification.session_id)

    if outcome is ReverificationOutcome.PASSED:
        status = _restore(person_id, event_id, session_id)
        if status is AccessStatus.DISABLED:
            reasons.append("access_disabled_before_pass")
    elif outcome is ReverificationOutcome.EXPIRED and mode is ReverificationMode.STEP_UP:
        reasons = ["step_up_not_completed"]
        _expire_session(session_id)
        status = persons.get_person(person_id).access_status
    elif outcome in (ReverificationOutcome.FAILED, ReverificationOutcome.EXPIRED):
        if outcome is ReverificationOutcome.EXPIRED:
            reasons = ["reverification_not_completed"]
            _expire_session(session_id)
        status = _disable(person_id, event_id, outcome, reasons)
    elif outcome is ReverificationOutcome.NEEDS_REVIEW:
        status = persons.get_person(person_id).access_status
        _request_review(person_id, event_id, reasons)
    else:
        status = persons.get_person(person_id).access_status
        reasons = [f"system_error_{error or 'unknown'}"]
        _alert_once(person_id, event_id, "reverification_error", reasons)

    audit.record(
        subject_id=person_id,
        action="reverification_closed",
        outcome=outcome.value,
        actor=ACTOR,
        reasons=reasons,
        details={
            "event_id": event_id,
            "session_id": session_id,
            "access_status": status.value,
            "mode": mode.value,
        },
    )
    logger.info(
        "re-verification closed",
        extra={"person_id": person_id, "outcome": outcome.value, "access_status": status.value},
    )
    return {"outcome": outcome.value, "access_status": status.value, "reasons": reasons}


def _restore(person_id: str, event_id: str, session_id: str) -> AccessStatus:
    """Restore the account and record the verification; a DISABLED person stays DISABLED."""
    from hireproof.identity.factory import identity_provider_from_env

    person = persons.get_person(person_id)
    if person.access_status is AccessStatus.DISABLED:
        # An operator revoked the person while the re-verification waited.
        logger.warning("passed re-verification of a disabled person ignored", extra={"person_id": person_id})
        return AccessStatus.DISABLED
    record = onboarding_store.get_onboarding(person_id)
    idp_user_id = record.get("idp_user_id")

    def restore_account() -> dict[str, Any]:
        if not idp_user_id:
            return {}
        provider = identity_provider_from_env()
        # NOTE: an Okta user suspended before finishing activation was deactivated, and comes
        # back PROVISIONED. It needs a new activation link, which nothing sends yet.
        provider.restore_user(str(idp_user_id))
        # Suspension may have removed the memberships (IAM Identity Center does).
        groups = access_groups(onboarding_store.get_hire(person_id).department)
        provider.add_to_groups(str(idp_user_id), groups)
        return {"idp_user_id": str(idp_user_id), "groups": groups}

    # The account is restored before access turns ACTIVE, so a failed restore leaves the
    # person SUSPENDED for the retry.
    effects.run_once(person_id, _effect_name(event_id, "account_restored"), restore_account)

    def record_pass() -> dict[str, Any]:
        persons.record_verification(person_id, actor=ACTOR)
        return {"session_id": session_id}

    effects.run_once(person_id, _effect_name(event_id, "verification_recorded"), record_pass)
    return AccessStatus.ACTIVE


def _expire_session(session_id: str) -> None:
    """Make the unused link stop working and delete any image uploaded through it."""
    from hireproof.sessions.store import close

    close(session_id, SessionStatus.EXPIRED)
    evidence.delete_all(session_id)


def _disable(
    person_id: str, event_id: str, outcome: ReverificationOutcome, reasons: list[str]
) -> AccessStatus:
    from hireproof.identity.factory import identity_provider_from_env

    idp_user_id = onboarding_store.get_onboarding(person_id).get("idp_user_id")

    def disable_account() -> dict[str, Any]:
        if not idp_user_id:
            return {}
        provider = identity_provider_from_env()
        provider.disable_user(str(idp_user_id))
        provider.revoke_sessions(str(idp_user_id))
        return {"idp_user_id": str(idp_user_id)}

    effects.run_once(person_id, _effect_name(event_id, "account_disabled"), disable_account)
    reason = "reverification_failed" if outcome is ReverificationOutcome.FAILED else "reverification_expired"

    def disable_access() -> dict[str, Any]:
        persons.set_access_status(person_id, AccessStatus.DISABLED, actor=ACTOR, reason=reason)
        return {"access_status": AccessStatus.DISABLED.value}

    effects.run_once(person_id, _effect_name(event_id, "access_disabled"), disable_access)
    _alert_once(person_id, event_id, reason, reasons)
    return AccessStatus.DISABLED


def _request_review(person_id: str, event_id: str, reasons: list[str]) -> None:
    """Tell the reviewers' topic, with ids and reasons only, like an onboarding review."""

    def publish() -> dict[str, Any]:
        aws.client("sns").publish(
            TopicArn=require_env("REVIEW_TOPIC_ARN"),
            Subject="HireProof: re-verification needs review",
            Message=json.dumps(
                {
                    "onboarding_id": person_id,
                    "stage": "reverification",
                    "reasons": reasons,
                    "event_id": event_id,
                }
            ),
        )
        audit.record(
            subject_id=person_id,
            action="review_requested",
            outcome="reverification",
            actor=ACTOR,
            reasons=reasons,
            details={"event_id": event_id},
        )
        return {"reasons": reasons}

    effects.run_once(person_id, _effect_name(event_id, "review_requested"), publish)


def _alert_once(person_id: str, event_id: str, action: str, reasons: list[str]) -> None:
    def alert() -> dict[str, Any]:
        events.security_alert(subject_id=person_id, action=action, reasons=reasons)
        return {"reasons": reasons}

    effects.run_once(person_id, _effect_name(event_id, "security_alert"), alert)
