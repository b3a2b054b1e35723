"""POST /ssf/events: an OpenID Shared Signals transmitter pushes one Security Event Token (RFC 8935).

The body is the SET itself with `Content-Type: application/secevent+jwt`. The response is 202
with an empty body when the SET is accepted (also for a replayed jti, an event type without
risk, or an unknown subject, so that the response does not reveal who exists), and 400
`{"err": <RFC 8935 code>, "description": ...}` when it is rejected. A 503 means the
transmitter's keys could not be fetched; the transmitter retries.

An accepted risk event is published on the event bus as `RiskLevelChanged`, not applied here,
so events from every source are applied by one consumer (see `hireproof.risk.ssf`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from hireproof.http_errors import register
from hireproof.risk.ssf import SetReceiver, check_content_type, push_body, transmitters_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
register(app)


@cache
def _receiver() -> SetReceiver:
    # Cached per container, so that each transmitter's JWKS cache outlives one request.
    return SetReceiver(transmitters_from_env())


@app.post("/ssf/events")
@tracer.capture_method(capture_response=False)
def receive_security_event() -> Response[str]:
    event = app.current_event
    check_content_type(event.headers.get("content-type"))
    result = _receiver().receive(push_body(event.raw_event))

    metrics.add_dimension(name="status", value=result.status)
    metrics.add_metric(name="SecurityEvents", unit=MetricUnit.Count, value=1)
    logger.info("security event accepted", extra={"status": result.status, "event_id": result.event_id})
    return Response(status_code=202, body="")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
