"""Shared Signals push delivery: hireproof.risk.ssf and functions/ssf_receiver.

SETs are signed here with a locally generated RSA key. A fetch function injected into JwksCache
serves the transmitter's JWKS, so no test opens a socket. DynamoDB and EventBridge run in moto,
and PutEvents calls are recorded on HireProof's own client.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof import audit, aws
from hireproof.access.persons import RiskLevel
from hireproof.errors import ConfigurationError, SetRejectedError
from hireproof.jwks import JwksCache
from hireproof.models import OnboardingState
from hireproof.onboarding import store
from hireproof.risk import ssf
from hireproof.risk.models import RiskEventKind
from hireproof.risk.ssf import SecurityEventToken, SetReceiver, TransmitterSettings
from sessions_support import CallRecorder, add_onboarding, load_event, load_handler, make_hire
from template_resources import StackResources, mocked_stack

ISSUER = "https://idp.example.com/3456789/"
AUDIENCE = "https://hireproof.example.com/ssf"
JWKS_URI = "https://idp.example.com/3456789/jwks.json"
KID = "transmitter-key-1"
WORK_EMAIL = "renee.dubois.4821@example.com"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
TRANSMITTER = TransmitterSettings(issuer=ISSUER, jwks_uri=JWKS_URI, audience=AUDIENCE)

# One 2048-bit key per test run: generating it takes tens of milliseconds.
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk


@dataclass
class KeyServer:
    """The transmitter's JWKS endpoint, as a fetch function for JwksCache."""

    keys: list[dict[str, Any]]
    fail: bool = False
    fetches: int = 0

    def fetch(self, url: str) -> bytes:
        assert url == JWKS_URI
        self.fetches += 1
        if self.fail:
            raise OSError("connection refused")
        return json.dumps({"keys": self.keys}).encode()


@pytest.fixture
def key_server() -> KeyServer:
    return KeyServer(keys=[_jwk(SIGNING_KEY, KID)])


def _receiver(
    key_server: KeyServer, transmitters: tuple[TransmitterSettings, ...] = (TRANSMITTER,)
) -> SetReceiver:
    return SetReceiver(
        transmitters, jwks_factory=lambda settings: JwksCache(settings.jwks_uri, fetch=key_server.fetch)
    )


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "jti": uuid.uuid4().hex,
        "iat": int(time.time()),
        "aud": AUDIENCE,
        "txn": "8675309",
        "sub_id": {"format": "email", "email": WORK_EMAIL},
        "events": {
            f"{CAEP}credential-change": {
                "credential_type": "password",
                "change_type": "update",
                "reason_admin": {"en": "Password reset by the help desk"},
                "event_timestamp": int(time.time()) - 60,
            }
        },
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _set(
    claims: dict[str, Any] | None = None,
    *,
    key: Any = SIGNING_KEY,
    algorithm: str = "RS256",
    headers: dict[str, Any] | None = None,
) -> bytes:
    header = {"typ": "secevent+jwt", "kid": KID}
    header.update(headers or {})
    header = {name: value for name, value in header.items() if value is not None}
    token = jwt.encode(claims or _claims(), key, algorithm=algorithm, headers=header)
    return token.encode("ascii")


def _unsigned_set(claims: dict[str, Any]) -> bytes:
    def part(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'secevent+jwt', 'kid': KID})}.{part(claims)}.".encode()


# ----------------------------------------------------------------- the stack and the handler
@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack(
        extra_environment={"SSF_TRANSMITTERS": json.dumps([TRANSMITTER.model_dump()])}
    ) as resources:
        yield resources


@pytest.fixture
def person_id(stack: StackResources) -> str:
    onboarding_id = add_onboarding(make_hire())
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE)
    return onboarding_id


@pytest.fixture
def put_events(stack: StackResources) -> list[dict[str, Any]]:
    return CallRecorder().watch("events", "events", "PutEvents")


@dataclass
class LambdaContext:
    function_name: str = "SsfReceiverFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:SsfReceiverFunction"
    aws_request_id: str = "req-ssf-0001"


