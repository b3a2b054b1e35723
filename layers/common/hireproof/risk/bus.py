"""Publish RiskEvents on HireProof's event bus, the one path by which every risk source is applied."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import TransientError
from hireproof.risk.models import RISK_LEVEL_CHANGED, RiskEvent, risk_event_detail

logger = Logger(child=True)

# Not `hireproof.events.SOURCE` (hireproof.onboarding): the risk consumer's rule skips that
# source, because events about onboardings must never start a risk response.
SOURCE = "hireproof.risk"


def publish_risk_event(event: RiskEvent) -> None:
    """Put one `RiskLevelChanged` event on the bus; raise TransientError when EventBridge rejects it.

    Publish with `person_id` when it is known: the detail goes to every target of every rule
    that matches it, and an e-mail there would be personal data outside HireProof's tables.
    """
    response = aws.client("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": RISK_LEVEL_CHANGED,
                "Detail": json.dumps(risk_event_detail(event)),
                "EventBusName": require_env("EVENT_BUS_NAME"),
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        raise TransientError(f"EventBridge rejected risk event {event.event_id}; retry")
    logger.info(
        "risk event published",
        extra={
            "event_id": event.event_id,
            "person_id": event.person_id,
            "risk_level": event.level.value,
            "reason": event.reason,
        },
    )
