"""The onboarding state machine's task steps, one function per step.

Each step reads what it needs from the onboarding record and claims its effects
through `effects.run_once`, so a retried step does not repeat a completed effect.
It writes an audit record and returns a small result for the state machine, with
no personal data in it.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from hireproof import audit, aws, events
from hireproof.config import int_env, optional_env, require_env
from hireproof.errors import ConfigurationError, ConflictError
from hireproof.models import Decision, OnboardingState, VerificationPurpose
from hireproof.onboarding import effects, shipping, store

logger = Logger(child=True)

ACTOR = "onboarding-workflow"


class VerificationOutcome(BaseModel):
    """The verification API's task result, as Wait For Verification receives it."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    decision: Decision
    reasons: list[str] = Field(default_factory=list)
    scores: dict[str, float | int | None] = Field(default_factory=dict)
    document_address: dict[str, bool | None] = Field(default_factory=dict)


def session_id_for(onboarding_id: str, purpose: VerificationPurpose) -> str:
    """Return the verification session id of one onboarding and purpose."""
    return f"{onboarding_id}.{purpose.value}"


# ----------------------------------------------------------------- Record Hire
def record_hire(onboarding_id: str, execution_arn: str) -> dict[str, Any]:
    """Attach the execution to the stored hire and return the workflow's timeouts."""
    store.update_onboarding(onboarding_id, execution_arn=execution_arn)
    audit.record(subject_id=onboarding_id, action="hire_recorded", outcome="ok", actor=ACTOR)
    return {
        "state": OnboardingState.RECEIVED.value,
        "timeouts": {
            "verification_seconds": int_env("VERIFICATION_TIMEOUT_SECONDS", 259200),
            "verification_heartbeat_seconds": int_env("VERIFICATION_HEARTBEAT_SECONDS", 86400),
            "review_seconds": int_env("REVIEW_TIMEOUT_SECONDS", 604800),
            "delivery_seconds": int_env("DELIVERY_TIMEOUT_SECONDS", 1814400),
            "recipient_verification_seconds": int_env("RECIPIENT_VERIFICATION_TIMEOUT_SECONDS", 604800),
        },
    }


# ----------------------------------------------------------------- Stage Account
def stage_account(onboarding_id: str) -> dict[str, Any]:
    """Create the hire's account inactive at the identity provider, once."""
    from hireproof.identity.base import StagedUser
    from hireproof.identity.factory import identity_provider_from_env

    hire = store.get_hire(onboarding_id)
    provider = identity_provider_from_env()
    staged = StagedUser(
        user_name=hire.work_email,
        given_name=hire.legal_name.given,
        family_name=hire.legal_name.family,
        display_name=hire.preferred_name or f"{hire.legal_name.given} {hire.legal_name.family}",
        work_email=hire.work_email,
        department=hire.department,
        manager_email=hire.manager_email,
    )

    outcome = effects.run_once(
        onboarding_id, "account_staged", lambda: {"idp_user_id": provider.stage_user(staged)}
    )

    idp_user_id = str(outcome.result["idp_user_id"])
    store.update_onboarding(onboarding_id, idp_user_id=idp_user_id, state=OnboardingState.STAGED)
    audit.record(
        subject_id=onboarding_id,
        action="account_staged",
        outcome="performed" if outcome.performed else "already_done",
        actor=ACTOR,
        details={"idp_user_id": idp_user_id},
    )
    return {"idp_user_id": idp_user_id}


# ----------------------------------------------------------------- Assess Shipping Address
def assess_shipping_address(onboarding_id: str) -> dict[str, Any]:
    """Record the requested shipping address's hash and its laptop-farm signals."""
    hire = store.get_hire(onboarding_id)
    requested = hire.effective_shipping_address
    address_hash = shipping.address_hash(requested)

    # Register this hire's address before looking for others, so two hires at one
    # address that arrive together still see each other.
    store.update_onboarding(onboarding_id, address_hash=address_hash)
    others = [oid for oid in store.onboarding_ids_with_address(address_hash) if oid != onboarding_id]
    reasons = shipping.address_signals(
        requested,
        hire.home_address,
        other_hires_at_address=len(others),
        reshippers=shipping.known_reshippers(),
    )

    store.update_onboarding(
        onboarding_id, shipping_reasons=reasons, state=OnboardingState.AWAITING_VERIFICATION
    )
    audit.record(
        subject_id=onboarding_id,
        action="shipping_address_assessed",
        outcome="flagged" if reasons else "clear",
        actor=ACTOR,
        reasons=reasons,
        details={"other_hires_at_address": len(others)},
    )
    return {"reasons": reasons}


