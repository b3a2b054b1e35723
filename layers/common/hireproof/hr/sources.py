"""Signature schemes, delivery ids and hire events of each HR source.

Every check runs over the bytes received: the API Gateway body, base64-decoded when
`isBase64Encoded` is set. Header names are matched case-insensitively.

bamboohr
    Event-based webhook. ``X-BambooHR-Signature`` is the hex HMAC-SHA256, keyed with the
    webhook's private key, of the raw body followed by the ``X-BambooHR-Timestamp`` value.
    BambooHR documents no replay window; HireProof accepts timestamps within 5 minutes of
    its clock. The body is ``{"type", "timestamp", "data": {"companyId", "employeeId",
    "changedFields"}}``; only ``employee.created`` starts an onboarding. The payload has no
    event id, so the delivery id is ``<companyId>:<employeeId>:<timestamp>`` from the
    signed body (a retry repeats the body, so it repeats the id).

greenhouse
    ``Signature: sha256 <hex>`` is the HMAC-SHA256 of the raw body with the web hook's
    secret key; ``Greenhouse-Event-ID`` identifies the delivery and is the delivery id.
    There is no timestamp, so there is no replay window: the delivery id and the
    deterministic onboarding id stop a replay from starting a second onboarding. The
    documented action is ``hire_candidate``; ``candidate_hired`` is accepted too.

generic
    HireProof's own contract, for HR systems without a native connector::

        X-HireProof-Event-Id:  <unique id per event, at most 200 characters>
        X-HireProof-Timestamp: <Unix seconds when the request was signed>
        X-HireProof-Signature: v1=<hex HMAC-SHA256(key, f"{timestamp}.".encode() + body)>

    The timestamp must be within 5 minutes of HireProof's clock. The body is one JSON
    object holding the hire; see `hireproof.hr.mapping.GenericHire`.

Any other event type or action (a Greenhouse ``ping``, a BambooHR ``employee.updated``)
is verified, acknowledged and ignored, so that the HR system does not retry it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hireproof.errors import (
    InvalidRequestError,
    MalformedBodyError,
    PayloadTooLargeError,
    SignatureInvalidError,
    SignatureMissingError,
    UnknownSourceError,
)
from hireproof.models import HireSource
from hireproof.signatures import check_timestamp, header, sign_hmac_sha256, verify_hmac_sha256

REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ID_LENGTH = 200

BAMBOOHR_SIGNATURE = "X-BambooHR-Signature"
BAMBOOHR_TIMESTAMP = "X-BambooHR-Timestamp"
BAMBOOHR_HIRE_EVENTS = frozenset({"employee.created"})

GREENHOUSE_SIGNATURE = "Signature"
GREENHOUSE_EVENT_ID = "Greenhouse-Event-ID"
GREENHOUSE_HIRE_ACTIONS = frozenset({"hire_candidate", "candidate_hired"})

GENERIC_EVENT_ID = "X-HireProof-Event-Id"
GENERIC_TIMESTAMP = "X-HireProof-Timestamp"
GENERIC_SIGNATURE = "X-HireProof-Signature"
GENERIC_HIRE_ACTION = "hire"


@dataclass(frozen=True)
class Delivery:
    """One verified webhook delivery.

    `event_id` is the key that makes a repeated delivery a no-op; `document` is the
    parsed JSON body; `action` is the source's event type, for logs.
    """

    source: HireSource
    event_id: str
    action: str
    is_hire: bool
    document: dict[str, Any]


def parse_source(name: str) -> HireSource:
    """Return the HR source named in the path; UnknownSourceError lists the accepted ones."""
    try:
        return HireSource(name)
    except ValueError as exc:
        accepted = ", ".join(source.value for source in HireSource)
        raise UnknownSourceError(
            f"unknown HR source {name[:40]!r}; accepted sources: {accepted}", field="source"
        ) from exc


def raw_body(event: Mapping[str, Any]) -> bytes:
    """Return the request body exactly as the sender signed it."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedBodyError("the base64-encoded body cannot be decoded") from exc
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body is over {MAX_BODY_BYTES} bytes")
    return data


def read_delivery(
    source: HireSource,
    headers: Mapping[str, str] | None,
    body: bytes,
    key: bytes,
    *,
    now: float,
) -> Delivery:
    """Verify one delivery's signature (and timestamp), then parse it.

    Raises
    ------
    SignatureMissingError, SignatureInvalidError, TimestampOutOfWindowError
        The delivery is not authentic or not fresh (401).
    MalformedBodyError
        The body is not a JSON object (400).
    InvalidRequestError
        A delivery id is missing or unusable (422).
    """
    if source is HireSource.BAMBOOHR:
        return _read_bamboohr(headers, body, key, now)
    if source is HireSource.GREENHOUSE:
        return _read_greenhouse(headers, body, key)
    return _read_generic(headers, body, key, now)


