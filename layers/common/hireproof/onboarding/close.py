"""The onboarding's end states: ACTIVE, FAILED, EXPIRED and ERROR.

FAILED and ERROR fail closed: the account is disabled (or never activated), an
undelivered shipment is cancelled, and security gets one alert with the reasons.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import audit, aws, events
from hireproof.access import persons
from hireproof.config import require_env
from hireproof.models import OnboardingState, VerificationPurpose
from hireproof.onboarding import effects, store
from hireproof.onboarding.steps import ACTOR, session_id_for

logger = Logger(child=True)


def failure_reasons(record: dict[str, Any]) -> list[str]:
    """Collect why an onboarding failed from what its steps recorded."""
    reasons: list[str] = []
    if record.get("decision") == "FAILED":
        reasons.extend(record.get("reasons", []))
    review = record.get("review") or {}
    if review.get("approved") is False:
        reasons.extend(review.get("reasons", []))
        reasons.append(f"review_rejected_{review.get('stage', 'onboarding')}")
    if record.get("recipient_decision") and record.get("recipient_decision") != "PASSED":
        reasons.append("device_recipient_not_verified")
        reasons.extend(record.get("recipient_reasons", []))
    if record.get("shipment_id") and not record.get("delivered_at"):
        reasons.append("delivery_not_confirmed")
    if record.get("delivered_at") and not record.get("recipient_decision"):
        reasons.append("device_recipient_not_verified")
    return list(dict.fromkeys(reasons)) or ["verification_failed"]


def _disable_account(onboarding_id: str, record: dict[str, Any]) -> None:
    from hireproof.identity.factory import identity_provider_from_env

    idp_user_id = record.get("idp_user_id")
    if not idp_user_id:
        return
    provider = identity_provider_from_env()

    def disable() -> dict[str, Any]:
        provider.disable_user(str(idp_user_id))
        provider.revoke_sessions(str(idp_user_id))
        return {"idp_user_id": str(idp_user_id)}

    effects.run_once(onboarding_id, "account_disabled", disable)


def _cancel_shipment(onboarding_id: str, record: dict[str, Any]) -> bool:
    """Cancel an undelivered shipment once; return True when one was cancelled."""
    from hireproof.fulfillment.adapter import fulfillment_provider_from_env
    from hireproof.fulfillment.models import ShipmentStatus
    from hireproof.fulfillment.shipments import find_shipment, record_cancellation

    shipment_id = record.get("shipment_id")
    if not shipment_id or record.get("delivered_at"):
        return False
    # A failed or returned shipment is already back with the fulfillment service.
    if find_shipment(str(shipment_id)).status is not ShipmentStatus.REQUESTED:
        return False
    provider = fulfillment_provider_from_env()

    def cancel() -> dict[str, Any]:
        provider.cancel_shipment(str(shipment_id))
        # A delivery callback after this gets 409 instead of resuming the workflow.
        record_cancellation(onboarding_id, str(shipment_id))
        events.publish("ShipmentCancelled", {"onboarding_id": onboarding_id, "shipment_id": shipment_id})
        return {"shipment_id": str(shipment_id)}

    return effects.run_once(onboarding_id, "shipment_cancelled", cancel).performed


def _close_sessions(onboarding_id: str) -> None:
    """Expire the onboarding's open verification links and delete any evidence they hold."""
    from hireproof.sessions.models import SessionStatus
    from hireproof.sessions.store import close

    for purpose in (VerificationPurpose.ONBOARDING, VerificationPurpose.DEVICE_RECIPIENT):
        close(session_id_for(onboarding_id, purpose), SessionStatus.EXPIRED)


def _alert_once(onboarding_id: str, action: str, reasons: list[str]) -> None:
    def alert() -> dict[str, Any]:
        events.security_alert(subject_id=onboarding_id, action=action, reasons=reasons)
        return {"reasons": reasons}

    effects.run_once(onboarding_id, "security_alert", alert)


def close_onboarding(
    onboarding_id: str, outcome: OnboardingState, error: str | None = None
) -> dict[str, Any]:
    """Bring the onboarding to its end state with that state's effects."""
    record = store.get_onboarding(onboarding_id)
    reasons: list[str] = []

    if outcome == OnboardingState.ACTIVE:
        store.update_onboarding(onboarding_id, state=outcome)
        # The person who received the device verified last; access counts from then.
        hire = record.get("hire") or {}
        persons.activate(
            onboarding_id,
            verified_at=str(record.get("recipient_decided_at") or store.now_iso()),
            residence_country=(hire.get("home_address") or {}).get("country"),
        )

    elif outcome in (OnboardingState.FAILED, OnboardingState.ERROR):
        reasons = (
            failure_reasons(record)
            if outcome == OnboardingState.FAILED
            else [f"system_error_{error or 'unknown'}"]
        )
        _disable_account(onboarding_id, record)
        if _cancel_shipment(onboarding_id, record):
            reasons.append("shipment_cancelled")
        elif record.get("delivered_at"):
            reasons.append("device_already_delivered")
        _close_sessions(onboarding_id)
        _alert_once(onboarding_id, f"onboarding_{outcome.value.lower()}", reasons)
        store.update_onboarding(onboarding_id, state=outcome, close_reasons=reasons)

    elif outcome == OnboardingState.EXPIRED:
        review = record.get("review") or {}
        review_pending = bool(review) and "approved" not in review
        if review_pending:
            # The hire verified, but no reviewer decided in time, so the signals stay unresolved.
            reasons = ["review_not_completed", *review.get("reasons", [])]
            _alert_once(onboarding_id, "onboarding_review_expired", reasons)
        else:
            reasons = ["verification_not_completed"]
        _close_sessions(onboarding_id)

        def notify_hr() -> dict[str, Any]:
            aws.client("sns").publish(
                TopicArn=require_env("HR_NOTIFICATIONS_TOPIC_ARN"),
                Subject="HireProof: onboarding expired",
                Message=json.dumps(
                    {"onboarding_id": onboarding_id, "state": outcome.value, "reasons": reasons}
                ),
            )
            return {}

        effects.run_once(onboarding_id, "hr_notified_expired", notify_hr)
        store.update_onboarding(onboarding_id, state=outcome, close_reasons=reasons)

    audit.record(
        subject_id=onboarding_id,
        action="onboarding_closed",
        outcome=outcome.value,
        actor=ACTOR,
        reasons=reasons,
    )
    logger.info("onboarding closed", extra={"onboarding_id": onboarding_id, "state": outcome.value})
    return {"state": outcome.value, "reasons": reasons}
