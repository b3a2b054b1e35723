"""Onboarding steps against template.yaml's tables in moto: exactly-once effects and decisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hireproof import audit, aws
from hireproof.models import Address, Decision, VerificationPurpose
from hireproof.onboarding import effects, steps, store
from sessions_support import add_onboarding, make_hire
from template_resources import StackResources, mocked_stack

OTHER_ADDRESS = Address(line1="77 Farm Road", city="Springfield", postal_code="12345", country="US")


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


def _with_step_env(stack: StackResources, function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in stack.function_environment(function).items():
        monkeypatch.setenv(key, value)


def test_run_once_performs_effect_once(stack: StackResources) -> None:
    calls: list[int] = []

    def effect() -> dict[str, Any]:
        calls.append(1)
        return {"shipment_id": "S-1"}

    first = effects.run_once("onb-1", "shipment_requested", effect)
    second = effects.run_once("onb-1", "shipment_requested", effect)

    assert calls == [1]
    assert first.performed is True
    assert second.performed is False
    assert second.result == {"shipment_id": "S-1"}
    assert effects.is_done("onb-1", "shipment_requested")


def test_run_once_reruns_claim_left_by_crash(stack: StackResources) -> None:
    def crash() -> dict[str, Any]:
        raise RuntimeError("provider timed out")

    with pytest.raises(RuntimeError):
        effects.run_once("onb-2", "account_staged", crash)
    outcome = effects.run_once("onb-2", "account_staged", lambda: {"idp_user_id": "u-1"})

    assert outcome.performed is True
    assert effects.stored_result("onb-2", "account_staged") == {"idp_user_id": "u-1"}


def test_assess_shipping_flags_address_of_earlier_hire(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_step_env(stack, "AssessShippingAddressFunction", monkeypatch)
    first = add_onboarding(make_hire(employee_id="1"))
    second = add_onboarding(
        make_hire(employee_id="2", home_address=OTHER_ADDRESS, shipping_address=make_hire().home_address)
    )

    assert steps.assess_shipping_address(first) == {"reasons": []}
    result = steps.assess_shipping_address(second)

    assert result["reasons"] == ["shipping_address_reused", "shipping_address_differs_from_home"]
    assert store.get_onboarding(second)["state"] == "AWAITING_VERIFICATION"
    assert [r["action"] for r in audit.records_for(second)] == ["shipping_address_assessed"]


def _outcome(decision: Decision, session_id: str, **extra: Any) -> steps.VerificationOutcome:
    return steps.VerificationOutcome(
        session_id=session_id, decision=decision, reasons=[], scores={"face_distance": 0.3}, **extra
    )


def test_record_decision_address_signal_needs_review(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_step_env(stack, "RecordDecisionFunction", monkeypatch)
    onboarding_id = add_onboarding(make_hire())
    session_id = steps.session_id_for(onboarding_id, VerificationPurpose.ONBOARDING)

    result = steps.record_decision(
        onboarding_id,
        VerificationPurpose.ONBOARDING,
        _outcome(Decision.PASSED, session_id),
        ["shipping_address_reused"],
    )

    assert result == {"decision": "NEEDS_REVIEW", "reasons": ["shipping_address_reused"]}
    record = store.get_onboarding(onboarding_id)
    # IN_REVIEW waits for the review's task token, so no reviewer can decide before it exists.
    assert record["state"] == "AWAITING_VERIFICATION"
    assert record["decision"] == "NEEDS_REVIEW"
    assert record["verified_address"]["line1"] == "12 Rue Example"


def test_record_decision_deletes_leftover_evidence(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_step_env(stack, "RecordDecisionFunction", monkeypatch)
    onboarding_id = add_onboarding(make_hire())
    session_id = steps.session_id_for(onboarding_id, VerificationPurpose.ONBOARDING)
    bucket = stack.name("EvidenceBucket")
    aws.client("s3").put_object(Bucket=bucket, Key=f"evidence/{session_id}/selfie-1", Body=b"jpeg")

    result = steps.record_decision(
        onboarding_id, VerificationPurpose.ONBOARDING, _outcome(Decision.PASSED, session_id), []
    )

    assert result["decision"] == "PASSED"
    assert aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="evidence/")["KeyCount"] == 0
    decided = [r for r in audit.records_for(onboarding_id) if r["action"] == "onboarding_decision_recorded"]
    assert decided[0]["details"]["evidence_deleted_late"] == 1


def test_record_decision_document_address_mismatch_needs_review(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_step_env(stack, "RecordDecisionFunction", monkeypatch)
    onboarding_id = add_onboarding(make_hire())
    outcome = _outcome(Decision.PASSED, "s-1", document_address={"matches_home": False})

    result = steps.record_decision(onboarding_id, VerificationPurpose.ONBOARDING, outcome, [])

    assert result == {"decision": "NEEDS_REVIEW", "reasons": ["document_address_differs_from_home"]}


def test_record_decision_failed_stays_failed_with_signals(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_step_env(stack, "RecordDecisionFunction", monkeypatch)
    onboarding_id = add_onboarding(make_hire())
    outcome = steps.VerificationOutcome(session_id="s-2", decision=Decision.FAILED, reasons=["face_mismatch"])

    result = steps.record_decision(
        onboarding_id, VerificationPurpose.ONBOARDING, outcome, ["shipping_address_reused"]
    )

    assert result == {"decision": "FAILED", "reasons": ["face_mismatch", "shipping_address_reused"]}
