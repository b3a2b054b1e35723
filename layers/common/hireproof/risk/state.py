"""Apply RiskEvents to a person's ACCESS item: each event at most once, and only when newer.

Two items in the person's partition of the onboarding table take part:

- `sk=RISKEVENT#<event_id>` marks an event as seen. It expires 30 days later (`expires_at`,
  the table's TTL attribute), so a redelivery within that time is a "duplicate" and changes
  nothing. A redelivery after that meets the ordering check below, which drops it as stale
  once anything newer has been applied.
- `sk=ACCESS` holds risk_level, risk_event_time, risk_version and step_up_required
  (see `hireproof.access.persons`).

An event applies when its (event_time, version) is newer than the stored (risk_event_time,
risk_version). Times are compared as text in the `persons.now_iso` form (UTC, millisecond
precision), which sorts in time order, so two events within one millisecond are ordered by
version and an exact tie is stale. `persons.record_verification` stores the verification time
as risk_event_time, so an event observed before a passed verification is stale.

The seen-marker and the ACCESS update are written in one DynamoDB transaction, so neither
exists without the other. The audit record is written after the transaction. The marker keeps
an `audited` flag, and a redelivery after a crash in between writes the missing audit record,
so every applied or dropped event is audited at least once.

MEDIUM and HIGH set step_up_required and LOW clears it. This module never changes
access_status: suspending or revoking access is the caller's decision, from the outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.access import persons
from hireproof.access.persons import ACCESS_SK, EPOCH, RiskLevel
from hireproof.config import require_env
from hireproof.errors import ConflictError, InvalidRequestError, TransientError
from hireproof.models import OnboardingState
from hireproof.risk.models import RiskEvent

logger = Logger(child=True)

RISK_EVENT_SK_PREFIX = "RISKEVENT#"
RISK_EVENT_TTL = dt.timedelta(days=30)
# Events dated further ahead than this would make every later event look stale.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
# Concurrent changes to one person's risk are rare; three tries absorb them.
_MAX_ATTEMPTS = 3

ApplyStatus = Literal["applied", "stale", "duplicate"]

_APPLIED = "APPLIED"
_STALE = "STALE"
_serializer = TypeSerializer()


@dataclass(frozen=True)
class RiskApplyOutcome:
    """Result of `apply_risk_event`: what happened and the risk level before and after.

    For a stale event both levels are the stored level. For a duplicate they are the levels
    that the first delivery recorded, so a consumer that crashed after applying an event can
    finish its own exactly-once effects when the event is delivered again.
    """

    status: ApplyStatus
    previous_level: RiskLevel
    level: RiskLevel


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def _access_key(person_id: str) -> dict[str, str]:
    return {"pk": person_id, "sk": ACCESS_SK}


def _marker_key(person_id: str, event_id: str) -> dict[str, str]:
    return {"pk": person_id, "sk": f"{RISK_EVENT_SK_PREFIX}{event_id}"}


def _stored_order(access: dict[str, Any]) -> tuple[str, int]:
    return str(access.get("risk_event_time", EPOCH)), int(access.get("risk_version", 0))


def _stored_level(access: dict[str, Any]) -> RiskLevel:
    return RiskLevel(access.get("risk_level", RiskLevel.LOW.value))


def ensure_access_item(person_id: str) -> dict[str, Any]:
    """Return the person's ACCESS item, creating it with defaults when an ACTIVE person has none.

    Onboardings that became ACTIVE before ACCESS items existed have none. Raises NotFoundError
    for an unknown person, and ConflictError when the onboarding is not ACTIVE, because
    `persons.activate` creates the item when the onboarding ends ACTIVE and must not find one.
    """
    table = _table()
    item = table.get_item(Key=_access_key(person_id), ConsistentRead=True).get("Item")
    if item is not None:
        return dict(item)

    person = persons.get_person(person_id)
    if person.onboarding_state != OnboardingState.ACTIVE.value:
        raise ConflictError(
            f"person {person_id} has no access state yet: the onboarding is "
            f"{person.onboarding_state or 'unknown'}, not ACTIVE",
            field="person_id",
        )
    verified_at = persons.now_iso(person.verified_at) if person.verified_at else EPOCH
    if persons.activate(person_id, verified_at=verified_at, residence_country=person.residence_country):
        logger.info("access state created with defaults", extra={"person_id": person_id})
    return dict(table.get_item(Key=_access_key(person_id), ConsistentRead=True)["Item"])


def apply_risk_event(event: RiskEvent, *, person_id: str, now: dt.datetime | None = None) -> RiskApplyOutcome:
    """Apply one risk event to the person's risk state; see the module docstring for the rules.

    `person_id` is the subject, resolved by the caller when the event names an e-mail.
    Raises InvalidRequestError when event_time is more than 5 minutes in the future,
    NotFoundError or ConflictError from `ensure_access_item`, and TransientError when the
    person's risk state kept changing under concurrent events.
    """
    now = now or dt.datetime.now(dt.UTC)
    if event.event_time > now + MAX_CLOCK_SKEW:
        raise InvalidRequestError(
            f"event {event.event_id} has an event_time more than 5 minutes in the future; "
            "send the time the risk was observed",
            field="event_time",
        )

    marker = _get_marker(person_id, event.event_id)
    if marker is not None:
        return _duplicate(event, person_id, marker)

    access = ensure_access_item(person_id)
    event_time = persons.now_iso(event.event_time)
    for _ in range(_MAX_ATTEMPTS):
        if (event_time, event.version) <= _stored_order(access):
            return _drop_stale(event, person_id, access, now)
        outcome = _try_apply(event, person_id, access, event_time, now)
        if outcome is not None:
            return outcome
        access = ensure_access_item(person_id)

    raise TransientError(f"the risk state of person {person_id} kept changing; retry event {event.event_id}")


def _get_marker(person_id: str, event_id: str) -> dict[str, Any] | None:
    item = _table().get_item(Key=_marker_key(person_id, event_id), ConsistentRead=True).get("Item")
    return dict(item) if item is not None else None


def _marker_item(
    event: RiskEvent,
    person_id: str,
    *,
    status: str,
    previous_level: RiskLevel,
    level: RiskLevel,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        **_marker_key(person_id, event.event_id),
        "status": status,
        "event_id": event.event_id,
        "source": event.source,
        "kind": event.kind.value,
        "reason": event.reason,
        "event_level": event.level.value,
        "event_time": persons.now_iso(event.event_time),
        "version": event.version,
        "previous_level": previous_level.value,
        "level": level.value,
        "audited": False,
        "recorded_at": persons.now_iso(now),
        "expires_at": int((now + RISK_EVENT_TTL).timestamp()),
    }


def _serialize(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _update_condition(access: dict[str, Any]) -> str:
    # The item must still be the one read: the level the outcome reports as previous, and an
    # ordering key still older than the event's. A missing attribute reads as LOW / EPOCH / 0.
    level = "#lvl = :prev" if "risk_level" in access else "attribute_not_exists(#lvl)"
    order = "(attribute_not_exists(#t) OR #t < :t OR (#t = :t AND (attribute_not_exists(#v) OR #v < :v)))"
    return f"attribute_exists(pk) AND {level} AND {order}"


def _try_apply(
    event: RiskEvent,
    person_id: str,
    access: dict[str, Any],
    event_time: str,
    now: dt.datetime,
) -> RiskApplyOutcome | None:
    """Write the marker and the new risk state together; None when the ACCESS item changed."""
    table_name = require_env("ONBOARDING_TABLE")
    previous_level = _stored_level(access)
    marker = _marker_item(
        event, person_id, status=_APPLIED, previous_level=previous_level, level=event.level, now=now
    )
    values: dict[str, Any] = {
        ":lvl": event.level.value,
        ":t": event_time,
        ":v": event.version,
        ":step": event.level is not RiskLevel.LOW,
        ":eid": event.event_id,
        ":reason": event.reason,
        ":u": persons.now_iso(now),
    }
    if "risk_level" in access:
        values[":prev"] = previous_level.value
    update = {
        "TableName": table_name,
        "Key": _serialize(_access_key(person_id)),
        "UpdateExpression": (
            "SET #lvl = :lvl, #t = :t, #v = :v, #step = :step, #eid = :eid, #reason = :reason, #u = :u"
        ),
        "ConditionExpression": _update_condition(access),
        "ExpressionAttributeNames": {
            "#lvl": "risk_level",
            "#t": "risk_event_time",
            "#v": "risk_version",
            "#step": "step_up_required",
            "#eid": "risk_event_id",
            "#reason": "risk_reason",
            "#u": "updated_at",
        },
        "ExpressionAttributeValues": _serialize(values),
    }
    put = {
        "TableName": table_name,
        "Item": _serialize(marker),
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=[{"Put": put}, {"Update": update}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
        if len(reasons) != 2 or "ConditionalCheckFailed" not in reasons:
            raise TransientError(
                f"the risk state transaction for event {event.event_id} was cancelled: {reasons}"
            ) from exc
        if reasons[0] == "ConditionalCheckFailed":
            stored_marker = _get_marker(person_id, event.event_id)
            if stored_marker is None:
                raise TransientError(
                    f"event {event.event_id} was seen but its record is gone; retry"
                ) from exc
            return _duplicate(event, person_id, stored_marker)
        logger.info(
            "risk state changed concurrently", extra={"person_id": person_id, "event_id": event.event_id}
        )
        return None

    _audit(person_id, marker)
    _mark_audited(person_id, event.event_id)
    logger.info(
        "risk event applied",
        extra={
            "person_id": person_id,
            "event_id": event.event_id,
            "risk_level": event.level.value,
            "previous_level": previous_level.value,
            "kind": event.kind.value,
        },
    )
    return RiskApplyOutcome(status="applied", previous_level=previous_level, level=event.level)


def _drop_stale(
    event: RiskEvent, person_id: str, access: dict[str, Any], now: dt.datetime
) -> RiskApplyOutcome:
    stored_level = _stored_level(access)
    stored_time, stored_version = _stored_order(access)
    marker = _marker_item(
        event, person_id, status=_STALE, previous_level=stored_level, level=stored_level, now=now
    )
    marker["stored_event_time"] = stored_time
    marker["stored_version"] = stored_version
    try:
        _table().put_item(Item=marker, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored_marker = _get_marker(person_id, event.event_id)
        if stored_marker is None:
            raise TransientError(f"event {event.event_id} was seen but its record is gone; retry") from exc
        return _duplicate(event, person_id, stored_marker)

    _audit(person_id, marker)
    _mark_audited(person_id, event.event_id)
    logger.info(
        "stale risk event dropped",
        extra={
            "person_id": person_id,
            "event_id": event.event_id,
            "event_time": marker["event_time"],
            "stored_event_time": stored_time,
        },
    )
    return RiskApplyOutcome(status="stale", previous_level=stored_level, level=stored_level)


def _duplicate(event: RiskEvent, person_id: str, marker: dict[str, Any]) -> RiskApplyOutcome:
    if not marker.get("audited", False):
        # The first delivery stopped between its write and its audit record.
        _audit(person_id, marker)
        _mark_audited(person_id, event.event_id)
    logger.info(
        "duplicate risk event ignored",
        extra={"person_id": person_id, "event_id": event.event_id, "first_outcome": marker.get("status")},
    )
    return RiskApplyOutcome(
        status="duplicate",
        previous_level=RiskLevel(marker["previous_level"]),
        level=RiskLevel(marker["level"]),
    )


def _audit(person_id: str, marker: dict[str, Any]) -> None:
    details: dict[str, audit.AuditValue] = {
        "event_id": str(marker["event_id"]),
        "source": str(marker["source"]),
        "kind": str(marker["kind"]),
        "previous_level": str(marker["previous_level"]),
        "event_time": str(marker["event_time"]),
        "version": int(marker["version"]),
    }
    if marker["status"] == _APPLIED:
        audit.record(
            subject_id=person_id,
            action="risk_level_changed",
            outcome=str(marker["level"]),
            actor=str(marker["source"]),
            reasons=[str(marker["reason"])],
            details=details,
        )
        return
    details["event_level"] = str(marker["event_level"])
    details["stored_event_time"] = str(marker["stored_event_time"])
    details["stored_version"] = int(marker["stored_version"])
    audit.record(
        subject_id=person_id,
        action="risk_event_dropped",
        outcome="stale",
        actor=str(marker["source"]),
        reasons=[str(marker["reason"])],
        details=details,
    )


def _mark_audited(person_id: str, event_id: str) -> None:
    _table().update_item(
        Key=_marker_key(person_id, event_id),
        UpdateExpression="SET audited = :yes",
        ExpressionAttributeValues={":yes": True},
    )
