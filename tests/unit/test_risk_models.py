"""hireproof.risk.models: the RiskEvent model and the RiskLevelChanged EventBridge event."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from hireproof.access.persons import RiskLevel
from hireproof.errors import InvalidRequestError
from hireproof.risk.models import (
    RiskEvent,
    RiskEventKind,
    reason_code,
    risk_event_detail,
    risk_event_from_eventbridge,
)
from sessions_support import load_event

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _sample() -> dict[str, Any]:
    return load_event("risk_events", "risk_level_changed")


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": "evt-1",
        "source": "corp.siem",
        "person_id": "bamboohr-4821",
        "level": RiskLevel.MEDIUM,
        "reason": "unmanaged_device",
        "kind": RiskEventKind.DEVICE_COMPLIANCE_CHANGE,
        "event_time": T0,
    }
    fields.update(changes)
    return fields


# ----------------------------------------------------------------- RiskEvent
def test_risk_event_defaults_version_zero() -> None:
    event = RiskEvent(**_fields())

    assert event.version == 0
    assert event.email is None


def test_risk_event_accepts_email_subject() -> None:
    event = RiskEvent(**_fields(person_id=None, email="renee.dubois@example.com"))

    assert event.email == "renee.dubois@example.com"
    assert "renee" not in repr(event)


def test_risk_event_needs_a_subject() -> None:
    with pytest.raises(ValidationError, match="person_id or email is required"):
        RiskEvent(**_fields(person_id=None))


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "Password found in a breach"},
        {"reason": "x" * 201},
        {"reason": ""},
        {"event_id": ""},
        {"event_id": "e" * 201},
        {"event_time": dt.datetime(2026, 12, 1, 9, 0)},
        {"version": -1},
        {"version": True},
        {"level": "CRITICAL"},
        {"kind": "weather"},
        {"note": "extra fields are rejected"},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_risk_event_rejects_invalid_field(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RiskEvent(**_fields(**changes))


def test_risk_event_is_frozen() -> None:
    event = RiskEvent(**_fields())

    with pytest.raises(ValidationError):
        event.level = RiskLevel.HIGH  # type: ignore[misc]


# ----------------------------------------------------------------- reason codes
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PASSWORD_FOUND_IN_DATA_BREACH", "password_found_in_data_breach"),
        ("USER Landspeed violation!", "user_landspeed_violation"),
        ("Änderung: Passwort", "anderung_passwort"),
        ("  --  ", "fallback"),
        (None, "fallback"),
        (42, "fallback"),
    ],
)
def test_reason_code_normalizes(text: object, expected: str) -> None:
    assert reason_code(text, default="fallback") == expected


def test_reason_code_is_cut_to_64() -> None:
    code = reason_code("word " * 40, default="fallback")

    assert len(code) <= 64
    assert not code.endswith("_")
    RiskEvent(**_fields(reason=code))


# ----------------------------------------------------------------- the EventBridge event
def test_sample_event_parses() -> None:
    event = risk_event_from_eventbridge(_sample())

    assert event.event_id == "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    assert event.source == "corp.siem"
    assert event.person_id == "bamboohr-4821"
    assert event.level is RiskLevel.MEDIUM
    assert event.reason == "unmanaged_device"
    assert event.kind is RiskEventKind.RISK_LEVEL_CHANGE
    assert event.event_time == T0
    assert event.version == 0


def test_detail_overrides_id_kind_and_source() -> None:
    sample = _sample()
    sample["detail"].update(
        {"event_id": "set:abc:jti-1", "kind": "session_revoked", "source": "ssf:https://idp.example"}
    )

    event = risk_event_from_eventbridge(sample)

    assert event.event_id == "set:abc:jti-1"
    assert event.kind is RiskEventKind.SESSION_REVOKED
    assert event.source == "ssf:https://idp.example"


def test_detail_round_trips() -> None:
    original = RiskEvent(**_fields(person_id=None, email="renee.dubois@example.com", version=3))
    sample = _sample()
    sample["detail"] = json.loads(json.dumps(risk_event_detail(original)))

    assert risk_event_from_eventbridge(sample) == original


def _broken(change: Any) -> dict[str, Any]:
    sample = copy.deepcopy(_sample())
    change(sample)
    return sample


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.update(source="aws.guardduty"), "source"),
        (lambda e: e.pop("source"), "source"),
        (lambda e: e.update({"detail-type": "SecurityAlert"}), "detail-type"),
        (lambda e: e.update(detail="MEDIUM"), "detail"),
        (lambda e: e["detail"].update(comment="free text"), "detail.comment"),
        (lambda e: e["detail"].update(level="SEVERE"), "detail.level"),
        (lambda e: e["detail"].update(reason="Suspicious login from Lagos"), "detail.reason"),
        (lambda e: e["detail"].update(event_time="2026-12-01T09:00:00"), "detail.event_time"),
        (lambda e: e["detail"].update(version="1"), "detail.version"),
        (lambda e: e["detail"].pop("person_id"), "detail.person_id"),
        (lambda e: e.pop("id"), "id"),
    ],
    ids=[
        "aws_source",
        "no_source",
        "detail_type",
        "detail_not_object",
        "unknown_field",
        "level",
        "free_text_reason",
        "naive_time",
        "version_text",
        "no_subject",
        "no_id",
    ],
)
def test_invalid_event_names_field(change: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        risk_event_from_eventbridge(_broken(change))

    assert raised.value.field == field
    assert raised.value.message.startswith(field)


def test_invalid_email_is_not_echoed() -> None:
    def use_bad_email(event: dict[str, Any]) -> None:
        event["detail"].pop("person_id")
        event["detail"]["email"] = "renee.dubois@@example.com"

    with pytest.raises(InvalidRequestError) as raised:
        risk_event_from_eventbridge(_broken(use_bad_email))

    assert raised.value.field == "detail.email"
    assert "renee" not in raised.value.message
    assert raised.value.__cause__ is None