@pytest.fixture
def handler(stack: StackResources, key_server: KeyServer) -> ModuleType:
    module = load_handler("ssf_receiver")
    receiver = _receiver(key_server)
    module._receiver = lambda: receiver
    return module


def _request(
    body: bytes, *, content_type: str = "application/secevent+jwt", base64_body: bool = False
) -> dict[str, Any]:
    event = load_event("ssf_receiver", "credential_change")
    event["headers"]["content-type"] = content_type
    if base64_body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body.decode("latin-1")
    return event


def _post(handler: ModuleType, body: bytes, **options: Any) -> tuple[int, str]:
    response = handler.lambda_handler(_request(body, **options), LambdaContext())
    return int(response["statusCode"]), str(response.get("body") or "")


def _rejected(handler: ModuleType, body: bytes, **options: Any) -> tuple[int, dict[str, Any]]:
    status, text = _post(handler, body, **options)
    return status, json.loads(text)


def _jti_record(jti: str) -> dict[str, Any] | None:
    key = {"pk": f"SSF#{ssf.issuer_hash(ISSUER)}", "sk": f"JTI#{jti}"}
    item = aws.table(os.environ["ONBOARDING_TABLE"]).get_item(Key=key, ConsistentRead=True).get("Item")
    return dict(item) if item else None


