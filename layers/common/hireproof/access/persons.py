"""A person for access decisions: the onboarding behind a work e-mail, and its access state.

The person id is the id of the onboarding that made the person ACTIVE: opaque, stable, and
already the subject of every audit record about them. One item per person, `pk=<onboarding id>,
sk=ACCESS` in the onboarding table, contains the state that changes after onboarding:

- `access_status`: ACTIVE, SUSPENDED (high risk; a passed re-verification restores it) or
  DISABLED (a failed re-verification or an operator's revocation);
- the risk level with the event time, version and id of the event that set it; risk events
  apply in (event time, version) order with conditional writes, see `hireproof.risk`;
- `step_up_required`: set by medium risk, cleared by a passed verification or low risk;
- `verified_at`: when the person last passed a verification (onboarding or re-verification);
- `residence_country`: the verified home country, for laptop-farm signals.

A person whose onboarding became ACTIVE before this item existed reads as ACTIVE with LOW risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.config import require_env
from hireproof.errors import NotFoundError
from hireproof.models import OnboardingState

logger = Logger(child=True)

ACCESS_SK = "ACCESS"
HIRE_SK = "HIRE"

# The ordering key that makes stale risk events lose: ISO 8601 UTC text compares in time order.
EPOCH = "1970-01-01T00:00:00.000+00:00"


class AccessStatus(StrEnum):
    """Whether the gateway may let the person in at all."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    DISABLED = "DISABLED"


class RiskLevel(StrEnum):
    """Risk levels as CAEP risk-level-change and the RiskLevelChanged event name them."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        """Return 0 for LOW, 1 for MEDIUM and 2 for HIGH, for comparisons."""
        return ("LOW", "MEDIUM", "HIGH").index(self.value)


@dataclass(frozen=True)
class Person:
    """The facts about one person that an access decision reads."""

    person_id: str
    onboarding_state: str
    access_status: AccessStatus
    risk_level: RiskLevel
    step_up_required: bool
    verified_at: dt.datetime | None
    residence_country: str | None
    locale: str


def now_iso(now: dt.datetime | None = None) -> str:
    """Return a UTC time in the fixed ISO 8601 form the ordering conditions compare."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _person(hire_item: dict[str, Any], access_item: dict[str, Any] | None) -> Person:
    hire = hire_item.get("hire") or {}
    access = access_item or {}
    default_verified = hire_item.get("verified_at") or hire_item.get("updated_at")
    return Person(
        person_id=str(hire_item["pk"]),
        onboarding_state=str(hire_item.get("state", "")),
        access_status=AccessStatus(access.get("access_status", AccessStatus.ACTIVE.value)),
        risk_level=RiskLevel(access.get("risk_level", RiskLevel.LOW.value)),
        step_up_required=bool(access.get("step_up_required", False)),
        verified_at=_parse_time(access.get("verified_at") or default_verified),
        residence_country=access.get("residence_country")
        or (hire.get("home_address") or {}).get("country"),
        locale=str(hire.get("locale", "en")),
    )


