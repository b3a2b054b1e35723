"""Human review of onboardings the policy could not decide alone."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.config import require_env
from hireproof.errors import ConflictError
from hireproof.models import OnboardingState
from hireproof.onboarding import store

ACTOR = "onboarding-workflow"


def request_review(onboarding_id: str, stage: str, reasons: list[str], task_token: str) -> None:
    """Hold the onboarding for a reviewer and tell the reviewers' topic (ids and reasons only)."""
    store.update_onboarding(
        onboarding_id,
        review={
            "stage": stage,
            "reasons": reasons,
            "task_token": task_token,
            "requested_at": store.now_iso(),
        },
        state=OnboardingState.IN_REVIEW,
    )
    aws.client("sns").publish(
        TopicArn=require_env("REVIEW_TOPIC_ARN"),
        Subject="HireProof: onboarding needs review",
        Message=json.dumps({"onboarding_id": onboarding_id, "stage": stage, "reasons": reasons}),
    )
    audit.record(
        subject_id=onboarding_id, action="review_requested", outcome=stage, actor=ACTOR, reasons=reasons
    )


def decide_review(onboarding_id: str, *, approved: bool, reason: str, reviewer: str) -> dict[str, Any]:
    """Record a reviewer's decision and resume the workflow, exactly once per review."""
    table = aws.table(require_env("ONBOARDING_TABLE"))
    try:
        response = table.update_item(
            Key={"pk": onboarding_id, "sk": store.HIRE_SK},
            UpdateExpression=(
                "SET review.approved = :approved, review.reason = :reason, review.reviewer = :reviewer, "
                "review.decided_at = :now REMOVE review.task_token"
            ),
            ConditionExpression="attribute_exists(review.task_token)",
            ExpressionAttributeValues={
                ":approved": approved,
                ":reason": reason,
                ":reviewer": reviewer,
                ":now": store.now_iso(),
            },
            ReturnValues="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        store.get_onboarding(onboarding_id)  # raises NotFoundError for an unknown id
        raise ConflictError(
            f"onboarding {onboarding_id} has no pending review; it was decided already or never requested",
            field="onboarding_id",
        ) from exc
    old_review = response["Attributes"]["review"]

    aws.client("stepfunctions").send_task_success(
        taskToken=old_review["task_token"],
        output=json.dumps({"approved": approved, "stage": old_review.get("stage", "onboarding")}),
    )
    audit.record(
        subject_id=onboarding_id,
        action="review_decided",
        outcome="approved" if approved else "rejected",
        actor=reviewer,
        reasons=[reason],
        details={"stage": str(old_review.get("stage", "onboarding"))},
    )
    return {"onboarding_id": onboarding_id, "approved": approved, "stage": old_review.get("stage")}


def pending_reviews() -> list[dict[str, Any]]:
    """List onboardings waiting for a reviewer: ids, stage and reasons."""
    # NOTE: a scan reads the whole table; fine for hundreds of hires a month, an index on
    # state would be needed beyond that.
    table = aws.table(require_env("ONBOARDING_TABLE"))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "FilterExpression": "sk = :hire AND #s = :in_review",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":hire": store.HIRE_SK, ":in_review": OnboardingState.IN_REVIEW.value},
    }
    while True:
        page = table.scan(**kwargs)
        for item in page["Items"]:
            review = item.get("review", {})
            items.append(
                {
                    "onboarding_id": item["pk"],
                    "stage": review.get("stage"),
                    "reasons": review.get("reasons", []),
                    "requested_at": review.get("requested_at"),
                }
            )
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
