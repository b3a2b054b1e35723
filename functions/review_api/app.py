"""Reviewer routes (IAM-authorized): list onboardings held for review, approve or reject one."""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hireproof import http_errors
from hireproof.errors import InvalidRequestError, MalformedBodyError
from hireproof.onboarding import reviews

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver()
http_errors.register(app)


EXPECTED_BODY = '{"decision": "approve" or "reject", "reason": "3 to 500 characters"}'


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=3, max_length=500)


def _reviewer_arn() -> str:
    iam = app.current_event.request_context.authorizer.iam
    return str(iam.user_arn or iam.caller_id or "unknown-iam-principal")


@app.get("/reviews")
def list_reviews() -> dict[str, Any]:
    return {"reviews": reviews.pending_reviews()}


@app.post("/reviews/<onboarding_id>")
def decide(onboarding_id: str) -> dict[str, Any]:
    try:
        document = json.loads(app.current_event.decoded_body or "{}")
    except json.JSONDecodeError as exc:
        raise MalformedBodyError(f"body is not valid JSON; send {EXPECTED_BODY}", field="body") from exc
    try:
        body = ReviewDecision.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidRequestError(
            f'{field}: {first["msg"]}; send {EXPECTED_BODY}',
            field=field,
        ) from exc

    return reviews.decide_review(
        onboarding_id, approved=body.decision == "approve", reason=body.reason, reviewer=_reviewer_arn()
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
