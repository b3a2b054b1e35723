"""Onboarding step "Record Hire": attach the execution to the stored hire."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof.onboarding import steps

logger = Logger()
tracer = Tracer()


class RecordHireInput(BaseModel):
    onboarding_id: str
    execution_arn: str


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecordHireInput.model_validate(event)
    logger.append_keys(onboarding_id=request.onboarding_id)

    return steps.record_hire(request.onboarding_id, request.execution_arn)
