"""Recovery step "Perform Reset": reset the chosen factor at the identity provider, once.

Among the recovery steps, only this function may read the identity provider's credentials.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof.recovery.steps import perform_reset

logger = Logger()
tracer = Tracer()


class ResetInput(BaseModel):
    recovery_id: str
    person_id: str


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ResetInput.model_validate(event)
    logger.append_keys(recovery_id=request.recovery_id, person_id=request.person_id)
    return perform_reset(request.recovery_id)