# ----------------------------------------------------------------- accepted SETs
def test_valid_set_is_published(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    claims = _claims()

    status, body = _post(handler, _set(claims))

    assert (status, body) == (202, "")
    [call] = put_events
    [entry] = call["Entries"]
    assert entry["Source"] == "hireproof.risk"
    assert entry["DetailType"] == "RiskLevelChanged"
    detail = json.loads(entry["Detail"])
    assert detail["person_id"] == person_id
    assert detail["level"] == "MEDIUM"
    assert detail["kind"] == "credential_change"
    assert detail["reason"] == "credential_update_password"
    assert detail["event_id"] == f"set:{ssf.issuer_hash(ISSUER)}:{claims['jti']}"
    assert detail["source"] == f"ssf:{ISSUER}"
    assert "email" not in detail
    assert WORK_EMAIL not in entry["Detail"]


def test_valid_set_is_audited_and_recorded(handler: ModuleType, person_id: str) -> None:
    claims = _claims()

    _post(handler, _set(claims))

    [record] = [r for r in audit.records_for(person_id) if r["action"] == "security_event_received"]
    assert record["outcome"] == "MEDIUM"
    assert record["details"]["jti"] == claims["jti"]
    assert record["details"]["event_type"] == "credential-change"
    stored = _jti_record(claims["jti"])
    assert stored is not None
    assert stored["status"] == "PROCESSED"
    assert stored["expires_at"] >= int(time.time()) + 31 * 86400 - 5


def test_replayed_jti_has_no_new_effect(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    token = _set()

    first = _post(handler, token)
    second = _post(handler, token)

    assert first == (202, "")
    assert second == (202, "")
    assert len(put_events) == 1


def test_jti_left_by_crash_is_published(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    claims = _claims()
    key = {"pk": f"SSF#{ssf.issuer_hash(ISSUER)}", "sk": f"JTI#{claims['jti']}"}
    aws.table(os.environ["ONBOARDING_TABLE"]).put_item(Item={**key, "status": "RECEIVED"})

    assert _post(handler, _set(claims)) == (202, "")

    assert len(put_events) == 1


def test_base64_body_and_charset_are_accepted(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    status, _ = _post(
        handler, _set(), base64_body=True, content_type="application/secevent+jwt; charset=us-ascii"
    )

    assert status == 202
    assert len(put_events) == 1


def test_content_type_header_name_is_case_insensitive(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    event = _request(_set())
    event["headers"]["Content-Type"] = event["headers"].pop("content-type")

    response = handler.lambda_handler(event, LambdaContext())

    assert response["statusCode"] == 202
    assert len(put_events) == 1


def test_audience_list_is_accepted(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    status, _ = _post(handler, _set(_claims(aud=["https://other.example", AUDIENCE])))

    assert status == 202
    assert len(put_events) == 1


def test_unknown_subject_is_accepted_silently(
    handler: ModuleType, stack: StackResources, put_events: list[dict[str, Any]]
) -> None:
    claims = _claims(sub_id={"format": "email", "email": "nobody@example.com"})

    status, body = _post(handler, _set(claims))

    assert (status, body) == (202, "")
    assert put_events == []
    [record] = audit.records_for(f"ssf:{ssf.issuer_hash(ISSUER)}")
    assert record["action"] == "security_event_dropped"
    assert record["outcome"] == "unknown_subject"
    assert record["details"]["subject_format"] == "email"
    assert "nobody" not in json.dumps(record, default=str)


def test_event_type_without_risk_is_accepted(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    events = {f"{CAEP}session-established": {"event_timestamp": int(time.time())}}

    status, _ = _post(handler, _set(_claims(events=events)))

    assert status == 202
    assert put_events == []


# ----------------------------------------------------------------- rejected SETs
def _assert_err(result: tuple[int, dict[str, Any]], err: str) -> None:
    status, body = result
    assert status == 400
    assert body["err"] == err
    assert set(body) == {"err", "description"}
    assert body["description"]


def test_wrong_typ_is_invalid_request(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(headers={"typ": "JWT"})), "invalid_request")


def test_missing_typ_is_invalid_request(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(headers={"typ": None})), "invalid_request")


def test_alg_none_is_authentication_failed(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _unsigned_set(_claims())), "authentication_failed")


def test_hs256_is_invalid_key(handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]) -> None:
    # An HMAC-signed SET must not pass, although its header names a kid the JWKS contains.
    token = _set(key="a-shared-secret-of-32-bytes-long!", algorithm="HS256")

    _assert_err(_rejected(handler, token), "invalid_key")
    assert put_events == []


def test_unknown_issuer_is_invalid_issuer(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(_claims(iss="https://attacker.example/"))), "invalid_issuer")


def test_no_transmitters_rejects_all(stack: StackResources, key_server: KeyServer, person_id: str) -> None:
    module = load_handler("ssf_receiver")
    receiver = _receiver(key_server, transmitters=())
    module._receiver = lambda: receiver

    _assert_err(_rejected(module, _set()), "invalid_issuer")
    assert key_server.fetches == 0


@pytest.mark.parametrize("aud", ["https://other.example", ["https://other.example"], None])
def test_wrong_audience_is_invalid_audience(handler: ModuleType, person_id: str, aud: Any) -> None:
    claims = _claims()
    claims.pop("aud")
    if aud is not None:
        claims["aud"] = aud

    _assert_err(_rejected(handler, _set(claims)), "invalid_audience")


def test_unknown_kid_is_invalid_key(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(headers={"kid": "rotated-away"})), "invalid_key")


def test_missing_kid_is_invalid_key(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(headers={"kid": None})), "invalid_key")


def test_bad_signature_is_invalid_key(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    _assert_err(_rejected(handler, _set(key=OTHER_KEY)), "invalid_key")
    assert put_events == []


def test_short_rsa_key_is_invalid_key(stack: StackResources, person_id: str) -> None:
    # The JWKS cache drops keys under 2048 bits, so a SET signed with one names an unknown kid.
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    module = load_handler("ssf_receiver")
    receiver = _receiver(KeyServer(keys=[_jwk(SIGNING_KEY, KID), _jwk(weak, "weak-key")]))
    module._receiver = lambda: receiver

    _assert_err(_rejected(module, _set(key=weak, headers={"kid": "weak-key"})), "invalid_key")


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "renee"},
        {"exp": int(time.time()) + 3600},
        {"exp": int(time.time()) - 3600},
        {"jti": None},
        {"jti": "j" * 129},
        {"iat": None},
        {"iat": int(time.time()) + 3600},
        {"iat": int(time.time()) - 31 * 86400},
        {"events": None},
        {"events": {}},
        {"events": {f"{CAEP}session-revoked": {}, f"{RISC}account-disabled": {}}},
        {"events": {f"{CAEP}session-revoked": "revoked"}},
        {"sub_id": "renee"},
    ],
    ids=[
        "sub",
        "exp_future",
        "exp_past",
        "no_jti",
        "long_jti",
        "no_iat",
        "future_iat",
        "old_iat",
        "no_events",
        "empty_events",
        "two_events",
        "event_not_object",
        "sub_id_not_object",
    ],
)
def test_invalid_claims_are_invalid_request(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]], changes: dict[str, Any]
) -> None:
    claims = _claims()
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value

    _assert_err(_rejected(handler, _set(claims)), "invalid_request")
    assert put_events == []


