"""Fixed-window request counters in DynamoDB, for the routes anyone on the internet can call.

A counter is one item in the verification table, `ratelimit#<scope>#<window start>`, that
expires with the table's TTL two windows later. Keys name a person id or a keyed hash of a
source address, so the table contains no address or e-mail in clear.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import RateLimitedError

logger = Logger(child=True)

PREFIX = "ratelimit#"


def _table() -> Any:
    return aws.table(require_env("VERIFICATION_TABLE"))


def hit(scope: str, *, limit: int, window_seconds: int, message: str, now: float | None = None) -> int:
    """Count one request against `scope`; raise RateLimitedError once `limit` is used up.

    Returns how many requests the window had, this one included. A limit of 0 or less
    turns the check off.
    """
    if limit <= 0:
        return 0
    moment = int(now if now is not None else time.time())
    window_start = moment - moment % window_seconds
    retry_after = max(1, window_start + window_seconds - moment)
    try:
        response = _table().update_item(
            Key={"session_id": f"{PREFIX}{scope}#{window_start}"},
            UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :ttl)",
            ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
            ExpressionAttributeValues={":one": 1, ":limit": limit, ":ttl": window_start + 2 * window_seconds},
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        logger.warning(
            "rate limit reached", extra={"scope": scope.split("#", 1)[0], "retry_after": retry_after}
        )
        raise RateLimitedError(message, retry_after=retry_after) from exc
    return int(response["Attributes"]["hits"])
