"""hireproof.risk.state against template.yaml's tables in moto: once-only, ordered risk changes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest

from hireproof import audit, aws
from hireproof.access import persons
from hireproof.access.persons import RiskLevel
from hireproof.errors import ConflictError, InvalidRequestError, NotFoundError
from hireproof.models import OnboardingState
from hireproof.onboarding import store
from hireproof.risk import state
from hireproof.risk.models import RiskEvent, RiskEventKind
from sessions_support import add_onboarding, make_hire
from template_resources import StackResources, mocked_stack

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(hours=1)
VERIFIED_AT = "2026-11-20T10:00:00.000+00:00"


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


@pytest.fixture
def person_id(stack: StackResources) -> str:
    """An ACTIVE person with an ACCESS item at LOW risk."""
    onboarding_id = add_onboarding(make_hire())
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE)
    persons.activate(onboarding_id, verified_at=VERIFIED_AT, residence_country="US")
    return onboarding_id


def _event(
    event_id: str,
    level: RiskLevel,
    at: dt.datetime = T0,
    *,
    version: int = 0,
    reason: str = "risk_signal",
) -> RiskEvent:
    return RiskEvent(
        event_id=event_id,
        source="corp.siem",
        person_id="ignored-by-apply",
        level=level,
        reason=reason,
        kind=RiskEventKind.RISK_LEVEL_CHANGE,
        event_time=at,
        version=version,
    )


def _table() -> Any:
    return aws.table(os.environ["ONBOARDING_TABLE"])


def _access(person_id: str) -> dict[str, Any]:
    key = {"pk": person_id, "sk": "ACCESS"}
    return dict(_table().get_item(Key=key, ConsistentRead=True)["Item"])


def _marker(person_id: str, event_id: str) -> dict[str, Any] | None:
    key = {"pk": person_id, "sk": f"RISKEVENT#{event_id}"}
    item = _table().get_item(Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item else None


def _records(person_id: str, action: str) -> list[dict[str, Any]]:
    return [record for record in audit.records_for(person_id) if record["action"] == action]


# ----------------------------------------------------------------- applying
def test_apply_medium_sets_step_up(person_id: str) -> None:
    outcome = state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=person_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("applied", RiskLevel.LOW, RiskLevel.MEDIUM)
    access = _access(person_id)
    assert access["risk_level"] == "MEDIUM"
    assert access["step_up_required"] is True
    assert access["risk_event_time"] == "2026-12-01T09:00:00.000+00:00"
    assert access["risk_version"] == 0
    assert access["risk_event_id"] == "e-1"
    assert access["access_status"] == "ACTIVE"


def test_apply_writes_one_audit_record(person_id: str) -> None:
    state.apply_risk_event(
        _event("e-1", RiskLevel.HIGH, reason="impossible_travel"), person_id=person_id, now=NOW
    )

    [record] = _records(person_id, "risk_level_changed")
    assert record["outcome"] == "HIGH"
    assert record["reasons"] == ["impossible_travel"]
    assert record["actor"] == "corp.siem"
    assert record["details"]["event_id"] == "e-1"
    assert record["details"]["source"] == "corp.siem"
    assert record["details"]["kind"] == "risk_level_change"
    assert record["details"]["previous_level"] == "LOW"


def test_apply_high_sets_step_up(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id=person_id, now=NOW)

    assert _access(person_id)["step_up_required"] is True
    assert persons.get_person(person_id).risk_level is RiskLevel.HIGH


def test_medium_then_low_clears_step_up(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM, T0), person_id=person_id, now=NOW)
    outcome = state.apply_risk_event(
        _event("e-2", RiskLevel.LOW, T0 + dt.timedelta(minutes=5)), person_id=person_id, now=NOW
    )

    assert outcome == state.RiskApplyOutcome("applied", RiskLevel.MEDIUM, RiskLevel.LOW)
    person = persons.get_person(person_id)
    assert person.step_up_required is False
    assert person.risk_level is RiskLevel.LOW


def test_marker_expires_after_30_days(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=person_id, now=NOW)

    marker = _marker(person_id, "e-1")
    assert marker is not None
    assert marker["expires_at"] == int((NOW + dt.timedelta(days=30)).timestamp())
    assert marker["status"] == "APPLIED"
    assert marker["audited"] is True


# ----------------------------------------------------------------- duplicates
def test_duplicate_delivery_changes_once(person_id: str) -> None:
    first = state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=person_id, now=NOW)
    after_first = _access(person_id)

    second = state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=person_id, now=NOW)

    assert first.status == "applied"
    assert second == state.RiskApplyOutcome("duplicate", RiskLevel.LOW, RiskLevel.MEDIUM)
    assert _access(person_id) == after_first
    assert len(_records(person_id, "risk_level_changed")) == 1


def test_duplicate_id_with_other_content_changes_nothing(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=person_id, now=NOW)

    later = _event("e-1", RiskLevel.HIGH, T0 + dt.timedelta(minutes=1))
    outcome = state.apply_risk_event(later, person_id=person_id, now=NOW)

    assert outcome.status == "duplicate"
    assert _access(person_id)["risk_level"] == "MEDIUM"


def test_redelivery_writes_audit_missed_by_crash(person_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_record = audit.record

    def crash(**kwargs: Any) -> str:
        raise RuntimeError("Lambda timed out before the audit write")

    monkeypatch.setattr(audit, "record", crash)
    with pytest.raises(RuntimeError):
        state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id=person_id, now=NOW)
    monkeypatch.setattr(audit, "record", real_record)

    outcome = state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id=person_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("duplicate", RiskLevel.LOW, RiskLevel.HIGH)
    assert _access(person_id)["risk_level"] == "HIGH"
    assert len(_records(person_id, "risk_level_changed")) == 1
    marker = _marker(person_id, "e-1")
    assert marker is not None
    assert marker["audited"] is True


# ----------------------------------------------------------------- ordering
def test_out_of_order_newest_wins(person_id: str) -> None:
    newer = _event("e-new", RiskLevel.LOW, T0 + dt.timedelta(minutes=10), reason="risk_cleared")
    older = _event("e-old", RiskLevel.HIGH, T0, reason="password_leaked")

    state.apply_risk_event(newer, person_id=person_id, now=NOW)
    outcome = state.apply_risk_event(older, person_id=person_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("stale", RiskLevel.LOW, RiskLevel.LOW)
    access = _access(person_id)
    assert access["risk_level"] == "LOW"
    assert access["risk_event_id"] == "e-new"


def test_stale_event_is_audited_as_dropped(person_id: str) -> None:
    state.apply_risk_event(
        _event("e-new", RiskLevel.LOW, T0 + dt.timedelta(minutes=10)), person_id=person_id, now=NOW
    )
    state.apply_risk_event(
        _event("e-old", RiskLevel.HIGH, T0, reason="password_leaked"), person_id=person_id, now=NOW
    )

    [dropped] = _records(person_id, "risk_event_dropped")
    assert dropped["outcome"] == "stale"
    assert dropped["reasons"] == ["password_leaked"]
    assert dropped["details"]["event_id"] == "e-old"
    assert dropped["details"]["event_level"] == "HIGH"
    assert dropped["details"]["stored_event_time"] == "2026-12-01T09:10:00.000+00:00"
    assert len(_records(person_id, "risk_level_changed")) == 1


def test_stale_redelivery_is_duplicate(person_id: str) -> None:
    state.apply_risk_event(
        _event("e-new", RiskLevel.LOW, T0 + dt.timedelta(minutes=10)), person_id=person_id, now=NOW
    )
    state.apply_risk_event(_event("e-old", RiskLevel.HIGH, T0), person_id=person_id, now=NOW)

    again = state.apply_risk_event(_event("e-old", RiskLevel.HIGH, T0), person_id=person_id, now=NOW)

    assert again.status == "duplicate"
    assert len(_records(person_id, "risk_event_dropped")) == 1


def test_equal_time_higher_version_applies(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM, T0, version=1), person_id=person_id, now=NOW)

    higher = state.apply_risk_event(
        _event("e-2", RiskLevel.HIGH, T0, version=2), person_id=person_id, now=NOW
    )
    tie = state.apply_risk_event(_event("e-3", RiskLevel.LOW, T0, version=2), person_id=person_id, now=NOW)
    lower = state.apply_risk_event(_event("e-4", RiskLevel.LOW, T0, version=0), person_id=person_id, now=NOW)

    assert [higher.status, tie.status, lower.status] == ["applied", "stale", "stale"]
    assert _access(person_id)["risk_level"] == "HIGH"
    assert _access(person_id)["risk_version"] == 2


def test_event_before_verification_is_stale(person_id: str) -> None:
    state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM, T0), person_id=person_id, now=NOW)
    persons.record_verification(person_id, actor="reverification", at=T0 + dt.timedelta(minutes=30))

    late = state.apply_risk_event(
        _event("e-late", RiskLevel.HIGH, T0 + dt.timedelta(minutes=20)), person_id=person_id, now=NOW
    )
    after = state.apply_risk_event(
        _event("e-after", RiskLevel.MEDIUM, T0 + dt.timedelta(minutes=40)), person_id=person_id, now=NOW
    )

    assert late == state.RiskApplyOutcome("stale", RiskLevel.LOW, RiskLevel.LOW)
    assert after == state.RiskApplyOutcome("applied", RiskLevel.LOW, RiskLevel.MEDIUM)


def test_concurrent_change_is_retried(person_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another consumer applies an event between this call's read and its transaction.
    real_ensure = state.ensure_access_item
    calls: list[int] = []

    def read_then_race(pid: str) -> dict[str, Any]:
        snapshot = real_ensure(pid)
        if not calls:
            calls.append(1)
            other = _event("e-other", RiskLevel.MEDIUM, T0 - dt.timedelta(minutes=1))
            monkeypatch.setattr(state, "ensure_access_item", real_ensure)
            state.apply_risk_event(other, person_id=pid, now=NOW)
            monkeypatch.setattr(state, "ensure_access_item", read_then_race)
        return snapshot

    monkeypatch.setattr(state, "ensure_access_item", read_then_race)
    outcome = state.apply_risk_event(_event("e-1", RiskLevel.HIGH, T0), person_id=person_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("applied", RiskLevel.MEDIUM, RiskLevel.HIGH)
    assert _access(person_id)["risk_level"] == "HIGH"


def test_future_event_time_is_rejected(person_id: str) -> None:
    future = _event("e-1", RiskLevel.LOW, NOW + dt.timedelta(minutes=6))

    with pytest.raises(InvalidRequestError) as raised:
        state.apply_risk_event(future, person_id=person_id, now=NOW)

    assert raised.value.field == "event_time"
    assert _marker(person_id, "e-1") is None


# ----------------------------------------------------------------- the ACCESS item
def test_missing_access_item_is_created_first(stack: StackResources) -> None:
    onboarding_id = add_onboarding(make_hire(employee_id="5150"))
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE, verified_at=VERIFIED_AT)

    outcome = state.apply_risk_event(_event("e-1", RiskLevel.MEDIUM), person_id=onboarding_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("applied", RiskLevel.LOW, RiskLevel.MEDIUM)
    access = _access(onboarding_id)
    assert access["access_status"] == "ACTIVE"
    assert access["verified_at"] == VERIFIED_AT
    assert access["residence_country"] == "US"
    assert access["risk_level"] == "MEDIUM"


def test_access_item_without_risk_fields_applies(stack: StackResources) -> None:
    # set_access_status on a person without an ACCESS item leaves one with no risk fields.
    onboarding_id = add_onboarding(make_hire(employee_id="6160"))
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE)
    persons.set_access_status(
        onboarding_id, persons.AccessStatus.SUSPENDED, actor="operator", reason="manual"
    )

    outcome = state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id=onboarding_id, now=NOW)

    assert outcome == state.RiskApplyOutcome("applied", RiskLevel.LOW, RiskLevel.HIGH)
    assert _access(onboarding_id)["access_status"] == "SUSPENDED"


def test_onboarding_not_active_is_conflict(stack: StackResources) -> None:
    onboarding_id = add_onboarding(make_hire(employee_id="7170"))

    with pytest.raises(ConflictError, match="RECEIVED"):
        state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id=onboarding_id, now=NOW)

    assert _table().get_item(Key={"pk": onboarding_id, "sk": "ACCESS"}).get("Item") is None
    assert _marker(onboarding_id, "e-1") is None


def test_unknown_person_is_not_found(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        state.apply_risk_event(_event("e-1", RiskLevel.HIGH), person_id="bamboohr-404", now=NOW)
