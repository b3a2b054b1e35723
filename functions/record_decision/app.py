"""Onboarding steps "Record Decision" and "Record Recipient Decision"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from hireproof.models import VerificationPurpose
from hireproof.onboarding import steps

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class RecordDecisionInput(BaseModel):
    onboarding_id: str
    purpose: VerificationPurpose
    verification: steps.VerificationOutcome
    shipping_reasons: list[str] = Field(default_factory=list)


def _count_decision(purpose: str, decision: str, reasons: list[str]) -> None:
    """Count the decision by purpose and outcome, and each of its reasons on its own."""
    metrics.add_dimension(name="purpose", value=purpose)
    metrics.add_dimension(name="outcome", value=decision)
    metrics.add_metric(name="Decisions", unit=MetricUnit.Count, value=1)
    # Dimensions apply to every metric of one flush, so each reason is its own EMF line.
    for reason in reasons:
        with single_metric(name="DecisionReasons", unit=MetricUnit.Count, value=1) as reason_metric:
            reason_metric.add_dimension(name="reason", value=reason)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecordDecisionInput.model_validate(event)
    logger.append_keys(onboarding_id=request.onboarding_id, purpose=request.purpose.value)

    result = steps.record_decision(
        request.onboarding_id, request.purpose, request.verification, request.shipping_reasons
    )
    _count_decision(request.purpose.value, str(result["decision"]), list(result["reasons"]))
    return result