def _items(person_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    # Two point reads, because the partition also contains effect records and risk event ids.
    table = _table()
    hire = table.get_item(Key={"pk": person_id, "sk": HIRE_SK}, ConsistentRead=True).get("Item")
    if hire is None:
        return None, None
    access = table.get_item(Key={"pk": person_id, "sk": ACCESS_SK}, ConsistentRead=True).get("Item")
    return dict(hire), (dict(access) if access else None)


def get_person(person_id: str) -> Person:
    """Return one person by id, or raise NotFoundError."""
    hire_item, access_item = _items(person_id)
    if hire_item is None:
        raise NotFoundError(f"person {person_id} not found", field="person_id")
    return _person(hire_item, access_item)


def find_by_email(work_email: str) -> Person | None:
    """Return the person behind a work e-mail, or None when HireProof has no onboarding for it.

    With several onboardings for one address (a rehire), the ACTIVE one wins, then the newest.
    """
    table = _table()
    page = table.query(
        IndexName="ByWorkEmail",
        KeyConditionExpression="work_email = :e",
        ExpressionAttributeValues={":e": work_email.strip().lower()},
    )
    ids = sorted({str(item["pk"]) for item in page["Items"]})
    if not ids:
        return None
    candidates = [(hire, access) for hire, access in map(_items, ids) if hire is not None]
    if not candidates:
        return None
    candidates.sort(
        key=lambda pair: (
            pair[0].get("state") == OnboardingState.ACTIVE.value,
            str(pair[0].get("updated_at", "")),
        )
    )
    hire_item, access_item = candidates[-1]
    return _person(hire_item, access_item)


def activate(person_id: str, *, verified_at: str, residence_country: str | None) -> bool:
    """Create the person's access state when onboarding ends ACTIVE; False when it exists already."""
    item: dict[str, Any] = {
        "pk": person_id,
        "sk": ACCESS_SK,
        "access_status": AccessStatus.ACTIVE.value,
        "risk_level": RiskLevel.LOW.value,
        "risk_event_time": EPOCH,
        "risk_version": 0,
        "step_up_required": False,
        "verified_at": verified_at,
        "updated_at": now_iso(),
    }
    if residence_country:
        item["residence_country"] = residence_country
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _update(person_id: str, expression: str, values: dict[str, Any], names: dict[str, str]) -> None:
    hire_item, _ = _items(person_id)
    if hire_item is None:
        raise NotFoundError(f"person {person_id} not found", field="person_id")
    _table().update_item(
        Key={"pk": person_id, "sk": ACCESS_SK},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        ExpressionAttributeNames=names,
    )


def set_access_status(person_id: str, status: AccessStatus, *, actor: str, reason: str) -> None:
    """Set ACTIVE, SUSPENDED or DISABLED, and audit the change with its reason."""
    _update(
        person_id,
        "SET #s = :s, #r = :r, #u = :u",
        {":s": status.value, ":r": reason, ":u": now_iso()},
        {"#s": "access_status", "#r": "access_status_reason", "#u": "updated_at"},
    )
    audit.record(
        subject_id=person_id,
        action="access_status_changed",
        outcome=status.value,
        actor=actor,
        reasons=[reason],
    )
    logger.info("access status changed", extra={"person_id": person_id, "access_status": status.value})


def record_verification(person_id: str, *, actor: str, at: dt.datetime | None = None) -> None:
    """Record a passed verification: access ACTIVE again, risk LOW, no step-up pending.

    The reset carries the verification time as its risk event time, so a risk event from
    before the verification arriving late is dropped as stale, while a newer one applies.
    """
    verified_at = now_iso(at)
    _update(
        person_id,
        "SET #s = :active, #lvl = :low, #t = :t, #v = :zero, #step = :no, #ver = :t, #u = :t "
        "REMOVE #reason",
        {
            ":active": AccessStatus.ACTIVE.value,
            ":low": RiskLevel.LOW.value,
            ":t": verified_at,
            ":zero": 0,
            ":no": False,
        },
        {
            "#s": "access_status",
            "#lvl": "risk_level",
            "#t": "risk_event_time",
            "#v": "risk_version",
            "#step": "step_up_required",
            "#ver": "verified_at",
            "#u": "updated_at",
            "#reason": "access_status_reason",
        },
    )
    audit.record(subject_id=person_id, action="verification_recorded", outcome="PASSED", actor=actor)
    logger.info("verification recorded", extra={"person_id": person_id})


def require_step_up(person_id: str, *, actor: str, reason: str, at: dt.datetime | None = None) -> None:
    """Cap the risk at MEDIUM and demand a step-up verification, as of `at` (now by default).

    An operator's restore uses this: the person gets back in only after passing a fresh
    verification, and risk events from before the restore are dropped as stale.
    """
    changed_at = now_iso(at)
    person = get_person(person_id)
    level = RiskLevel.MEDIUM if person.risk_level is RiskLevel.HIGH else person.risk_level
    _update(
        person_id,
        "SET #lvl = :lvl, #t = :t, #v = :zero, #step = :yes, #u = :t",
        {":lvl": level.value, ":t": changed_at, ":zero": 0, ":yes": True},
        {
            "#lvl": "risk_level",
            "#t": "risk_event_time",
            "#v": "risk_version",
            "#step": "step_up_required",
            "#u": "updated_at",
        },
    )
    audit.record(
        subject_id=person_id,
        action="step_up_required",
        outcome=level.value,
        actor=actor,
        reasons=[reason],
    )
