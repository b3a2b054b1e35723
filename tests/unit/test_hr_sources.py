"""hireproof.hr.sources: per-source signature checks, delivery ids and body handling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from hireproof.errors import (
    InvalidRequestError,
    MalformedBodyError,
    PayloadTooLargeError,
    SignatureInvalidError,
    SignatureMissingError,
    TimestampOutOfWindowError,
    UnknownSourceError,
)
from hireproof.hr import sources
from hireproof.models import HireSource

KEY = b"source-test-key"
NOW = 1_800_000_000
BAMBOO_BODY = json.dumps(
    {
        "type": "employee.created",
        "timestamp": "2027-01-15T08:00:00+0000",
        "data": {"companyId": "12345", "employeeId": "4021", "changedFields": []},
    }
).encode()
GREENHOUSE_BODY = json.dumps({"action": "hire_candidate", "payload": {"application": {}}}).encode()
GENERIC_BODY = json.dumps({"employee_id": "E-1"}, ensure_ascii=False).encode()


def signed(
    source: HireSource, body: bytes, *, timestamp: int = NOW, event_id: str = "evt-1"
) -> dict[str, str]:
    return sources.signed_headers(source, KEY, body, timestamp=timestamp, event_id=event_id)


def read(
    source: HireSource, headers: dict[str, str], body: bytes, key: bytes = KEY
) -> sources.Delivery:
    return sources.read_delivery(source, headers, body, key, now=NOW)


# ---------------------------------------------------------------- bamboohr
def test_bamboohr_signs_body_then_timestamp() -> None:
    headers = signed(HireSource.BAMBOOHR, BAMBOO_BODY)
    expected = hmac.new(KEY, BAMBOO_BODY + str(NOW).encode(), hashlib.sha256).hexdigest()
    assert headers == {"X-BambooHR-Timestamp": str(NOW), "X-BambooHR-Signature": expected}

    delivery = read(HireSource.BAMBOOHR, headers, BAMBOO_BODY)

    assert delivery.is_hire
    assert delivery.action == "employee.created"
    assert delivery.event_id == "12345:4021:2027-01-15T08:00:00+0000"
    assert delivery.document["data"]["employeeId"] == "4021"


def test_bamboohr_lower_case_headers() -> None:
    headers = {
        name.lower(): value for name, value in signed(HireSource.BAMBOOHR, BAMBOO_BODY).items()
    }
    assert read(HireSource.BAMBOOHR, headers, BAMBOO_BODY).is_hire


def test_bamboohr_upper_case_headers() -> None:
    headers = {
        name.upper(): value for name, value in signed(HireSource.BAMBOOHR, BAMBOO_BODY).items()
    }
    assert read(HireSource.BAMBOOHR, headers, BAMBOO_BODY).is_hire


def test_bamboohr_rejects_wrong_key() -> None:
    headers = sources.signed_headers(
        HireSource.BAMBOOHR, b"wrong-key", BAMBOO_BODY, timestamp=NOW, event_id="x"
    )
    with pytest.raises(SignatureInvalidError):
        read(HireSource.BAMBOOHR, headers, BAMBOO_BODY)


def test_bamboohr_rejects_tampered_body() -> None:
    headers = signed(HireSource.BAMBOOHR, BAMBOO_BODY)
    with pytest.raises(SignatureInvalidError):
        read(HireSource.BAMBOOHR, headers, BAMBOO_BODY.replace(b"4021", b"4022"))


def test_bamboohr_rejects_swapped_timestamp() -> None:
    headers = signed(HireSource.BAMBOOHR, BAMBOO_BODY)
    headers["X-BambooHR-Timestamp"] = str(NOW + 1)
    with pytest.raises(SignatureInvalidError):
        read(HireSource.BAMBOOHR, headers, BAMBOO_BODY)


@pytest.mark.parametrize("age", [301, -301])
def test_bamboohr_rejects_stale_timestamps(age: int) -> None:
    headers = signed(HireSource.BAMBOOHR, BAMBOO_BODY, timestamp=NOW - age)
    with pytest.raises(TimestampOutOfWindowError):
        read(HireSource.BAMBOOHR, headers, BAMBOO_BODY)


@pytest.mark.parametrize("missing", ["X-BambooHR-Signature", "X-BambooHR-Timestamp"])
def test_bamboohr_names_missing_header(missing: str) -> None:
    headers = signed(HireSource.BAMBOOHR, BAMBOO_BODY)
    del headers[missing]
    with pytest.raises(SignatureMissingError) as caught:
        read(HireSource.BAMBOOHR, headers, BAMBOO_BODY)
    assert caught.value.field == missing


def test_bamboohr_other_types_not_hires() -> None:
    body = BAMBOO_BODY.replace(b"employee.created", b"employee.updated")
    delivery = read(HireSource.BAMBOOHR, signed(HireSource.BAMBOOHR, body), body)
    assert not delivery.is_hire
    assert delivery.action == "employee.updated"


def test_bamboohr_missing_employee_id() -> None:
    body = json.dumps(
        {"type": "employee.created", "timestamp": "t", "data": {"companyId": "1"}}
    ).encode()
    with pytest.raises(InvalidRequestError) as caught:
        read(HireSource.BAMBOOHR, signed(HireSource.BAMBOOHR, body), body)
    assert caught.value.field == "data.employeeId"


# ---------------------------------------------------------------- greenhouse
def test_greenhouse_signs_body_sha256() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY, event_id="gh-1")
    digest = hmac.new(KEY, GREENHOUSE_BODY, hashlib.sha256).hexdigest()
    assert headers["Signature"] == f"sha256 {digest}"

    delivery = read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY)

    assert delivery.is_hire
    assert delivery.event_id == "gh-1"
    assert delivery.action == "hire_candidate"


@pytest.mark.parametrize("action", ["hire_candidate", "candidate_hired"])
def test_greenhouse_both_hire_actions(action: str) -> None:
    body = json.dumps({"action": action, "payload": {}}).encode()
    assert read(HireSource.GREENHOUSE, signed(HireSource.GREENHOUSE, body), body).is_hire


def test_greenhouse_ping_not_hire() -> None:
    body = json.dumps({"action": "ping", "payload": {"web_hook_id": 1}}).encode()
    delivery = read(HireSource.GREENHOUSE, signed(HireSource.GREENHOUSE, body), body)
    assert not delivery.is_hire
    assert delivery.action == "ping"


def test_greenhouse_no_replay_window() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY, timestamp=0)
    assert read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY).is_hire


def test_greenhouse_rejects_tampered_body() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY)
    with pytest.raises(SignatureInvalidError):
        read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY + b" ")


def test_greenhouse_rejects_other_algorithm() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY)
    headers["Signature"] = headers["Signature"].replace("sha256", "sha1")
    with pytest.raises(SignatureInvalidError) as caught:
        read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY)
    assert caught.value.field == "Signature"


def test_greenhouse_signature_missing() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY)
    del headers["Signature"]
    with pytest.raises(SignatureMissingError):
        read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY)


def test_greenhouse_missing_event_id() -> None:
    headers = signed(HireSource.GREENHOUSE, GREENHOUSE_BODY)
    del headers["Greenhouse-Event-ID"]
    with pytest.raises(InvalidRequestError) as caught:
        read(HireSource.GREENHOUSE, headers, GREENHOUSE_BODY)
    assert caught.value.field == "Greenhouse-Event-ID"


# ---------------------------------------------------------------- generic
def test_generic_signs_timestamp_dot_body() -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY, event_id="hris-9")
    digest = hmac.new(KEY, f"{NOW}.".encode() + GENERIC_BODY, hashlib.sha256).hexdigest()
    assert headers == {
        "X-HireProof-Event-Id": "hris-9",
        "X-HireProof-Timestamp": str(NOW),
        "X-HireProof-Signature": f"v1={digest}",
    }

    delivery = read(HireSource.GENERIC, headers, GENERIC_BODY)

    assert delivery.is_hire
    assert delivery.event_id == "hris-9"


def test_generic_utf8_body_bytes() -> None:
    body = json.dumps({"legal_name": {"given": "花子"}}, ensure_ascii=False).encode("utf-8")
    delivery = read(HireSource.GENERIC, signed(HireSource.GENERIC, body), body)
    assert delivery.document["legal_name"]["given"] == "花子"


@pytest.mark.parametrize("age", [301, -301])
def test_generic_rejects_stale_timestamps(age: int) -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY, timestamp=NOW - age)
    with pytest.raises(TimestampOutOfWindowError):
        read(HireSource.GENERIC, headers, GENERIC_BODY)


def test_generic_requires_v1_prefix() -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY)
    headers["X-HireProof-Signature"] = headers["X-HireProof-Signature"].removeprefix("v1=")
    with pytest.raises(SignatureInvalidError):
        read(HireSource.GENERIC, headers, GENERIC_BODY)


def test_generic_rejects_wrong_key() -> None:
    with pytest.raises(SignatureInvalidError):
        read(
            HireSource.GENERIC, signed(HireSource.GENERIC, GENERIC_BODY), GENERIC_BODY, key=b"other"
        )


@pytest.mark.parametrize("missing", ["X-HireProof-Signature", "X-HireProof-Timestamp"])
def test_generic_names_missing_header(missing: str) -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY)
    del headers[missing]
    with pytest.raises(SignatureMissingError) as caught:
        read(HireSource.GENERIC, headers, GENERIC_BODY)
    assert caught.value.field == missing


def test_generic_missing_event_id() -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY)
    del headers["X-HireProof-Event-Id"]
    with pytest.raises(InvalidRequestError) as caught:
        read(HireSource.GENERIC, headers, GENERIC_BODY)
    assert caught.value.field == "X-HireProof-Event-Id"


def test_generic_rejects_long_event_id() -> None:
    headers = signed(HireSource.GENERIC, GENERIC_BODY, event_id="e" * 201)
    with pytest.raises(InvalidRequestError):
        read(HireSource.GENERIC, headers, GENERIC_BODY)


# ---------------------------------------------------------------- bodies
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_read_delivery_non_object_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBodyError):
        read(HireSource.GENERIC, signed(HireSource.GENERIC, body), body)


def test_read_delivery_signature_before_parsing() -> None:
    headers = signed(HireSource.GENERIC, b"{}")
    with pytest.raises(SignatureInvalidError):
        read(HireSource.GENERIC, headers, b"{not json")


def test_raw_body_decodes_base64() -> None:
    body = '{"given": "花子"}'.encode()
    event = {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    assert sources.raw_body(event) == body
    delivery = read(HireSource.GENERIC, signed(HireSource.GENERIC, body), sources.raw_body(event))
    assert delivery.document == {"given": "花子"}


def test_raw_body_encodes_text_utf8() -> None:
    assert (
        sources.raw_body({"body": '{"a": "é"}', "isBase64Encoded": False}) == '{"a": "é"}'.encode()
    )
    assert sources.raw_body({}) == b""


def test_raw_body_rejects_bad_input() -> None:
    with pytest.raises(MalformedBodyError):
        sources.raw_body({"body": "***", "isBase64Encoded": True})
    with pytest.raises(PayloadTooLargeError):
        sources.raw_body({"body": "x" * (sources.MAX_BODY_BYTES + 1)})


def test_parse_source_lists_accepted() -> None:
    assert sources.parse_source("greenhouse") is HireSource.GREENHOUSE
    with pytest.raises(UnknownSourceError) as caught:
        sources.parse_source("workday")
    assert "bamboohr, greenhouse, generic" in caught.value.message
    assert caught.value.field == "source"
