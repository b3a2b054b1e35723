"""Append-only audit trail: who did what to which subject, with which outcome and why.

Records hold ids, actions, outcomes, reasons and scores only: never names, e-mail
addresses, document data, images or tokens.

Each record carries `expires_at` (Unix seconds), AUDIT_RETENTION_DAYS after it was written
(template parameter AuditRetentionDays, default 2555 days, about seven years). The audit
table's TTL setting lets DynamoDB delete a record after that time; no HireProof role may
update or delete one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import aws
from hireproof.config import int_env, require_env
from hireproof.errors import ConfigurationError

logger = Logger(child=True)

AuditValue = str | int | float | bool | None

DEFAULT_RETENTION_DAYS = 2555
_SECONDS_PER_DAY = 86400


def retention_days() -> int:
    """Return AUDIT_RETENTION_DAYS (default 2555), or raise ConfigurationError when it is below 1."""
    days = int_env("AUDIT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    if days < 1:
        raise ConfigurationError(f"environment variable AUDIT_RETENTION_DAYS must be at least 1, got {days}")
    return days


def _to_dynamodb(value: AuditValue) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def record(
    *,
    subject_id: str,
    action: str,
    outcome: str,
    actor: str,
    reasons: Sequence[str] = (),
    details: Mapping[str, AuditValue] | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Append one audit record and return its record id.

    The write is conditional on the record id being new, so a record is never
    overwritten; the table's IAM policy denies updates and deletes.
    """
    moment = now or dt.datetime.now(dt.UTC)
    recorded_at = moment.isoformat(timespec="milliseconds")
    record_id = f"{recorded_at}#{uuid.uuid4().hex}"
    item: dict[str, Any] = {
        "subject_id": subject_id,
        "record_id": record_id,
        "recorded_at": recorded_at,
        "action": action,
        "outcome": outcome,
        "actor": actor,
        "reasons": list(reasons),
        "expires_at": int(moment.timestamp()) + retention_days() * _SECONDS_PER_DAY,
    }
    if details:
        item["details"] = {key: _to_dynamodb(value) for key, value in details.items()}

    aws.table(require_env("AUDIT_TABLE")).put_item(
        Item=item, ConditionExpression="attribute_not_exists(record_id)"
    )
    logger.info(
        "audit record written",
        extra={"subject_id": subject_id, "action": action, "outcome": outcome, "reasons": list(reasons)},
    )
    return record_id


def records_for(subject_id: str) -> list[dict[str, Any]]:
    """Return every audit record of one subject, oldest first."""
    table = aws.table(require_env("AUDIT_TABLE"))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "subject_id = :s",
        "ExpressionAttributeValues": {":s": subject_id},
    }
    while True:
        page = table.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
