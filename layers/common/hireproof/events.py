"""Events HireProof publishes on its EventBridge bus (source `hireproof.onboarding`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import TransientError

SOURCE = "hireproof.onboarding"


def publish(detail_type: str, detail: Mapping[str, Any]) -> None:
    """Put one event on the bus; a partial failure raises TransientError so the step retries."""
    response = aws.client("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": require_env("EVENT_BUS_NAME"),
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        raise TransientError(f"EventBridge rejected the {detail_type} event; retry")


def security_alert(*, subject_id: str, action: str, reasons: Sequence[str]) -> None:
    """Send a security alert to the SNS topic and the event bus: ids and reasons only."""
    detail = {"onboarding_id": subject_id, "action": action, "reasons": list(reasons)}
    aws.client("sns").publish(
        TopicArn=require_env("SECURITY_ALERTS_TOPIC_ARN"),
        Subject=f"HireProof security alert: {action}",
        Message=json.dumps(detail),
    )
    publish("SecurityAlert", detail)