def test_invalid_event_payload_is_invalid_request(handler: ModuleType, person_id: str) -> None:
    events = {f"{CAEP}risk-level-change": {"current_level": "SEVERE", "principal": "USER"}}

    _assert_err(_rejected(handler, _set(_claims(events=events))), "invalid_request")


def test_wrong_content_type_is_invalid_request(handler: ModuleType, person_id: str) -> None:
    _assert_err(_rejected(handler, _set(), content_type="application/json"), "invalid_request")


def test_oversized_body_is_invalid_request(handler: ModuleType, person_id: str) -> None:
    padded = _claims(padding="x" * (ssf.MAX_SET_BYTES + 1))

    _assert_err(_rejected(handler, _set(padded)), "invalid_request")
    _assert_err(_rejected(handler, _set(padded), base64_body=True), "invalid_request")


@pytest.mark.parametrize("body", [b"not a token", b"\xff\xfe", b"a.b.c"])
def test_garbage_body_is_invalid_request(handler: ModuleType, person_id: str, body: bytes) -> None:
    _assert_err(_rejected(handler, body), "invalid_request")


def test_unreachable_jwks_is_503(stack: StackResources, person_id: str) -> None:
    module = load_handler("ssf_receiver")
    receiver = _receiver(KeyServer(keys=[], fail=True))
    module._receiver = lambda: receiver

    status, body = _rejected(module, _set())

    assert status == 503
    assert body["error"] == "JwksUnavailableError"


# ----------------------------------------------------------------- event mapping
def _token(event_type: str, event: dict[str, Any], **changes: Any) -> SecurityEventToken:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "jti": "jti-1",
        "issued_at": dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
        "event_type": event_type,
        "event": event,
        "subject": {"format": "email", "email": WORK_EMAIL},
    }
    values.update(changes)
    return SecurityEventToken(**values)


NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("event_type", "event", "kind", "level", "reason"),
    [
        (
            f"{CAEP}risk-level-change",
            {"current_level": "HIGH", "principal": "USER", "risk_reason": "PASSWORD_FOUND_IN_DATA_BREACH"},
            RiskEventKind.RISK_LEVEL_CHANGE,
            RiskLevel.HIGH,
            "user_password_found_in_data_breach",
        ),
        (
            f"{CAEP}risk-level-change",
            {"current_level": "low"},
            RiskEventKind.RISK_LEVEL_CHANGE,
            RiskLevel.LOW,
            "risk_level_change",
        ),
        (f"{CAEP}session-revoked", {}, RiskEventKind.SESSION_REVOKED, RiskLevel.HIGH, "session_revoked"),
        (
            f"{CAEP}credential-change",
            {"credential_type": "fido2-roaming", "change_type": "create"},
            RiskEventKind.CREDENTIAL_CHANGE,
            RiskLevel.MEDIUM,
            "credential_create_fido2_roaming",
        ),
        (
            f"{CAEP}assurance-level-change",
            {"namespace": "NIST-AAL", "current_level": "nist-aal1", "change_direction": "decrease"},
            RiskEventKind.ASSURANCE_LEVEL_CHANGE,
            RiskLevel.MEDIUM,
            "assurance_level_decrease",
        ),
        (
            f"{CAEP}device-compliance-change",
            {"current_status": "not-compliant", "previous_status": "compliant"},
            RiskEventKind.DEVICE_COMPLIANCE_CHANGE,
            RiskLevel.MEDIUM,
            "device_not_compliant",
        ),
        (
            f"{CAEP}device-compliance-change",
            {"current_status": "compliant", "previous_status": "not-compliant"},
            RiskEventKind.DEVICE_COMPLIANCE_CHANGE,
            RiskLevel.LOW,
            "device_compliant",
        ),
        (
            f"{RISC}account-disabled",
            {"reason": "hijacking"},
            RiskEventKind.ACCOUNT_DISABLED,
            RiskLevel.HIGH,
            "account_disabled_hijacking",
        ),
        (f"{RISC}account-disabled", {}, RiskEventKind.ACCOUNT_DISABLED, RiskLevel.HIGH, "account_disabled"),
        (
            f"{RISC}credential-compromise",
            {"credential_type": "password"},
            RiskEventKind.CREDENTIAL_COMPROMISE,
            RiskLevel.HIGH,
            "credential_compromise_password",
        ),
        (
            f"{RISC}identifier-changed",
            {"new-value": "renee.roe@example.com"},
            RiskEventKind.IDENTIFIER_CHANGED,
            RiskLevel.MEDIUM,
            "identifier_changed",
        ),
    ],
    ids=lambda value: (
        value.rsplit("/", 1)[-1] if isinstance(value, str) and value.startswith("https") else None
    ),
)
def test_map_event(
    event_type: str, event: dict[str, Any], kind: RiskEventKind, level: RiskLevel, reason: str
) -> None:
    signal = ssf.map_event(_token(event_type, event), now=NOW)

    assert signal is not None
    assert (signal.kind, signal.level, signal.reason) == (kind, level, reason)


@pytest.mark.parametrize(
    "event",
    [
        {"namespace": "NIST-AAL", "current_level": "nist-aal2", "change_direction": "increase"},
        {"namespace": "Retinal Scan", "current_level": "hi-res-scan"},
    ],
)
def test_assurance_without_decrease_is_ignored(event: dict[str, Any]) -> None:
    assert ssf.map_event(_token(f"{CAEP}assurance-level-change", event), now=NOW) is None


@pytest.mark.parametrize(
    ("event_type", "event"),
    [
        (f"{CAEP}credential-change", {"credential_type": "password"}),
        (f"{CAEP}credential-change", {"change_type": "update"}),
        (f"{CAEP}device-compliance-change", {"current_status": "unknown"}),
        (f"{CAEP}risk-level-change", {"principal": "USER"}),
        (f"{CAEP}assurance-level-change", {"change_direction": "decrease"}),
    ],
)
def test_map_event_missing_field_is_invalid_request(event_type: str, event: dict[str, Any]) -> None:
    with pytest.raises(SetRejectedError) as raised:
        ssf.map_event(_token(event_type, event), now=NOW)

    assert raised.value.err == "invalid_request"


def test_event_time_prefers_event_timestamp() -> None:
    stamp = int(dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC).timestamp())
    toe = dt.datetime(2026, 12, 1, 8, 45, tzinfo=dt.UTC)

    with_stamp = ssf.map_event(_token(f"{CAEP}session-revoked", {"event_timestamp": stamp}, toe=toe), now=NOW)
    with_toe = ssf.map_event(_token(f"{CAEP}session-revoked", {}, toe=toe), now=NOW)
    with_iat = ssf.map_event(_token(f"{CAEP}session-revoked", {}), now=NOW)

    assert with_stamp is not None
    assert with_stamp.event_time == dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)
    assert with_toe is not None
    assert with_toe.event_time == toe
    assert with_iat is not None
    assert with_iat.event_time == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_future_event_timestamp_is_invalid_request() -> None:
    future = int((NOW + dt.timedelta(hours=1)).timestamp())

    with pytest.raises(SetRejectedError) as raised:
        ssf.map_event(_token(f"{CAEP}session-revoked", {"event_timestamp": future}), now=NOW)

    assert raised.value.err == "invalid_request"
    assert raised.value.field == "event_timestamp"


