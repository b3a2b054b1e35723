"""POST /hr/webhooks/{source}: verify an HR webhook and start one onboarding per hire.

Responses: 202 {"onboarding_id", "status": "accepted"} for a new hire; 200 with status
"already accepted" for a repeated delivery or an already-started hire; 200
{"status": "ignored", "action"} for a verified event that is not a hire. Signature and
validation checks run before any write, so a rejected request leaves nothing behind.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from hireproof.config import require_env
from hireproof.errors import ConflictError, TransientError
from hireproof.hr import directory, intake, keys, mapping, sources
from hireproof.http_errors import register
from hireproof.models import Hire

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver()
register(app)

# HR systems retry for hours (Greenhouse for about 15); the onboarding id catches later repeats.
IDEMPOTENCY_SECONDS = 72 * 3600


def _already_accepted(response: Any, idempotent_data: DataRecord) -> dict[str, str]:
    return {**response, "status": intake.ALREADY_ACCEPTED}


persistence = DynamoDBPersistenceLayer(table_name=require_env("IDEMPOTENCY_TABLE"))
idempotency = IdempotencyConfig(
    event_key_jmespath="[source, event_id]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_SECONDS,
    response_hook=_already_accepted,
)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="delivery", config=idempotency, persistence_store=persistence
)
def accept_once(delivery: dict[str, str], hire: Hire) -> dict[str, str]:
    """Accept a hire once per (source, delivery id); `hire` is left out of the key on purpose."""
    return intake.accept_hire(hire).as_response()


def _json(status: int, body: dict[str, str]) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


@app.post("/hr/webhooks/<source>")
def receive_webhook(source: str) -> Response[str]:
    hr_source = sources.parse_source(source)
    logger.append_keys(source=hr_source.value)
    event = app.current_event
    delivery = sources.read_delivery(
        hr_source,
        event.headers,
        sources.raw_body(event.raw_event),
        keys.webhook_key(hr_source),
        now=time.time(),
    )
    logger.append_keys(event_id=delivery.event_id)
    if not delivery.is_hire:
        logger.info("HR event ignored", extra={"action": delivery.action})
        return _json(200, {"status": "ignored", "action": delivery.action})

    hire = mapping.hire_from_delivery(delivery, directory.directory_from_env)
    try:
        result = accept_once(
            delivery={"source": hr_source.value, "event_id": delivery.event_id}, hire=hire
        )
    except IdempotencyAlreadyInProgressError as exc:
        raise ConflictError("this delivery is being processed; retry later") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise TransientError("the idempotency store is unavailable; retry later") from exc
    logger.append_keys(onboarding_id=result["onboarding_id"])
    logger.info("hire accepted", extra={"status": result["status"]})
    return _json(202 if result["status"] == intake.ACCEPTED else 200, result)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
