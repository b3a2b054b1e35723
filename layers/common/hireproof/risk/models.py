"""RiskEvent, the one shape every risk source produces, and the `RiskLevelChanged` event.

Risk sources publish a `RiskLevelChanged` event: the Shared Signals receiver, laptop-farm login
signals, or any system with PutEvents rights on HireProof's bus. One consumer applies each event
with `hireproof.risk.state.apply_risk_event`. The event looks like this:

    {
      "source": "corp.siem",                 # any source except the reserved "aws." prefix
      "detail-type": "RiskLevelChanged",
      "id": "<EventBridge event id>",
      "detail": {
        "person_id": "bamboohr-4821",        # or "email": the person's work e-mail
        "level": "LOW" | "MEDIUM" | "HIGH",
        "reason": "impossible_travel",       # snake_case code, at most 200 characters
        "event_time": "2026-12-01T09:00:00Z",# when the risk was observed, with a UTC offset
        "version": 0,                        # tie-breaker for events with equal event_time
        "event_id": "...",                   # optional; the EventBridge id by default
        "kind": "impossible_travel",         # optional; risk_level_change by default
        "source": "ssf:https://idp.example"  # optional; the envelope source by default
      }
    }

`kind` and `source` in the detail let a relay keep the kind and origin of the event it
forwards: HireProof's Shared Signals receiver publishes with the `hireproof.risk` source and a
detail source of `ssf:<transmitter issuer>`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from hireproof.access.persons import RiskLevel
from hireproof.errors import InvalidRequestError

RISK_LEVEL_CHANGED = "RiskLevelChanged"
RESERVED_SOURCE_PREFIX = "aws."
MAX_REASON_LENGTH = 200
# Reason codes derived from a transmitter's free text are cut shorter than the model allows.
DERIVED_REASON_LENGTH = 64

ReasonCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:_[a-z0-9]+)*$", max_length=MAX_REASON_LENGTH),
]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=200)]

_DETAIL_FIELDS = frozenset(
    {"person_id", "email", "level", "reason", "event_time", "version", "event_id", "kind", "source"}
)


class ReverificationMode(StrEnum):
    """Why the person verifies again: suspended for HIGH risk, or asked for a step-up at MEDIUM."""

    SUSPENDED = "suspended"
    STEP_UP = "step_up"


class RiskEventKind(StrEnum):
    """What happened, as the source reported it; the level is how much it matters."""

    RISK_LEVEL_CHANGE = "risk_level_change"
    SESSION_REVOKED = "session_revoked"
    CREDENTIAL_CHANGE = "credential_change"
    CREDENTIAL_COMPROMISE = "credential_compromise"
    ASSURANCE_LEVEL_CHANGE = "assurance_level_change"
    DEVICE_COMPLIANCE_CHANGE = "device_compliance_change"
    ACCOUNT_DISABLED = "account_disabled"
    IDENTIFIER_CHANGED = "identifier_changed"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    COUNTRY_MISMATCH = "country_mismatch"
    HOSTING_NETWORK = "hosting_network"


class RiskEvent(BaseModel):
    """One observation that a person's risk is now `level`, at `event_time`.

    `hireproof.risk.state` applies the events about one person in (event_time, version) order,
    and each event_id at most once within 30 days. The subject is `person_id`, or the work
    `email` when the source does not know HireProof's ids. The e-mail is left out of repr()
    so that it stays out of logs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: EventId
    source: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    person_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    email: EmailStr | None = Field(default=None, repr=False)
    level: RiskLevel
    reason: ReasonCode
    kind: RiskEventKind
    event_time: AwareDatetime
    version: Annotated[int, Field(ge=0, strict=True)] = 0

    @model_validator(mode="after")
    def _require_subject(self) -> RiskEvent:
        if self.person_id is None and self.email is None:
            raise ValueError("person_id or email is required")
        return self


def reason_code(text: object, *, default: str) -> str:
    """Turn a source's free-text reason into a snake_case code, or return `default`.

    Accents are dropped, runs of other characters become one underscore, and the code is cut
    to 64 characters, so a transmitter's text never reaches the audit trail unbounded.
    """
    if not isinstance(text, str):
        return default
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text.lower()).split()
    code = "_".join(words)[:DERIVED_REASON_LENGTH].strip("_")
    return code or default


def risk_event_detail(event: RiskEvent) -> dict[str, Any]:
    """Return the `RiskLevelChanged` detail that carries `event`, ready for json.dumps."""
    detail: dict[str, Any] = {
        "event_id": event.event_id,
        "source": event.source,
        "level": event.level.value,
        "reason": event.reason,
        "kind": event.kind.value,
        "event_time": event.event_time.isoformat(),
        "version": event.version,
    }
    if event.person_id is not None:
        detail["person_id"] = event.person_id
    if event.email is not None:
        detail["email"] = str(event.email)
    return detail


def _invalid(field: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{field} {message}", field=field)


def _envelope_text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(name, "is missing; a RiskLevelChanged event needs it")
    return value


def risk_event_from_eventbridge(event: Mapping[str, Any]) -> RiskEvent:
    """Parse a `RiskLevelChanged` EventBridge event; see the module docstring for its shape.

    Raises InvalidRequestError whose `field` names the first invalid member, for example
    `source`, `detail-type` or `detail.level`.
    """
    if not isinstance(event, Mapping):
        raise _invalid("event", "must be a JSON object")
    source = _envelope_text(event, "source")
    if source.startswith(RESERVED_SOURCE_PREFIX):
        raise _invalid("source", f"must not start with {RESERVED_SOURCE_PREFIX!r}, which AWS reserves")
    if event.get("detail-type") != RISK_LEVEL_CHANGED:
        raise _invalid("detail-type", f"must be {RISK_LEVEL_CHANGED}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise _invalid("detail", "must be a JSON object")
    unknown = sorted(str(name) for name in detail if name not in _DETAIL_FIELDS)
    if unknown:
        raise _invalid(f"detail.{unknown[0]}", "is not a RiskLevelChanged field")

    data: dict[str, Any] = {name: value for name, value in detail.items() if value is not None}
    data.setdefault("source", source)
    data.setdefault("kind", RiskEventKind.RISK_LEVEL_CHANGE.value)
    if "event_id" not in data:
        data["event_id"] = _envelope_text(event, "id")
    try:
        return RiskEvent.model_validate(data)
    except ValidationError as exc:
        # No chained cause: the validation error quotes input values, the e-mail among them.
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> InvalidRequestError:
    first = exc.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in first["loc"])
    if not location:
        # The model-level check: neither subject was given.
        return _invalid("detail.person_id", "or detail.email is required")
    field = f"detail.{location}"
    if location == "email":
        # The validator's message can quote parts of the address; keep it out of the error.
        return _invalid(field, "is not a valid e-mail address")
    return _invalid(field, f"is invalid: {first['msg']}")
