"""The "Wait For ..." steps of every workflow: store the task token where its callback looks for it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, TypeAdapter

from hireproof.fulfillment.shipments import register_delivery_token
from hireproof.onboarding.reviews import request_review
from hireproof.recovery.choice import register_choice_token
from hireproof.sessions.store import register_task_token

logger = Logger()
tracer = Tracer()


class VerificationWait(BaseModel):
    kind: Literal["verification"]
    onboarding_id: str
    session_id: str
    task_token: str


class ReviewWait(BaseModel):
    kind: Literal["review"]
    onboarding_id: str
    stage: str
    reasons: list[str] = Field(default_factory=list)
    task_token: str


class DeliveryWait(BaseModel):
    kind: Literal["delivery"]
    onboarding_id: str
    shipment_id: str
    task_token: str


class RecoveryChoiceWait(BaseModel):
    kind: Literal["recovery_choice"]
    onboarding_id: str
    recovery_id: str
    task_token: str


WaitInput = TypeAdapter(
    Annotated[VerificationWait | ReviewWait | DeliveryWait | RecoveryChoiceWait, Field(discriminator="kind")]
)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    request = WaitInput.validate_python(event)
    logger.append_keys(onboarding_id=request.onboarding_id, wait_kind=request.kind)

    if isinstance(request, VerificationWait):
        register_task_token(request.session_id, request.task_token)
    elif isinstance(request, ReviewWait):
        request_review(request.onboarding_id, request.stage, request.reasons, request.task_token)
    elif isinstance(request, RecoveryChoiceWait):
        register_choice_token(request.recovery_id, request.task_token)
    else:
        register_delivery_token(request.onboarding_id, request.shipment_id, request.task_token)

    logger.info("task token registered")
    return {"registered": request.kind}
