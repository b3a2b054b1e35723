"""Recovery requests in the recovery table: one item per request, keyed by `recovery_id`.

Every status change is a conditional write from the statuses that `TRANSITIONS` allows, so
two concurrent requests cannot both choose a reset, and a retried workflow step finds its
change already made instead of repeating it. An item expires (the table's TTL attribute
`expires_at`) RETENTION_SECONDS after its last change; the audit table keeps the permanent
record.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import ConflictError, NotFoundError, ResetAlreadyChosenError
from hireproof.recovery.models import (
    FINAL_STATUSES,
    Recovery,
    RecoveryChannel,
    RecoveryStatus,
    ResetKind,
)

logger = Logger(child=True)

RETENTION_SECONDS = 90 * 86_400
ID_PREFIX = "rcv-"

_S = RecoveryStatus
# Target status -> the statuses it may be reached from. A choice may come before the
# workflow has recorded the verification (STARTED), because the session's PASSED decision
# is what authorizes it. EXPIRED from RESET_CHOSEN covers a choice whose task token timed out.
TRANSITIONS: dict[RecoveryStatus, frozenset[RecoveryStatus]] = {
    _S.VERIFIED: frozenset({_S.STARTED}),
    _S.RESET_CHOSEN: frozenset({_S.STARTED, _S.VERIFIED}),
    _S.RESET_DONE: frozenset({_S.RESET_CHOSEN}),
    _S.COMPLETED: frozenset({_S.RESET_DONE}),
    _S.FAILED: frozenset({_S.STARTED}),
    _S.NEEDS_REVIEW: frozenset({_S.STARTED}),
    _S.EXPIRED: frozenset({_S.STARTED, _S.VERIFIED, _S.RESET_CHOSEN}),
    _S.ERROR: frozenset(set(RecoveryStatus) - FINAL_STATUSES),
}


def _table() -> Any:
    return aws.table(require_env("RECOVERY_TABLE"))


def _now() -> int:
    return int(time.time())


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")


def new_recovery_id() -> str:
    """Return a new opaque recovery id, usable as a Step Functions execution name."""
    return f"{ID_PREFIX}{secrets.token_hex(12)}"


def create(
    recovery_id: str,
    *,
    person_id: str,
    session_id: str,
    channel: RecoveryChannel,
    started_by: str,
) -> Recovery:
    """Store a new recovery in STARTED; raise ConflictError when the id exists."""
    now = _now()
    item: dict[str, Any] = {
        "recovery_id": recovery_id,
        "person_id": person_id,
        "session_id": session_id,
        "channel": channel.value,
        "status": RecoveryStatus.STARTED.value,
        "started_by": started_by,
        "close_reasons": [],
        "created_at": now,
        "updated_at": now,
        "expires_at": now + RETENTION_SECONDS,
    }
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(recovery_id)")
    except ClientError as exc:
        if _conditional_failed(exc):
            raise ConflictError(f"recovery {recovery_id} exists already", field="recovery_id") from exc
        raise
    return Recovery.from_item(item)


def get(recovery_id: str) -> Recovery:
    """Return one recovery, or raise NotFoundError."""
    item = _table().get_item(Key={"recovery_id": recovery_id}, ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"recovery {recovery_id} not found", field="recovery_id")
    return Recovery.from_item(item)


def _update(
    recovery_id: str,
    assignments: Mapping[str, Any],
    *,
    condition: str,
    condition_values: Mapping[str, Any] | None = None,
) -> Recovery:
    """SET `assignments` plus updated_at and expires_at when `condition` holds; return the new item.

    Raises ClientError(ConditionalCheckFailedException) when the condition fails.
    """
    now = _now()
    values = {**assignments, "updated_at": now, "expires_at": now + RETENTION_SECONDS}
    names = {f"#a{i}": name for i, name in enumerate(values)}
    if "#status" in condition:
        names["#status"] = "status"
    expression = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(values)))
    response = _table().update_item(
        Key={"recovery_id": recovery_id},
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={
            **{f":a{i}": value for i, value in enumerate(values.values())},
            **(condition_values or {}),
        },
        ReturnValues="ALL_NEW",
    )
    return Recovery.from_item(response["Attributes"])


def transition(
    recovery_id: str, to: RecoveryStatus, attributes: Mapping[str, Any] | None = None
) -> tuple[Recovery, bool]:
    """Move a recovery to `to` with `attributes`; return the item and whether this call moved it.

    A recovery already in `to` is returned unchanged (a retried step). Any other status
    outside TRANSITIONS[to] raises ConflictError naming both statuses.
    """
    allowed = sorted(status.value for status in TRANSITIONS[to])
    placeholders = {f":from{i}": status for i, status in enumerate(allowed)}
    condition = f"#status IN ({', '.join(placeholders)})"
    try:
        updated = _update(
            recovery_id,
            {**(attributes or {}), "status": to.value},
            condition=condition,
            condition_values=placeholders,
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = get(recovery_id)
        if current.status is to:
            return current, False
        raise ConflictError(
            f"recovery {recovery_id} is {current.status.value} and cannot become {to.value}",
            field="recovery_id",
        ) from exc
    logger.info("recovery status changed", extra={"recovery_id": recovery_id, "status": to.value})
    return updated, True


def choose(recovery_id: str, kind: ResetKind, chosen_by: str) -> Recovery:
    """Record the one reset that the verification authorizes and move the recovery to RESET_CHOSEN.

    Raises ResetAlreadyChosenError when a reset was chosen before, and ConflictError when
    the recovery has ended (FAILED, EXPIRED, ...).
    """
    allowed = TRANSITIONS[RecoveryStatus.RESET_CHOSEN]
    placeholders = {f":from{i}": status.value for i, status in enumerate(sorted(allowed))}
    try:
        updated = _update(
            recovery_id,
            {
                "status": RecoveryStatus.RESET_CHOSEN.value,
                "reset_kind": kind.value,
                "chosen_by": chosen_by,
                "chosen_at": _now(),
            },
            condition=f"#status IN ({', '.join(placeholders)}) AND attribute_not_exists(reset_kind)",
            condition_values=placeholders,
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = get(recovery_id)
        if current.reset_kind is not None:
            raise ResetAlreadyChosenError(
                f"recovery {recovery_id} already chose a {current.reset_kind.value} reset; "
                "one verification authorizes one reset, so start a new recovery",
                field="kind",
            ) from exc
        raise ConflictError(
            f"recovery {recovery_id} is {current.status.value}; start a new recovery", field="recovery_id"
        ) from exc
    logger.info("recovery reset chosen", extra={"recovery_id": recovery_id, "reset_kind": kind.value})
    return updated


def register_choice_token(recovery_id: str, task_token: str) -> Recovery:
    """Store the task token of the workflow state that waits for the reset choice.

    Raises NotFoundError for an unknown recovery.
    """
    try:
        return _update(
            recovery_id,
            {"choice_task_token": task_token},
            condition="attribute_exists(recovery_id)",
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise NotFoundError(f"recovery {recovery_id} not found", field="recovery_id") from exc
        raise


def record_execution(recovery_id: str, execution_arn: str) -> None:
    """Keep the ARN of the recovery's execution, for operators."""
    _update(
        recovery_id,
        {"execution_arn": execution_arn},
        condition="attribute_exists(recovery_id)",
    )


def annotate(recovery_id: str, attributes: Mapping[str, Any]) -> Recovery:
    """Set attributes that do not change the status, such as the decision; return the new item."""
    try:
        return _update(recovery_id, attributes, condition="attribute_exists(recovery_id)")
    except ClientError as exc:
        if _conditional_failed(exc):
            raise NotFoundError(f"recovery {recovery_id} not found", field="recovery_id") from exc
        raise