# ----------------------------------------------------------------- Record Decision
def _delete_leftover_evidence(session_id: str) -> int:
    """Delete any evidence object still stored for a session; return how many were left."""
    s3 = aws.client("s3")
    bucket = require_env("EVIDENCE_BUCKET")
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"evidence/{session_id}/"):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def _apply_earlier_approval(onboarding_id: str, reasons: list[str]) -> tuple[Decision, list[str]]:
    """Pass a device recipient whose only review reasons a reviewer already accepted.

    The recipient shows the same document as at onboarding, so a reviewer's approval of an
    expired card, for example, carries over. Any new reason still goes to review.
    """
    review = store.get_onboarding(onboarding_id).get("review") or {}
    approved = set(review.get("reasons", [])) if review.get("approved") is True else set()
    if reasons and set(reasons) <= approved:
        return Decision.PASSED, [*reasons, "accepted_in_earlier_review"]
    return Decision.NEEDS_REVIEW, reasons


def record_decision(
    onboarding_id: str,
    purpose: VerificationPurpose,
    verification: VerificationOutcome,
    shipping_reasons: list[str],
) -> dict[str, Any]:
    """Combine the verification with the address signals into the onboarding's decision.

    A verification that passed still goes to review when the address carried a
    signal or the document's address differs from the HR home address.
    """
    decision = verification.decision
    reasons = list(verification.reasons)
    if verification.document_address.get("matches_home") is False:
        reasons.append("document_address_differs_from_home")
    reasons.extend(r for r in shipping_reasons if r not in reasons)
    if decision == Decision.PASSED and len(reasons) > len(verification.reasons):
        decision = Decision.NEEDS_REVIEW
    if purpose == VerificationPurpose.DEVICE_RECIPIENT and decision == Decision.NEEDS_REVIEW:
        decision, reasons = _apply_earlier_approval(onboarding_id, reasons)

    leftovers = _delete_leftover_evidence(verification.session_id)
    if leftovers:
        logger.warning(
            "evidence left after decision was deleted",
            extra={"onboarding_id": onboarding_id, "objects": leftovers},
        )

    if purpose == VerificationPurpose.ONBOARDING:
        hire = store.get_hire(onboarding_id)
        state = {
            Decision.PASSED: OnboardingState.VERIFIED,
            # IN_REVIEW is set when the review's task token is stored (reviews.request_review), so
            # a reviewer can always decide an onboarding in IN_REVIEW.
            Decision.NEEDS_REVIEW: OnboardingState.AWAITING_VERIFICATION,
            Decision.FAILED: OnboardingState.AWAITING_VERIFICATION,
        }[decision]
        # The laptop only ever goes to the HR home address that the verification
        # confirmed, never to a different requested address.
        store.update_onboarding(
            onboarding_id,
            decision=decision.value,
            reasons=reasons,
            scores={k: str(v) for k, v in verification.scores.items()},
            verified_address=hire.home_address.model_dump(mode="json", exclude_none=True),
            state=state,
        )
    else:
        store.update_onboarding(
            onboarding_id,
            recipient_decision=decision.value,
            recipient_reasons=reasons,
            recipient_decided_at=store.now_iso(),
        )

    audit.record(
        subject_id=onboarding_id,
        action=f"{purpose.value}_decision_recorded",
        outcome=decision.value,
        actor=ACTOR,
        reasons=reasons,
        details={
            **{f"score_{k}": v for k, v in verification.scores.items()},
            "evidence_deleted_late": leftovers,
        },
    )
    return {"decision": decision.value, "reasons": reasons}