# ----------------------------------------------------------------- subjects
@pytest.mark.parametrize(
    "subject",
    [
        {"format": "email", "email": "Renee.Dubois.4821@Example.com"},
        {"format": "iss_sub", "iss": ISSUER, "sub": WORK_EMAIL},
        {"format": "opaque", "id": WORK_EMAIL},
        {"format": "account", "uri": f"acct:{WORK_EMAIL}"},
        {
            "format": "complex",
            "user": {"format": "email", "email": WORK_EMAIL},
            "tenant": {"format": "opaque", "id": "1"},
        },
        {"user": {"format": "email", "email": WORK_EMAIL}},
        {
            "format": "aliases",
            "identifiers": [
                {"format": "phone_number", "phone_number": "+12065550100"},
                {"format": "email", "email": WORK_EMAIL},
            ],
        },
    ],
    ids=["email", "iss_sub_email", "opaque_email", "account", "complex", "draft_complex", "aliases"],
)
def test_resolve_subject_by_email(person_id: str, subject: dict[str, Any]) -> None:
    assert ssf.resolve_subject(subject) == person_id


def test_resolve_subject_by_person_id(person_id: str) -> None:
    assert ssf.resolve_subject({"format": "iss_sub", "iss": ISSUER, "sub": person_id}) == person_id
    assert ssf.resolve_subject({"format": "opaque", "id": person_id}) == person_id


@pytest.mark.parametrize(
    "subject",
    [
        None,
        {"format": "iss_sub", "iss": ISSUER, "sub": "99beb27c-c1c2-4955-882a-e0dc4996fcbc"},
        {"format": "phone_number", "phone_number": "+12065550100"},
        {"format": "complex", "device": {"format": "opaque", "id": "laptop-7"}},
        {"format": "email", "email": "not an address"},
        {"format": "account", "uri": "mailto:renee@example.com"},
    ],
    ids=["none", "idp_user_id", "phone", "device_only", "bad_email", "not_acct"],
)
def test_resolve_subject_unknown(person_id: str, subject: dict[str, Any] | None) -> None:
    assert ssf.resolve_subject(subject) is None


def test_draft_subject_in_event_is_used(
    handler: ModuleType, person_id: str, put_events: list[dict[str, Any]]
) -> None:
    events = {f"{CAEP}session-revoked": {"subject": {"format": "email", "email": WORK_EMAIL}}}
    claims = _claims(events=events)
    claims.pop("sub_id")

    assert _post(handler, _set(claims)) == (202, "")

    [call] = put_events
    assert json.loads(call["Entries"][0]["Detail"])["level"] == "HIGH"


# ----------------------------------------------------------------- settings
def test_transmitters_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSF_TRANSMITTERS", json.dumps([TRANSMITTER.model_dump()]))

    assert ssf.transmitters_from_env() == (TRANSMITTER,)


@pytest.mark.parametrize("value", ["[]", ""])
def test_transmitters_empty(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SSF_TRANSMITTERS", value)

    assert ssf.transmitters_from_env() == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not JSON"),
        ('{"issuer": "x"}', "JSON list"),
        (json.dumps([{"issuer": ISSUER, "jwks_uri": JWKS_URI}]), "audience"),
        (json.dumps([{**TRANSMITTER.model_dump(), "jwks_uri": "http://idp.example.com/jwks"}]), "https"),
        (json.dumps([TRANSMITTER.model_dump(), TRANSMITTER.model_dump()]), "twice"),
    ],
    ids=["not_json", "not_list", "no_audience", "http_jwks", "duplicate"],
)
def test_transmitters_invalid(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("SSF_TRANSMITTERS", value)

    with pytest.raises(ConfigurationError, match=message):
        ssf.transmitters_from_env()


def test_handler_reads_transmitters_from_env(stack: StackResources) -> None:
    module = load_handler("ssf_receiver")

    receiver: Callable[[], SetReceiver] = module._receiver
    assert list(receiver().transmitters) == [ISSUER]
