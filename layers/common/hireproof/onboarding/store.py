"""Onboarding records in the onboarding table.

Item types share the table, keyed by `pk` (the onboarding id) and `sk`:
- `HIRE`: the normalized hire, the onboarding state, the identity provider user id
  and the latest decision;
- `EFFECT#<name>`: one record per side effect, written before the effect runs,
  so a retried or duplicated step never repeats it (see `effects`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import NotFoundError
from hireproof.models import Hire, OnboardingState

HIRE_SK = "HIRE"


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def now_iso() -> str:
    """Return the current UTC time in ISO 8601 with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def create_onboarding(onboarding_id: str, hire: Hire) -> bool:
    """Store a new onboarding in state RECEIVED; return False when it already exists.

    The conditional write makes a duplicate delivery of the same hire a no-op.
    """
    item = {
        "pk": onboarding_id,
        "sk": HIRE_SK,
        "onboarding_id": onboarding_id,
        "state": OnboardingState.RECEIVED.value,
        "hire": hire.model_dump(mode="json", exclude_none=True),
        "work_email": hire.work_email.lower(),
        "source": hire.source.value,
        "source_event_id": hire.source_event_id,
        "created_at": now_iso(),
        "updated_at": now_iso(),
    }
    try:
        _table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_onboarding(onboarding_id: str) -> dict[str, Any]:
    """Return the onboarding record, or raise NotFoundError."""
    item = _table().get_item(Key={"pk": onboarding_id, "sk": HIRE_SK}, ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"onboarding {onboarding_id} not found", field="onboarding_id")
    return dict(item)


def get_hire(onboarding_id: str) -> Hire:
    """Return the hire of one onboarding."""
    return Hire.model_validate(get_onboarding(onboarding_id)["hire"])


def update_onboarding(onboarding_id: str, **attributes: Any) -> None:
    """Set attributes on an existing onboarding record; `state` values are OnboardingState."""
    attributes["updated_at"] = now_iso()
    names = {f"#a{i}": key for i, key in enumerate(attributes)}
    values = {
        f":v{i}": (value.value if isinstance(value, OnboardingState) else value)
        for i, value in enumerate(attributes.values())
    }
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
    try:
        _table().update_item(
            Key={"pk": onboarding_id, "sk": HIRE_SK},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotFoundError(f"onboarding {onboarding_id} not found", field="onboarding_id") from exc
        raise


def onboarding_ids_with_address(address_hash: str) -> list[str]:
    """Return the onboardings whose verified or requested shipping address has this hash."""
    page = _table().query(
        IndexName="ByAddressHash",
        KeyConditionExpression="address_hash = :h",
        ExpressionAttributeValues={":h": address_hash},
    )
    return sorted({item["pk"] for item in page["Items"]})


def onboarding_ids_for_work_email(work_email: str) -> list[str]:
    """Return the onboardings of one work e-mail address (lower-cased)."""
    page = _table().query(
        IndexName="ByWorkEmail",
        KeyConditionExpression="work_email = :e",
        ExpressionAttributeValues={":e": work_email.lower()},
    )
    return sorted({item["pk"] for item in page["Items"]})
