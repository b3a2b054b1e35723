"""Recovery steps "Record Verification", "Notify And Raise Risk", "Lower Risk" and the end steps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, TypeAdapter

from hireproof.onboarding.steps import VerificationOutcome
from hireproof.recovery import steps
from hireproof.recovery.models import RecoveryOutcome

logger = Logger()
tracer = Tracer()


class RecordVerification(BaseModel):
    step: Literal["record_verification"]
    recovery_id: str


class NotifyAndRaiseRisk(BaseModel):
    step: Literal["notify_and_raise_risk"]
    recovery_id: str


class LowerRisk(BaseModel):
    step: Literal["lower_risk"]
    recovery_id: str


class Close(BaseModel):
    step: Literal["close"]
    recovery_id: str
    outcome: RecoveryOutcome
    verification: VerificationOutcome | None = None
    error: str | None = None
    cause: str | None = None


StepInput = TypeAdapter(
    Annotated[RecordVerification | NotifyAndRaiseRisk | LowerRisk | Close, Field(discriminator="step")]
)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StepInput.validate_python(event)
    logger.append_keys(recovery_id=request.recovery_id, step=request.step)

    if isinstance(request, RecordVerification):
        return steps.record_verification(request.recovery_id)
    if isinstance(request, NotifyAndRaiseRisk):
        return steps.notify_and_raise_risk(request.recovery_id)
    if isinstance(request, LowerRisk):
        return steps.lower_risk(request.recovery_id)
    if request.error:
        # Causes carry exception messages, which name ids only; the length is capped all the same.
        logger.error(
            "recovery step failed", extra={"error": request.error, "cause": (request.cause or "")[:500]}
        )
    return steps.close_recovery(
        request.recovery_id, request.outcome, verification=request.verification, error=request.error
    )
