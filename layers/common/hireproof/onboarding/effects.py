"""Exactly-once side effects.

Every effect of an onboarding (account staged or activated, credential issued,
shipment requested, access granted, alert sent) is claimed with a conditional
write before it runs and marked done with its small result afterwards. A Lambda
retry, a duplicate callback or a duplicate event then finds the effect done and
returns the stored result instead of repeating it.

A claim left IN_PROGRESS by a crash is run again on the next attempt, so each
effect's action must itself be idempotent at the provider (stage_user finds an
existing user, shipment orders carry an idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.onboarding.store import now_iso

logger = Logger(child=True)

DONE = "DONE"
IN_PROGRESS = "IN_PROGRESS"


@dataclass(frozen=True)
class EffectOutcome:
    """Result of `run_once`: the effect's stored result and whether this call performed it."""

    result: dict[str, Any]
    performed: bool


def _key(onboarding_id: str, effect: str) -> dict[str, str]:
    return {"pk": onboarding_id, "sk": f"EFFECT#{effect}"}


def run_once(onboarding_id: str, effect: str, action: Callable[[], dict[str, Any]]) -> EffectOutcome:
    """Run `action` unless the effect is already done for this onboarding.

    `action` returns a small JSON-compatible dict (ids, counts) that is stored and
    returned to later callers; never put secrets or personal data in it.
    """
    table = aws.table(require_env("ONBOARDING_TABLE"))
    key = _key(onboarding_id, effect)

    try:
        table.put_item(
            Item={**key, "status": IN_PROGRESS, "claimed_at": now_iso()},
            ConditionExpression="attribute_not_exists(pk) OR #s = :in_progress",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":in_progress": IN_PROGRESS},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = table.get_item(Key=key, ConsistentRead=True)["Item"]
        logger.info("effect already done", extra={"onboarding_id": onboarding_id, "effect": effect})
        return EffectOutcome(result=dict(stored.get("result", {})), performed=False)

    result = action()
    table.put_item(Item={**key, "status": DONE, "done_at": now_iso(), "result": result})
    logger.info("effect performed", extra={"onboarding_id": onboarding_id, "effect": effect})
    return EffectOutcome(result=result, performed=True)


def is_done(onboarding_id: str, effect: str) -> bool:
    """Return whether an effect has completed for this onboarding."""
    table = aws.table(require_env("ONBOARDING_TABLE"))
    item = table.get_item(Key=_key(onboarding_id, effect), ConsistentRead=True).get("Item")
    return bool(item and item.get("status") == DONE)


def stored_result(onboarding_id: str, effect: str) -> dict[str, Any] | None:
    """Return a completed effect's stored result, or None."""
    table = aws.table(require_env("ONBOARDING_TABLE"))
    item = table.get_item(Key=_key(onboarding_id, effect), ConsistentRead=True).get("Item")
    if not item or item.get("status") != DONE:
        return None
    return dict(item.get("result", {}))
