"""Onboarding end steps "Complete", "Reject Onboarding", "Expire Onboarding" and "Handle System Error"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof.models import OnboardingState
from hireproof.onboarding.close import close_onboarding

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class CloseInput(BaseModel):
    onboarding_id: str
    outcome: OnboardingState
    error: str | None = None
    cause: str | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = CloseInput.model_validate(event)
    logger.append_keys(onboarding_id=request.onboarding_id, outcome=request.outcome.value)
    if request.error:
        # Causes carry exception messages, which name ids only; the length is capped all the same.
        cause = (request.cause or "")[:500]
        logger.error("onboarding step failed", extra={"error": request.error, "cause": cause})

    result = close_onboarding(request.onboarding_id, request.outcome, request.error)
    # A trend for the dashboard: a step that Lambda runs again after it finished counts twice,
    # so the audit trail, not this metric, is the exact count.
    metrics.add_dimension(name="state", value=request.outcome.value)
    metrics.add_metric(name="OnboardingsClosed", unit=MetricUnit.Count, value=1)
    return result