def signed_headers(
    source: HireSource, key: bytes, body: bytes, *, timestamp: int, event_id: str
) -> dict[str, str]:
    """Return the headers a source would send with `body`, for the demo, docs and tests.

    `timestamp` is ignored by greenhouse and `event_id` by bamboohr, whose
    protocols have no such header.
    """
    if source is HireSource.BAMBOOHR:
        stamp = str(timestamp)
        return {
            BAMBOOHR_TIMESTAMP: stamp,
            BAMBOOHR_SIGNATURE: sign_hmac_sha256(key, body + stamp.encode("utf-8")),
        }
    if source is HireSource.GREENHOUSE:
        return {
            GREENHOUSE_EVENT_ID: event_id,
            GREENHOUSE_SIGNATURE: "sha256 " + sign_hmac_sha256(key, body),
        }
    return {
        GENERIC_EVENT_ID: event_id,
        GENERIC_TIMESTAMP: str(timestamp),
        GENERIC_SIGNATURE: "v1=" + sign_hmac_sha256(key, f"{timestamp}.".encode() + body),
    }


# ---------------------------------------------------------------- per source
def _read_bamboohr(
    headers: Mapping[str, str] | None, body: bytes, key: bytes, now: float
) -> Delivery:
    signature = _required_header(headers, BAMBOOHR_SIGNATURE)
    timestamp = _required_header(headers, BAMBOOHR_TIMESTAMP)
    verify_hmac_sha256(key, body + timestamp.encode("utf-8"), signature)
    check_timestamp(timestamp, now, REPLAY_WINDOW_SECONDS)

    document = parse_json_object(body)
    event_type = _text(document.get("type"))
    data = document.get("data")
    data = data if isinstance(data, dict) else {}
    company_id = _text(data.get("companyId"))
    employee_id = _text(data.get("employeeId"))
    is_hire = event_type in BAMBOOHR_HIRE_EVENTS
    if is_hire and not employee_id:
        raise InvalidRequestError(
            "data.employeeId is missing; BambooHR event-based webhooks carry it",
            field="data.employeeId",
        )
    event_id = f"{company_id}:{employee_id}:{_text(document.get('timestamp'))}"
    return Delivery(
        source=HireSource.BAMBOOHR,
        event_id=_checked_event_id(event_id, "data"),
        action=event_type or "unknown",
        is_hire=is_hire,
        document=document,
    )


def _read_greenhouse(headers: Mapping[str, str] | None, body: bytes, key: bytes) -> Delivery:
    scheme, _, digest = _required_header(headers, GREENHOUSE_SIGNATURE).strip().partition(" ")
    if scheme.lower() != "sha256":
        raise SignatureInvalidError(
            "the Signature header must read 'sha256 <hex digest>'", field=GREENHOUSE_SIGNATURE
        )
    verify_hmac_sha256(key, body, digest)

    event_id = header(headers, GREENHOUSE_EVENT_ID) or ""
    if not event_id.strip():
        raise InvalidRequestError(
            f"the {GREENHOUSE_EVENT_ID} header is missing; Greenhouse sends it with every delivery",
            field=GREENHOUSE_EVENT_ID,
        )
    document = parse_json_object(body)
    action = _text(document.get("action"))
    return Delivery(
        source=HireSource.GREENHOUSE,
        event_id=_checked_event_id(event_id.strip(), GREENHOUSE_EVENT_ID),
        action=action or "unknown",
        is_hire=action in GREENHOUSE_HIRE_ACTIONS,
        document=document,
    )


def _read_generic(
    headers: Mapping[str, str] | None, body: bytes, key: bytes, now: float
) -> Delivery:
    signature = _required_header(headers, GENERIC_SIGNATURE).strip()
    timestamp = _required_header(headers, GENERIC_TIMESTAMP).strip()
    if not signature.startswith("v1="):
        raise SignatureInvalidError(
            f"the {GENERIC_SIGNATURE} header must read 'v1=<hex digest>'", field=GENERIC_SIGNATURE
        )
    verify_hmac_sha256(key, f"{timestamp}.".encode() + body, signature.removeprefix("v1="))
    check_timestamp(timestamp, now, REPLAY_WINDOW_SECONDS)

    event_id = (header(headers, GENERIC_EVENT_ID) or "").strip()
    if not event_id:
        raise InvalidRequestError(
            f"the {GENERIC_EVENT_ID} header is missing; send a unique id per hire event",
            field=GENERIC_EVENT_ID,
        )
    return Delivery(
        source=HireSource.GENERIC,
        event_id=_checked_event_id(event_id, GENERIC_EVENT_ID),
        action=GENERIC_HIRE_ACTION,
        is_hire=True,
        document=parse_json_object(body),
    )


# ---------------------------------------------------------------- helpers
def parse_json_object(body: bytes) -> dict[str, Any]:
    """Parse a body that must be one JSON object, or raise MalformedBodyError (400)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBodyError(
            "the body is not valid JSON; configure the webhook to post JSON (UTF-8)"
        ) from exc
    if not isinstance(document, dict):
        raise MalformedBodyError("the body must be a JSON object")
    return document


def _required_header(headers: Mapping[str, str] | None, name: str) -> str:
    value = header(headers, name)
    if value is None or not value.strip():
        raise SignatureMissingError(f"the {name} header is missing", field=name)
    return value


def _checked_event_id(event_id: str, field: str) -> str:
    if len(event_id) > MAX_EVENT_ID_LENGTH or not event_id.isprintable():
        raise InvalidRequestError(
            f"the delivery id must be at most {MAX_EVENT_ID_LENGTH} printable characters",
            field=field,
        )
    return event_id


def _text(value: object) -> str:
    """Return ids and types as text: HR systems send some ids as numbers, some as strings."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()
