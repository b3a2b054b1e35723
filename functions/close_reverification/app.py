"""Re-verification end steps "Restore Access", "Disable Access", "Request Review",
"Expire Reverification" and "Handle System Error"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof.onboarding.steps import VerificationOutcome
from hireproof.risk.models import ReverificationMode
from hireproof.risk.reverification import ReverificationOutcome, close_reverification

logger = Logger()
tracer = Tracer()


class CloseInput(BaseModel):
    person_id: str
    event_id: str
    outcome: ReverificationOutcome
    mode: ReverificationMode = ReverificationMode.SUSPENDED
    verification: VerificationOutcome | None = None
    error: str | None = None
    cause: str | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = CloseInput.model_validate(event)
    logger.append_keys(person_id=request.person_id, event_id=request.event_id, outcome=request.outcome.value)
    if request.error:
        # Causes carry exception messages, which name ids only; the length is capped all the same.
        logger.error(
            "re-verification step failed",
            extra={"error": request.error, "cause": (request.cause or "")[:500]},
        )

    return close_reverification(
        request.person_id,
        request.outcome,
        event_id=request.event_id,
        verification=request.verification,
        error=request.error,
        mode=request.mode,
    )
