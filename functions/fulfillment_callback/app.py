"""POST /fulfillment/callbacks: the fulfillment service reports a laptop's delivery outcome.

The request is signed like HireProof's orders (`hireproof.fulfillment.signing`): the
signature covers the bytes received, and the timestamp must be within 5 minutes. The body
is `{"shipment_id", "status": "delivered|failed|returned", "occurred_at"}`.

A delivery resumes the onboarding workflow with SendTaskSuccess. A failed or returned
shipment fails its Wait For Delivery step with DeliveryFailedError. The function returns
200 {"status": "accepted"}, or {"status": "already processed"} for a repeated callback.
A 409 means retry later, or that the workflow no longer waits for this shipment.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from hireproof.fulfillment import adapter, shipments
from hireproof.fulfillment.models import DeliveryStatus, parse_callback
from hireproof.fulfillment.signing import verify_signed_request
from hireproof.hr.sources import raw_body
from hireproof.http_errors import register

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
register(app)


@app.post("/fulfillment/callbacks")
@tracer.capture_method(capture_response=False)
def receive_delivery_callback() -> dict[str, str]:
    event = app.current_event
    body = raw_body(event.raw_event)
    verify_signed_request(adapter.fulfillment_secret(), event.headers, body, now=time.time())
    callback = parse_callback(body)
    logger.append_keys(shipment_id=callback.shipment_id, delivery_status=callback.status.value)

    if callback.status is DeliveryStatus.DELIVERED:
        result = shipments.complete_delivery(callback)
    else:
        result = shipments.fail_delivery(callback)

    metrics.add_dimension(name="status", value=callback.status.value)
    metrics.add_metric(name="DeliveryCallbacks", unit=MetricUnit.Count, value=1)
    logger.info("delivery callback processed", extra={"result": result.value})
    return {"status": result.value}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
