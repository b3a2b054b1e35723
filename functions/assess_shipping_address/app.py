"""Onboarding step "Assess Shipping Address": record laptop-farm signals of the requested address."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof.onboarding import steps

logger = Logger()
tracer = Tracer()


class StepInput(BaseModel):
    onboarding_id: str


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StepInput.model_validate(event)
    logger.append_keys(onboarding_id=request.onboarding_id)

    return steps.assess_shipping_address(request.onboarding_id)
