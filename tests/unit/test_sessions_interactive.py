"""hireproof.sessions.interactive and the store's interactive sessions on moto.

Sign-ins and self-service recoveries start from a typed work e-mail. These tests check the
decoy rule (an unknown or ineligible e-mail gets a session of the same shape that always
fails), the browser's language, the rate limits and the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr

from hireproof import audit
from hireproof.access import persons
from hireproof.errors import ConflictError, InvitationExpiredError, RateLimitedError
from hireproof.i18n import translate
from hireproof.models import Decision, VerificationPurpose
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import interactive, store
from hireproof.sessions.models import DecisionRecord, SessionStatus
from sessions_support import add_onboarding, make_hire, sessions_stack
from template_resources import StackResources

LOGIN = VerificationPurpose.LOGIN
RECOVERY = VerificationPurpose.RECOVERY
UNKNOWN_EMAIL = "nobody.here@example.com"
SOURCE_IP = "198.51.100.23"
ACTOR = "oidc-provider"
SESSION_ID = re.compile(r"^(login|recovery)-[0-9a-f]{24}$")


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        yield stack


def _person(
    employee_id: str = "4821",
    *,
    locale: str = "en",
    state: str = "ACTIVE",
    access: persons.AccessStatus = persons.AccessStatus.ACTIVE,
) -> tuple[str, str]:
    """Store an onboarding in `state` with its access item, and return the person id and work e-mail."""
    hire = make_hire(employee_id=employee_id, locale=locale)
    person_id = add_onboarding(hire)
    onboarding_store.update_onboarding(person_id, state=state)
    persons.activate(person_id, verified_at=persons.now_iso(), residence_country="US")
    if access is not persons.AccessStatus.ACTIVE:
        persons.set_access_status(person_id, access, actor="test", reason="risk_high")
    return person_id, str(hire.work_email)


def _start(
    email: str,
    purpose: VerificationPurpose = LOGIN,
    *,
    locale: str = "en",
    source_ip: str = SOURCE_IP,
    **kwargs: Any,
) -> interactive.StartedSession:
    return interactive.start_for_email(
        email, purpose, source_ip=source_ip, locale=locale, actor=ACTOR, **kwargs
    )


def _table(stack: StackResources) -> Any:
    return boto3.resource("dynamodb").Table(stack.name("VerificationTable"))


def _item(stack: StackResources, session_id: str) -> dict[str, Any]:
    item: dict[str, Any] = _table(stack).get_item(Key={"session_id": session_id})["Item"]
    return item


def _scan(stack: StackResources, condition: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _table(stack).scan(FilterExpression=condition)["Items"]
    return items


def _sessions(stack: StackResources, purpose: VerificationPurpose) -> list[dict[str, Any]]:
    return _scan(stack, Attr("purpose").eq(purpose.value))


def _started(subject_id: str, purpose: VerificationPurpose = LOGIN) -> list[dict[str, Any]]:
    return [r for r in audit.records_for(subject_id) if r["action"] == f"{purpose.value}_started"]


# ----------------------------------------------------------------- eligible person
def test_start_for_email_eligible_person_gets_session(stack: StackResources) -> None:
    person_id, email = _person()

    started = _start(email)

    assert started.person_id == person_id
    assert started.session.onboarding_id == person_id
    assert started.session.decoy is False
    assert started.session.purpose is LOGIN
    assert started.session.status is SessionStatus.INVITED
    assert SESSION_ID.match(started.session.session_id)
    assert store.session_for_token(started.token).session_id == started.session.session_id


def test_start_for_email_ignores_email_case(stack: StackResources) -> None:
    person_id, email = _person()

    started = _start(f"  {email.upper()} ")

    assert started.person_id == person_id
    assert started.session.decoy is False


def test_start_for_email_stores_token_hash_only(stack: StackResources) -> None:
    _, email = _person()

    started = _start(email)

    item = _item(stack, started.session.session_id)
    assert item["token_hash"] == hashlib.sha256(started.token.encode()).hexdigest()
    assert started.token not in json.dumps(item, default=str)
    assert email not in json.dumps(item, default=str)


def test_start_for_email_link_lasts_link_seconds(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, email = _person()
    default = _start(email)
    monkeypatch.setenv("INTERACTIVE_LINK_SECONDS", "120")

    short = _start(email)

    assert abs(default.session.token_expires_at - (time.time() + 900)) < 60
    assert abs(short.session.token_expires_at - (time.time() + 120)) < 60


def test_start_for_email_link_expires(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    _, email = _person()
    started = _start(email)
    later = started.session.token_expires_at
    monkeypatch.setattr(store, "_now", lambda: later)

    with pytest.raises(InvitationExpiredError):
        store.session_for_token(started.token)


def test_start_for_email_second_start_keeps_first(stack: StackResources) -> None:
    _, email = _person()

    first = _start(email)
    second = _start(email)

    assert first.session.session_id != second.session.session_id
    assert store.session_for_token(first.token).session_id == first.session.session_id
    assert store.session_for_token(second.token).session_id == second.session.session_id


def test_start_for_email_keeps_attributes(stack: StackResources) -> None:
    _, email = _person()

    started = _start(
        email, RECOVERY, attributes={"recovery_channel": "self_service", "oidc_request_id": "r-1"}
    )

    item = _item(stack, started.session.session_id)
    assert item["recovery_channel"] == "self_service"
    assert item["oidc_request_id"] == "r-1"
    assert started.session.recovery_channel == "self_service"


def test_start_for_email_audits_person(stack: StackResources) -> None:
    person_id, email = _person()

    started = _start(email, RECOVERY)

    [record] = _started(person_id, RECOVERY)
    assert record["outcome"] == "started"
    assert record["actor"] == ACTOR
    assert record["reasons"] == []
    assert record["details"]["session_id"] == started.session.session_id
    assert email not in json.dumps(record, default=str)


# ----------------------------------------------------------------- decoys
def test_start_for_email_unknown_email_gets_decoy(stack: StackResources) -> None:
    started = _start(UNKNOWN_EMAIL)

    assert started.person_id is None
    assert started.session.decoy is True
    assert started.session.onboarding_id.startswith("decoy-")
    assert started.session.status is SessionStatus.INVITED
    assert store.session_for_token(started.token).session_id == started.session.session_id


@pytest.mark.parametrize(
    ("state", "access"),
    [
        ("ACTIVE", persons.AccessStatus.SUSPENDED),
        ("ACTIVE", persons.AccessStatus.DISABLED),
        ("VERIFIED", persons.AccessStatus.ACTIVE),
        ("SHIPPED", persons.AccessStatus.ACTIVE),
    ],
)
def test_start_for_email_ineligible_person_gets_decoy(
    stack: StackResources, state: str, access: persons.AccessStatus
) -> None:
    person_id, email = _person(state=state, access=access)

    started = _start(email)

    assert started.person_id is None
    assert started.session.decoy is True
    assert started.session.onboarding_id != person_id


def test_decoy_session_id_has_same_shape(stack: StackResources) -> None:
    _, email = _person()

    real = _start(email, RECOVERY)
    decoy = _start(UNKNOWN_EMAIL, RECOVERY)

    assert SESSION_ID.match(real.session.session_id)
    assert SESSION_ID.match(decoy.session.session_id)
    assert len(real.session.session_id) == len(decoy.session.session_id)
    assert len(real.token) == len(decoy.token)
    assert decoy.session.attempts_left == real.session.attempts_left
    assert decoy.session.token_expires_at - real.session.token_expires_at in (0, 1)


def test_decoy_audited_under_email_hash(stack: StackResources) -> None:
    started = _start(UNKNOWN_EMAIL)

    subject = interactive.email_subject(UNKNOWN_EMAIL)
    [record] = _started(subject)
    assert re.fullmatch(r"email:[0-9a-f]{32}", subject)
    assert record["outcome"] == "not_eligible"
    assert record["reasons"] == ["unknown_person"]
    assert record["details"]["session_id"] == started.session.session_id
    assert UNKNOWN_EMAIL not in json.dumps(record, default=str)


def test_decoy_ineligible_person_audit_reason(stack: StackResources) -> None:
    person_id, email = _person(access=persons.AccessStatus.SUSPENDED)

    _start(email)

    [record] = _started(person_id)
    assert record["outcome"] == "not_eligible"
    assert record["reasons"] == ["not_eligible"]
    assert _started(interactive.email_subject(email)) == []


def test_email_subject_ignores_case(stack: StackResources) -> None:
    assert interactive.email_subject("Nobody.Here@Example.com") == interactive.email_subject(UNKNOWN_EMAIL)


# ----------------------------------------------------------------- language
def test_start_for_email_uses_browser_locale(stack: StackResources) -> None:
    _, email = _person(locale="ja")

    started = _start(email, locale="en")

    assert started.session.locale == "en"
    assert _item(stack, started.session.session_id)["locale"] == "en"


def test_decoy_uses_browser_locale(stack: StackResources) -> None:
    started = _start(UNKNOWN_EMAIL, locale="ja")

    assert started.session.locale == "ja"


# ----------------------------------------------------------------- rate limits
def test_start_for_email_limit_per_email(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "2")
    person_id, email = _person()
    _start(email, source_ip="198.51.100.1")
    _start(email, source_ip="198.51.100.2")

    with pytest.raises(RateLimitedError) as raised:
        _start(email, source_ip="198.51.100.3", locale="ja")

    assert raised.value.message == translate("api.error.rate_limited", "ja")
    assert 0 < raised.value.retry_after <= interactive.RATE_WINDOW_SECONDS
    assert len(_sessions(stack, LOGIN)) == 2
    assert len(_started(person_id)) == 2


def test_start_for_email_limit_same_for_unknown_email(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "2")
    _start(UNKNOWN_EMAIL, source_ip="198.51.100.1")
    _start(UNKNOWN_EMAIL, source_ip="198.51.100.2")

    with pytest.raises(RateLimitedError):
        _start(UNKNOWN_EMAIL, source_ip="198.51.100.3")

    assert len(_sessions(stack, LOGIN)) == 2
    assert len(_started(interactive.email_subject(UNKNOWN_EMAIL))) == 2


def test_start_for_email_limit_counts_any_case(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "2")
    _, email = _person()
    _start(email)
    _start(email.upper())

    with pytest.raises(RateLimitedError):
        _start(email.title())


def test_start_for_email_limit_per_source(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_SOURCE_PER_HOUR", "2")
    _start("first@example.com")
    _start("second@example.com")

    with pytest.raises(RateLimitedError):
        _start("third@example.com")
    other_source = _start("third@example.com", source_ip="203.0.113.9")

    assert other_source.session.decoy is True
    assert len(_sessions(stack, LOGIN)) == 3


def test_start_for_email_limits_per_purpose(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "1")
    _, email = _person()
    _start(email, LOGIN)

    recovery = _start(email, RECOVERY)

    assert recovery.session.purpose is RECOVERY
    with pytest.raises(RateLimitedError):
        _start(email, LOGIN)


def test_start_for_email_limit_zero_disables(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "0")
    monkeypatch.setenv("STARTS_PER_SOURCE_PER_HOUR", "0")
    _, email = _person()

    for _ in range(interactive.DEFAULT_STARTS_PER_PERSON + 1):
        _start(email)

    assert len(_sessions(stack, LOGIN)) == interactive.DEFAULT_STARTS_PER_PERSON + 1
    assert _scan(stack, Attr("session_id").begins_with("ratelimit#")) == []


def test_rate_counters_hold_no_email_or_address(stack: StackResources) -> None:
    _, email = _person()
    _start(email)
    _start(UNKNOWN_EMAIL)

    counters = _scan(stack, Attr("session_id").begins_with("ratelimit#"))

    # One counter for the shared source address, one per e-mail.
    assert len(counters) == 3
    text = json.dumps(counters, default=str)
    assert email not in text
    assert UNKNOWN_EMAIL not in text
    assert SOURCE_IP not in text


# ----------------------------------------------------------------- help desk start
def test_start_for_person_creates_session(stack: StackResources) -> None:
    person_id, _ = _person(locale="ja")

    started = interactive.start_for_person(
        person_id, RECOVERY, locale="en", attributes={"recovery_channel": "help_desk"}
    )

    assert started.person_id == person_id
    assert started.session.onboarding_id == person_id
    assert started.session.purpose is RECOVERY
    assert started.session.locale == "en"
    assert started.session.decoy is False
    assert started.session.recovery_channel == "help_desk"
    assert store.session_for_token(started.token).session_id == started.session.session_id
    # start_for_person counts nothing against the rate limits.
    assert _scan(stack, Attr("session_id").begins_with("ratelimit#")) == []


# ----------------------------------------------------------------- store
def test_start_interactive_item_fields(stack: StackResources) -> None:
    session, token = store.start_interactive("decoy-0011", RECOVERY, "ja", ttl_seconds=600, decoy=True)

    item = _item(stack, session.session_id)
    assert item["onboarding_id"] == "decoy-0011"
    assert item["purpose"] == "recovery"
    assert item["status"] == "INVITED"
    assert item["locale"] == "ja"
    assert item["decoy"] is True
    assert int(item["attempts_left"]) == 3
    assert item["token_hash"] == store.hash_token(token)
    assert int(item["token_expires_at"]) - int(item["created_at"]) == 600
    assert int(item["expires_at"]) == int(item["token_expires_at"]) + store.RETENTION_SECONDS


def test_start_interactive_attributes_never_override_fields(stack: StackResources) -> None:
    session, _ = store.start_interactive(
        "person-1",
        LOGIN,
        "en",
        ttl_seconds=600,
        attributes={"status": "DECIDED", "decoy": True, "onboarding_id": "someone-else", "note": "kept"},
    )

    item = _item(stack, session.session_id)
    assert item["status"] == "INVITED"
    assert item["decoy"] is False
    assert item["onboarding_id"] == "person-1"
    assert item["note"] == "kept"


def test_set_continue_path_on_invited_session(stack: StackResources) -> None:
    session, _ = store.start_interactive("person-1", LOGIN, "en", ttl_seconds=600)

    store.set_continue_path(session.session_id, "/oauth2/resume?request=r-1&session=s-1")

    assert store.get_session(session.session_id).continue_path == "/oauth2/resume?request=r-1&session=s-1"


def test_set_continue_path_after_open_is_rejected(stack: StackResources) -> None:
    session, _ = store.start_interactive("person-1", LOGIN, "en", ttl_seconds=600)
    store.set_continue_path(session.session_id, "/oauth2/resume?request=r-1")
    store.mark_in_progress(session)

    with pytest.raises(ConflictError):
        store.set_continue_path(session.session_id, "https://attacker.example/")

    assert store.get_session(session.session_id).continue_path == "/oauth2/resume?request=r-1"


def test_set_continue_path_unknown_session_creates_nothing(stack: StackResources) -> None:
    with pytest.raises(ConflictError):
        store.set_continue_path("login-000000000000000000000000", "/oauth2/resume")

    assert _table(stack).get_item(Key={"session_id": "login-000000000000000000000000"}).get("Item") is None


def test_record_decision_stores_document_metadata(stack: StackResources) -> None:
    session, _ = store.start_interactive("person-1", LOGIN, "en", ttl_seconds=600)
    record = DecisionRecord(
        decision=Decision.PASSED,
        reasons=[],
        scores={},
        document_type="driver_license",
        document_country="USA",
    )

    decided, won = store.record_decision(session, record)

    assert won is True
    assert decided.document_type == "driver_license"
    assert decided.document_country == "USA"
    assert decided.decided_at is not None
    item = _item(stack, session.session_id)
    assert (item["document_type"], item["document_country"]) == ("driver_license", "USA")


def test_record_decision_without_document_metadata(stack: StackResources) -> None:
    session, _ = store.start_interactive("decoy-0011", LOGIN, "en", ttl_seconds=600, decoy=True)
    record = DecisionRecord(decision=Decision.FAILED, reasons=["not_eligible"], scores={})

    decided, _ = store.record_decision(session, record)

    assert decided.document_type is None
    assert decided.document_country is None
    assert decided.decision is Decision.FAILED