# ----------------------------------------------------------------- Issue Credentials
def issue_credentials(onboarding_id: str) -> dict[str, Any]:
    """Activate the account and keep its initial credential for the verified session only."""
    from hireproof.identity.factory import identity_provider_from_env
    from hireproof.sessions.store import store_credential

    record = store.get_onboarding(onboarding_id)
    idp_user_id = record.get("idp_user_id")
    if not idp_user_id:
        raise ConflictError(f"onboarding {onboarding_id} has no staged account", field="idp_user_id")
    provider = identity_provider_from_env()
    session_id = session_id_for(onboarding_id, VerificationPurpose.ONBOARDING)

    def issue() -> dict[str, Any]:
        provider.activate_user(idp_user_id)
        credential = provider.issue_initial_credential(idp_user_id)
        store_credential(
            session_id,
            credential_kind=credential.kind,
            credential_value=credential.value,
            expires_at=credential.expires_at,
        )
        return {"kind": credential.kind}

    outcome = effects.run_once(onboarding_id, "credential_issued", issue)
    # After a review approval the record is still IN_REVIEW; the credential is only
    # revealed to the hire once the onboarding is VERIFIED or later.
    store.update_onboarding(onboarding_id, state=OnboardingState.VERIFIED)
    if record.get("decision") == Decision.NEEDS_REVIEW.value:
        # The hire's link has usually expired by the time a reviewer approves.
        effects.run_once(onboarding_id, "credential_ready_sent", lambda: _notify_credential_ready(session_id))

    audit.record(
        subject_id=onboarding_id,
        action="credential_issued",
        outcome="performed" if outcome.performed else "already_done",
        actor=ACTOR,
        details={"credential_kind": str(outcome.result.get("kind"))},
    )
    return {"issued": True, "kind": outcome.result.get("kind")}


def _notify_credential_ready(session_id: str) -> dict[str, Any]:
    from hireproof.sessions.store import notify_credential_ready

    notify_credential_ready(session_id)
    return {"session_id": session_id}


# ----------------------------------------------------------------- Ship Laptop
def ship_laptop(onboarding_id: str) -> dict[str, Any]:
    """Order the laptop to the verified address, once, and announce it on the bus."""
    from hireproof.fulfillment.adapter import ShipmentOrder, fulfillment_provider_from_env
    from hireproof.fulfillment.shipments import record_shipment
    from hireproof.models import Address

    record = store.get_onboarding(onboarding_id)
    if not record.get("verified_address"):
        raise ConflictError(f"onboarding {onboarding_id} has no verified address", field="verified_address")
    hire = store.get_hire(onboarding_id)
    address = Address.model_validate(record["verified_address"])
    provider = fulfillment_provider_from_env()

    def order() -> dict[str, Any]:
        shipment_id = provider.request_shipment(
            ShipmentOrder(
                onboarding_id=onboarding_id,
                device_profile=hire.device_profile,
                recipient_name=hire.preferred_name or f"{hire.legal_name.given} {hire.legal_name.family}",
                ship_to=address,
                idempotency_key=f"{onboarding_id}.laptop",
            )
        )
        record_shipment(onboarding_id, shipment_id, shipping.address_hash(address))
        events.publish(
            "ShipmentRequested",
            {
                "onboarding_id": onboarding_id,
                "shipment_id": shipment_id,
                "device_profile": hire.device_profile,
            },
        )
        return {"shipment_id": shipment_id}

    outcome = effects.run_once(onboarding_id, "shipment_requested", order)

    shipment_id = str(outcome.result["shipment_id"])
    store.update_onboarding(onboarding_id, shipment_id=shipment_id, state=OnboardingState.SHIPPED)
    audit.record(
        subject_id=onboarding_id,
        action="shipment_requested",
        outcome="performed" if outcome.performed else "already_done",
        actor=ACTOR,
        details={"shipment_id": shipment_id},
    )
    return {"shipment_id": shipment_id}


# ----------------------------------------------------------------- Grant Access
def access_groups(department: str | None) -> list[str]:
    """Return the groups for a department from the ACCESS_GROUPS JSON setting."""
    raw = optional_env("ACCESS_GROUPS", "{}")
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError("ACCESS_GROUPS must be a JSON object of department to group list") from exc
    if not isinstance(mapping, dict):
        raise ConfigurationError("ACCESS_GROUPS must be a JSON object of department to group list")
    groups = list(mapping.get("*", []))
    if department:
        groups.extend(g for g in mapping.get(department, []) if g not in groups)
    return [str(g) for g in groups]


def grant_access(onboarding_id: str) -> dict[str, Any]:
    """Add the verified account to its groups, once."""
    from hireproof.identity.factory import identity_provider_from_env

    record = store.get_onboarding(onboarding_id)
    hire = store.get_hire(onboarding_id)
    groups = access_groups(hire.department)
    provider = identity_provider_from_env()

    def add() -> dict[str, Any]:
        provider.add_to_groups(str(record["idp_user_id"]), groups)
        return {"groups": groups}

    outcome = effects.run_once(onboarding_id, "access_granted", add)

    audit.record(
        subject_id=onboarding_id,
        action="access_granted",
        outcome="performed" if outcome.performed else "already_done",
        actor=ACTOR,
        details={"groups": ",".join(outcome.result.get("groups", []))},
    )
    return {"groups": outcome.result.get("groups", [])}
