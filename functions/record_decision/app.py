"""Onboarding steps "Record Decision" and "Record Recipient Decision"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from hireproof.models import VerificationPurpose
from hireproof.onboarding import steps

logger = Logger()
tracer = Tracer()


class RecordDecisionInput(BaseModel):
    onboarding_id: str
    purpose: VerificationPurpose
    verification: steps.VerificationOutcome
    shipping_reasons: list[str] = Field(default_factory=list)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecordDecisionInput.model_validate(event)
    logger.append_keys(onboarding_id=request.onboarding_id, purpose=request.purpose.value)

    return steps.record_decision(
        request.onboarding_id, request.purpose, request.verification, request.shipping_reasons
    )
