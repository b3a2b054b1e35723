"""The Lambda handler shape shared by onboarding steps that take only an onboarding id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class StepInput(BaseModel):
    """The state machine's payload for a step that needs only the onboarding id."""

    onboarding_id: str


def step_handler(step: Callable[[str], dict[str, Any]]) -> Handler:
    """Build a handler that parses the payload, tags the logs and runs `step`.

    Errors propagate unchanged: their class names are the Step Functions error names
    that the state machine's Retry and Catch blocks match.
    """

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = StepInput.model_validate(event)
        logger.append_keys(onboarding_id=request.onboarding_id, step=step.__name__)

        return step(request.onboarding_id)

    traced: Handler = tracer.capture_lambda_handler(lambda_handler, capture_response=False)
    logged: Handler = logger.inject_lambda_context(traced, clear_state=True)
    return logged
