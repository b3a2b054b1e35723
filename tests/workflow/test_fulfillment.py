"""The fake fulfillment service over real 127.0.0.1 sockets, and a delivery that resumes a workflow.

The test's resources live on the local runtime's process-wide moto server (127.0.0.1, state
machine execution on) under a prefix of their own, beside any LocalStack. A small HTTP
bridge hands the fake's callbacks to the real functions/fulfillment_callback handler
as API Gateway v2 events. The state machine here has only the Wait For Delivery contract
of the onboarding workflow: an SQS `.waitForTaskToken` task whose token the test registers
with `register_delivery_token`, as the real RegisterTaskToken function does.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities import parameters

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import FulfillmentError, TransientError
from hireproof.fulfillment import shipments
from hireproof.fulfillment.adapter import ShipmentOrder, WebhookFulfillment, fulfillment_secret
from hireproof.fulfillment.signing import signed_headers
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.runtime import RUNTIME
from hireproof.local.template import load_document
from hireproof.models import Address

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "fulfillment_callback" / "app.py"
ADDRESS = Address(
    line1="1 Demo Way", city="Springfield", region="IL", postal_code="62701", country="US"
)
EXECUTION_TIMEOUT_SECONDS = 30


# ----------------------------------------------------------------- the local stack
@dataclass
class Stack:
    endpoint: str
    secret: str
    secret_arn: str
    queue_url: str
    state_machine_arn: str
    callback_url: str


def _wait_for_delivery_asl(queue_url: str) -> dict[str, Any]:
    return {
        "StartAt": "Wait For Delivery",
        "States": {
            "Wait For Delivery": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "onboarding_id.$": "$.onboarding_id",
                        "shipment_id.$": "$.shipment_id",
                        "task_token.$": "$$.Task.Token",
                    },
                },
                "TimeoutSeconds": 120,
                "End": True,
            }
        },
    }


class CallbackBridge:
    """HTTP server that passes each request to the callback handler as an API Gateway v2 event."""

    def __init__(self, handler: ModuleType) -> None:
        self._handler = handler
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = bridge.invoke(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self._server.serve_forever, name="callback-bridge", daemon=True).start()
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        # HTTP APIs lower-case header names and base64-encode bodies that are not text.
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
        event = {
            "version": "2.0",
            "routeKey": f"POST {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {name.lower(): value for name, value in headers.items()},
            "requestContext": {
                "http": {
                    "method": "POST",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                },
                "requestId": uuid.uuid4().hex,
                "routeKey": f"POST {path}",
                "stage": "$default",
            },
            "body": text,
            "isBase64Encoded": encoded,
        }
        response = self._handler.lambda_handler(event, _Context())
        return int(response["statusCode"]), str(response["body"]).encode("utf-8")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class _Context:
    function_name: str = "FulfillmentCallbackFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:FulfillmentCallbackFunction"
    )
    aws_request_id: str = "local"


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fulfillment_callback_app", HANDLER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Create tables from template.yaml, the secret, a queue and a state machine on moto."""
    prefix = f"fulfillment-test-{uuid.uuid4().hex[:8]}"
    endpoint = RUNTIME.acquire(prefix)
    bridge: CallbackBridge | None = None
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONBOARDING_TABLE", f"{prefix}-onboarding")
        env.setenv("AUDIT_TABLE", f"{prefix}-audit")
        env.setenv("POWERTOOLS_SERVICE_NAME", "hireproof")
        env.setenv("POWERTOOLS_METRICS_NAMESPACE", "HireProof")
        parameters.clear_caches()
        aws.reset_clients()
        try:
            resources = load_document(ROOT / "template.yaml")["Resources"]
            for table, logical_id in (
                (f"{prefix}-onboarding", "OnboardingTable"),
                (f"{prefix}-audit", "AuditTable"),
            ):
                properties = resources[logical_id]["Properties"]
                definition = {
                    key: properties[key]
                    for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")
                    if key in properties
                }
                boto3.client("dynamodb").create_table(
                    TableName=table, BillingMode="PAY_PER_REQUEST", **definition
                )
            secret = uuid.uuid4().hex
            secret_arn = boto3.client("secretsmanager").create_secret(
                Name=f"{prefix}-fulfillment", SecretString=secret
            )["ARN"]
            env.setenv("FULFILLMENT_SECRET_ARN", secret_arn)
            queue_url = boto3.client("sqs").create_queue(QueueName=f"{prefix}-delivery-waits")[
                "QueueUrl"
            ]
            role = boto3.client("iam").create_role(
                RoleName=f"{prefix}-state-machine", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            state_machine_arn = boto3.client("stepfunctions").create_state_machine(
                name=f"{prefix}-wait-for-delivery",
                definition=json.dumps(_wait_for_delivery_asl(queue_url)),
                roleArn=role,
            )["stateMachineArn"]
            bridge = CallbackBridge(_load_handler())
            callback_url = f"{bridge.start()}/fulfillment/callbacks"
            yield Stack(endpoint, secret, secret_arn, queue_url, state_machine_arn, callback_url)
        finally:
            if bridge is not None:
                bridge.stop()
            RUNTIME.release(prefix)
            parameters.clear_caches()
            aws.reset_clients()


@pytest.fixture
def fake(stack: Stack) -> Iterator[FakeFulfillment]:
    service = FakeFulfillment()
    service.start()
    service.configure(secret_arn=stack.secret_arn, callback_url=stack.callback_url)
    yield service
    service.stop()


@pytest.fixture
def client(fake: FakeFulfillment) -> WebhookFulfillment:
    """The production adapter, reading the secret from FULFILLMENT_SECRET_ARN."""
    return WebhookFulfillment(fake.base_url, fulfillment_secret)


def _order(onboarding_id: str, **changes: Any) -> ShipmentOrder:
    fields: dict[str, Any] = {
        "onboarding_id": onboarding_id,
        "device_profile": "standard-laptop",
        "recipient_name": "Eileen Collins",
        "ship_to": ADDRESS,
        "idempotency_key": f"{onboarding_id}.laptop",
    }
    fields.update(changes)
    return ShipmentOrder(**fields)


def _new_onboarding() -> str:
    onboarding_id = f"generic-{uuid.uuid4().hex[:12]}"
    aws.table(require_env("ONBOARDING_TABLE")).put_item(
        Item={"pk": onboarding_id, "sk": "HIRE", "onboarding_id": onboarding_id, "state": "SHIPPED"}
    )
    return onboarding_id


def _signed_post(
    url: str, document: dict[str, Any], secret: str, headers: dict[str, str] | None = None
) -> requests.Response:
    body = json.dumps(document).encode()
    signed = signed_headers(secret.encode(), body)
    return requests.post(url, data=body, headers={**signed, **(headers or {})}, timeout=10)


# ----------------------------------------------------------------- orders
def test_order_same_key_returns_same_shipment(
    client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id = _new_onboarding()

    first = client.request_shipment(_order(onboarding_id))
    second = client.request_shipment(_order(onboarding_id))

    assert first == second
    assert len(fake.orders_for(onboarding_id)) == 1
    assert fake.orders[0]["body"]["ship_to"]["line1"] == "1 Demo Way"


def test_order_status_codes_for_new_and_repeat(stack: Stack, fake: FakeFulfillment) -> None:
    document = _order(_new_onboarding()).request_body()
    key = {"Idempotency-Key": "raw-order-1"}

    created = _signed_post(f"{fake.base_url}/orders", document, stack.secret, key)
    repeated = _signed_post(f"{fake.base_url}/orders", document, stack.secret, key)

    assert created.status_code == 201
    assert repeated.status_code == 200
    assert repeated.json()["shipment_id"] == created.json()["shipment_id"]


def test_order_new_key_makes_new_shipment(
    client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id = _new_onboarding()

    first = client.request_shipment(_order(onboarding_id))
    second = client.request_shipment(_order(onboarding_id, idempotency_key="another-key"))

    assert first != second
    assert len(fake.orders_for(onboarding_id)) == 2


def test_order_key_reuse_with_other_body(client: WebhookFulfillment, fake: FakeFulfillment) -> None:
    onboarding_id = _new_onboarding()
    client.request_shipment(_order(onboarding_id))
    moved = ADDRESS.model_copy(update={"line1": "9 Other Street"})

    with pytest.raises(FulfillmentError, match="HTTP 422"):
        client.request_shipment(_order(onboarding_id, ship_to=moved))

    assert len(fake.orders_for(onboarding_id)) == 1


def test_order_without_key_is_400(stack: Stack, fake: FakeFulfillment) -> None:
    response = _signed_post(f"{fake.base_url}/orders", _order("x").request_body(), stack.secret)

    assert response.status_code == 400
    assert fake.orders == []


# ----------------------------------------------------------------- signatures
def test_fake_rejects_wrong_secret(fake: FakeFulfillment) -> None:
    impostor = WebhookFulfillment(fake.base_url, lambda: b"not-the-shared-secret")

    with pytest.raises(FulfillmentError, match="HTTP 401"):
        impostor.request_shipment(_order(_new_onboarding()))

    assert fake.orders == []
    assert fake.rejections == [{"path": "/orders", "error": "SignatureInvalidError"}]


def test_fake_rejects_stale_timestamp(stack: Stack, fake: FakeFulfillment) -> None:
    body = json.dumps(_order("x").request_body()).encode()
    stale = signed_headers(stack.secret.encode(), body, timestamp=int(time.time()) - 600)

    response = requests.post(
        f"{fake.base_url}/orders",
        data=body,
        headers={**stale, "Idempotency-Key": "stale-1"},
        timeout=10,
    )

    assert response.status_code == 401
    assert fake.rejections == [{"path": "/orders", "error": "TimestampOutOfWindowError"}]


def test_fake_rejects_unsigned_cancel(fake: FakeFulfillment) -> None:
    response = requests.post(f"{fake.base_url}/orders/shp_x/cancel", data=b"{}", timeout=10)

    assert response.status_code == 401
    assert fake.cancellations == []


def test_unconfigured_fake_is_transient() -> None:
    service = FakeFulfillment()
    service.start()
    try:
        adapter = WebhookFulfillment(service.base_url, lambda: b"any")
        with pytest.raises(TransientError, match="HTTP 503"):
            adapter.request_shipment(_order("generic-unconfigured"))
    finally:
        service.stop()


# ----------------------------------------------------------------- cancellation
def test_cancel_is_recorded_once(client: WebhookFulfillment, fake: FakeFulfillment) -> None:
    shipment_id = client.request_shipment(_order(_new_onboarding()))

    client.cancel_shipment(shipment_id)
    client.cancel_shipment(shipment_id)

    assert fake.cancellations == [shipment_id]
    assert fake.orders[0]["status"] == "CANCELLED"


def test_cancel_unknown_shipment(client: WebhookFulfillment, fake: FakeFulfillment) -> None:
    with pytest.raises(FulfillmentError, match="HTTP 404"):
        client.cancel_shipment("shp_unknown")

    assert fake.cancellations == []


# ----------------------------------------------------------------- delivery callbacks
def _start_waiting_execution(stack: Stack, onboarding_id: str, shipment_id: str) -> str:
    """Start the wait, take its token from SQS and register it on the shipment."""
    sfn = boto3.client("stepfunctions")
    execution_arn = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=onboarding_id,
        input=json.dumps({"onboarding_id": onboarding_id, "shipment_id": shipment_id}),
    )["executionArn"]

    sqs = boto3.client("sqs")
    deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
            wait = json.loads(message["Body"])
            if wait["onboarding_id"] == onboarding_id:
                shipments.register_delivery_token(onboarding_id, shipment_id, wait["task_token"])
                return str(execution_arn)
    raise AssertionError(
        f"no task token within {EXECUTION_TIMEOUT_SECONDS} s: {_history(execution_arn)}"
    )


def _finished(execution_arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return dict(description)
        time.sleep(0.2)
    raise AssertionError(
        f"execution still RUNNING after {EXECUTION_TIMEOUT_SECONDS} s: {_history(execution_arn)}"
    )


def _history(execution_arn: str) -> list[str]:
    events = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn)
    return [event["type"] for event in events["events"]]


def _shipped(client: WebhookFulfillment) -> tuple[str, str]:
    onboarding_id = _new_onboarding()
    shipment_id = client.request_shipment(_order(onboarding_id))
    shipments.record_shipment(onboarding_id, shipment_id, "a" * 64)
    return onboarding_id, shipment_id


def test_delivery_resumes_waiting_execution(
    stack: Stack, client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id, shipment_id = _shipped(client)
    execution_arn = _start_waiting_execution(stack, onboarding_id, shipment_id)

    response = fake.deliver(shipment_id)

    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    description = _finished(execution_arn)
    assert description["status"] == "SUCCEEDED"
    output = json.loads(description["output"])
    assert output["delivered"] is True
    assert output["shipment_id"] == shipment_id
    assert output["delivered_at"]
    assert fake.orders_for(onboarding_id)[0]["status"] == "DELIVERED"


def test_repeated_delivery_is_already_processed(
    stack: Stack, client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id, shipment_id = _shipped(client)
    execution_arn = _start_waiting_execution(stack, onboarding_id, shipment_id)
    fake.deliver(shipment_id)
    _finished(execution_arn)

    again = fake.deliver(shipment_id)

    assert again.status_code == 200
    assert again.json() == {"status": "already processed"}


def test_delivery_before_token_asks_retry(
    client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id, shipment_id = _shipped(client)

    response = fake.deliver(shipment_id)

    assert response.status_code == 409
    assert not response
    assert fake.orders_for(onboarding_id)[0]["status"] == "REQUESTED"


def test_returned_shipment_fails_execution(
    stack: Stack, client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id, shipment_id = _shipped(client)
    execution_arn = _start_waiting_execution(stack, onboarding_id, shipment_id)

    response = fake.deliver(shipment_id, "returned")

    assert response.json() == {"status": "accepted"}
    description = _finished(execution_arn)
    assert description["status"] == "FAILED"
    assert description.get("error") == "DeliveryFailedError"


def test_cancel_after_delivery_is_rejected(
    stack: Stack, client: WebhookFulfillment, fake: FakeFulfillment
) -> None:
    onboarding_id, shipment_id = _shipped(client)
    execution_arn = _start_waiting_execution(stack, onboarding_id, shipment_id)
    fake.deliver(shipment_id)
    _finished(execution_arn)

    with pytest.raises(FulfillmentError, match="already_delivered"):
        client.cancel_shipment(shipment_id)

    assert fake.cancellations == []
