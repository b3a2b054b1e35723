"""Onboarding steps "Invite To Verify", "Send Reminder" and "Invite Device Recipient".

Input `{"onboarding_id", "purpose", "reminder"}`; output
`{"session_id", "reminders_sent", "reminders_left", "status", "email_sent"}`. Failures raise
HireProof errors, whose class names the workflow's Retry and Catch blocks match.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from hireproof.errors import InvalidRequestError
from hireproof.models import VerificationPurpose
from hireproof.sessions import store

logger = Logger()
tracer = Tracer()


class InviteRequest(BaseModel):
    """One invitation or reminder requested by the onboarding workflow."""

    model_config = ConfigDict(extra="forbid")

    onboarding_id: str = Field(min_length=1, max_length=80)
    purpose: VerificationPurpose
    reminder: bool = False


def _parse(event: dict[str, Any]) -> InviteRequest:
    try:
        return parse(event=event, model=InviteRequest)
    except ValidationError as exc:
        field = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "event"
        raise InvalidRequestError(f"invalid invitation request: {field}", field=field) from exc


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = _parse(event)
    logger.append_keys(onboarding_id=request.onboarding_id, purpose=request.purpose.value)

    result = store.invite(request.onboarding_id, request.purpose, reminder=request.reminder)

    logger.info(
        "invitation handled",
        extra={
            "reminder": request.reminder,
            "email_sent": result.email_sent,
            "status": result.status,
        },
    )
    return result.model_dump(mode="json")
