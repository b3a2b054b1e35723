"""Delivery callbacks: hireproof.fulfillment.shipments and functions/fulfillment_callback.

DynamoDB and Secrets Manager run in moto in-process; Step Functions is a botocore Stubber,
so every SendTaskSuccess or SendTaskFailure must be expected and a second one fails the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import importlib.util
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_xray_sdk.core  # noqa: F401 (see below)
import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber
from moto import mock_aws

from hireproof import aws
from hireproof.errors import ConflictError, NotFoundError, TransientError
from hireproof.fulfillment import shipments
from hireproof.fulfillment.models import (
    CallbackResult,
    DeliveryCallback,
    DeliveryStatus,
    ShipmentStatus,
)
from hireproof.local.template import load_document

# Powertools' Tracer creates the X-Ray recorder, which opens a UDP socket, on first use.
# Importing it here, at collection, happens before pytest-socket blocks sockets; tracing
# is disabled outside Lambda, so the recorder never sends anything.

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "fulfillment_callback"
HANDLER = ROOT / "functions" / "fulfillment_callback" / "app.py"

ONBOARDING_ID = "generic-E-1001"
SHIPMENT_ID = "shp_demo0001"  # the id in the sample events
ADDRESS_HASH = "a" * 64
TOKEN = "task-token-0001"
SECRET = "fulfillment-callback-secret"
OCCURRED_AT = dt.datetime(2026, 12, 1, 8, 55, tzinfo=dt.UTC)


# ----------------------------------------------------------------- fixtures
@functools.cache
def _template_resources() -> dict[str, Any]:
    return dict(load_document(ROOT / "template.yaml")["Resources"])


def _create_table(name: str, logical_id: str) -> None:
    properties = _template_resources()[logical_id]["Properties"]
    definition = {
        key: properties[key]
        for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")
        if key in properties
    }
    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", **definition
    )


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tables from template.yaml, the fulfillment secret and a SHIPPED onboarding, in moto."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ONBOARDING_TABLE": "onboarding",
        "AUDIT_TABLE": "audit",
        "POWERTOOLS_SERVICE_NAME": "hireproof",
        "POWERTOOLS_METRICS_NAMESPACE": "HireProof",
    }.items():
        monkeypatch.setenv(name, value)
    parameters.clear_caches()
    aws.reset_clients()
    with mock_aws():
        _create_table("onboarding", "OnboardingTable")
        _create_table("audit", "AuditTable")
        secret = boto3.client("secretsmanager").create_secret(
            Name="fulfillment", SecretString=SECRET
        )
        monkeypatch.setenv("FULFILLMENT_SECRET_ARN", secret["ARN"])
        aws.table("onboarding").put_item(
            Item={
                "pk": ONBOARDING_ID,
                "sk": "HIRE",
                "onboarding_id": ONBOARDING_ID,
                "state": "SHIPPED",
            }
        )
        yield
    parameters.clear_caches()
    aws.reset_clients()


class StepFunctionsStub:
    """Stubbed Step Functions client that records the parameters of every call."""

    def __init__(self) -> None:
        self.client = aws.client("stepfunctions")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("provide-client-params.sfn.*", self._record)
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def expect_success(self) -> None:
        self.stubber.add_response("send_task_success", {})

    def expect_failure(self) -> None:
        self.stubber.add_response("send_task_failure", {})

    def expect_error(self, operation: str, code: str) -> None:
        self.stubber.add_client_error(operation, service_error_code=code, http_status_code=400)

    def close(self) -> None:
        self.stubber.deactivate()
        self.client.meta.events.unregister("provide-client-params.sfn.*", self._record)


@pytest.fixture
def sfn(stack: None) -> Iterator[StepFunctionsStub]:
    stub = StepFunctionsStub()
    yield stub
    stub.close()


def _shipment_item() -> dict[str, Any]:
    key = {"pk": ONBOARDING_ID, "sk": f"SHIPMENT#{SHIPMENT_ID}"}
    return dict(aws.table("onboarding").get_item(Key=key, ConsistentRead=True)["Item"])


def _hire_item() -> dict[str, Any]:
    key = {"pk": ONBOARDING_ID, "sk": "HIRE"}
    return dict(aws.table("onboarding").get_item(Key=key, ConsistentRead=True)["Item"])


def _audit_actions() -> list[str]:
    items = aws.table("audit").query(
        KeyConditionExpression="subject_id = :s", ExpressionAttributeValues={":s": ONBOARDING_ID}
    )["Items"]
    return [str(item["action"]) for item in items]


def _awaiting_delivery() -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)
    shipments.register_delivery_token(ONBOARDING_ID, SHIPMENT_ID, TOKEN)


def _callback(status: DeliveryStatus = DeliveryStatus.DELIVERED) -> DeliveryCallback:
    return DeliveryCallback(shipment_id=SHIPMENT_ID, status=status, occurred_at=OCCURRED_AT)


# ----------------------------------------------------------------- records
def test_record_shipment_writes_shipment_and_lookup(stack: None) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    shipment = shipments.find_shipment(SHIPMENT_ID)
    assert shipment.onboarding_id == ONBOARDING_ID
    assert shipment.status is ShipmentStatus.REQUESTED
    assert shipment.address_hash == ADDRESS_HASH
    assert shipment.task_token is None


def test_record_shipment_is_visible_in_address_index(stack: None) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    page = aws.table("onboarding").query(
        IndexName="ByAddressHash",
        KeyConditionExpression="address_hash = :h",
        ExpressionAttributeValues={":h": ADDRESS_HASH},
    )
    assert [item["pk"] for item in page["Items"]] == [ONBOARDING_ID]


def test_record_shipment_twice_keeps_first_record(stack: None) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)
    first = _shipment_item()

    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    assert _shipment_item() == first


def test_record_shipment_rejects_other_onboarding(stack: None) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    with pytest.raises(ConflictError, match=SHIPMENT_ID):
        shipments.record_shipment("generic-E-2002", SHIPMENT_ID, ADDRESS_HASH)

    assert shipments.find_shipment(SHIPMENT_ID).onboarding_id == ONBOARDING_ID


def test_record_shipment_rejects_other_address(stack: None) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    with pytest.raises(ConflictError):
        shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, "b" * 64)

    assert _shipment_item()["address_hash"] == ADDRESS_HASH


def test_find_shipment_unknown_id(stack: None) -> None:
    with pytest.raises(NotFoundError) as raised:
        shipments.find_shipment("shp_unknown")

    assert raised.value.field == "shipment_id"


def test_register_token_needs_recorded_shipment(stack: None) -> None:
    with pytest.raises(NotFoundError, match="never recorded"):
        shipments.register_delivery_token(ONBOARDING_ID, SHIPMENT_ID, TOKEN)


def test_register_token_stores_it_unlogged(stack: None) -> None:
    _awaiting_delivery()

    shipment = shipments.find_shipment(SHIPMENT_ID)
    assert shipment.task_token == TOKEN
    assert TOKEN not in repr(shipment)


# ----------------------------------------------------------------- complete_delivery
def test_complete_delivery_sends_one_task_success(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()

    result = shipments.complete_delivery(_callback())

    assert result is CallbackResult.ACCEPTED
    assert len(sfn.calls) == 1
    operation, params = sfn.calls[0]
    assert operation == "SendTaskSuccess"
    assert params["taskToken"] == TOKEN
    assert json.loads(params["output"]) == {
        "delivered": True,
        "delivered_at": OCCURRED_AT.isoformat(),
        "shipment_id": SHIPMENT_ID,
    }


def test_complete_delivery_records_outcome(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()

    shipments.complete_delivery(_callback())

    item = _shipment_item()
    assert item["status"] == "DELIVERED"
    assert item["delivered_at"] == OCCURRED_AT.isoformat()
    assert "workflow_notified_at" in item
    assert _hire_item()["delivered_at"] == OCCURRED_AT.isoformat()
    assert _audit_actions() == ["shipment_delivered"]


def test_complete_delivery_duplicate_is_already_processed(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()
    shipments.complete_delivery(_callback())

    again = shipments.complete_delivery(_callback())

    assert again is CallbackResult.ALREADY_PROCESSED
    assert len(sfn.calls) == 1
    assert _audit_actions() == ["shipment_delivered"]


def test_complete_delivery_before_token_asks_retry(sfn: StepFunctionsStub) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    with pytest.raises(ConflictError, match="retry the callback"):
        shipments.complete_delivery(_callback())

    assert sfn.calls == []
    assert _shipment_item()["status"] == "REQUESTED"


def test_complete_delivery_unknown_shipment(sfn: StepFunctionsStub) -> None:
    with pytest.raises(NotFoundError):
        shipments.complete_delivery(_callback())

    assert sfn.calls == []


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_complete_delivery_closed_token_is_conflict(sfn: StepFunctionsStub, code: str) -> None:
    _awaiting_delivery()
    sfn.expect_error("send_task_success", code)

    with pytest.raises(ConflictError, match=code):
        shipments.complete_delivery(_callback())
    with pytest.raises(ConflictError, match=code):
        shipments.complete_delivery(_callback())

    assert len(sfn.calls) == 1
    assert _shipment_item()["workflow_rejection"] == code


def test_complete_delivery_transient_failure_releases_claim(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_error("send_task_success", "ThrottlingException")

    with pytest.raises(TransientError):
        shipments.complete_delivery(_callback())

    item = _shipment_item()
    assert item["status"] == "REQUESTED"
    assert "delivered_at" not in item

    sfn.expect_success()
    assert shipments.complete_delivery(_callback()) is CallbackResult.ACCEPTED
    assert [operation for operation, _ in sfn.calls] == ["SendTaskSuccess", "SendTaskSuccess"]


def test_complete_delivery_store_failure_releases_claim(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    aws.table("onboarding").delete_item(Key={"pk": ONBOARDING_ID, "sk": "HIRE"})

    with pytest.raises(NotFoundError):
        shipments.complete_delivery(_callback())

    assert _shipment_item()["status"] == "REQUESTED"
    assert sfn.calls == []


def test_complete_delivery_takes_over_stale_claim(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    crashed_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=shipments.STALE_CLAIM_SECONDS + 5)
    _claim_without_notification(crashed_at)
    sfn.expect_success()

    assert shipments.complete_delivery(_callback()) is CallbackResult.ACCEPTED
    assert len(sfn.calls) == 1
    assert "workflow_notified_at" in _shipment_item()


def test_complete_delivery_waits_for_fresh_claim(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    _claim_without_notification(dt.datetime.now(dt.UTC))

    with pytest.raises(ConflictError, match="being processed"):
        shipments.complete_delivery(_callback())

    assert sfn.calls == []


def _claim_without_notification(claimed_at: dt.datetime) -> None:
    """Leave the state a callback invocation leaves when it crashes after its claim."""
    aws.table("onboarding").update_item(
        Key={"pk": ONBOARDING_ID, "sk": f"SHIPMENT#{SHIPMENT_ID}"},
        UpdateExpression=(
            "SET #s = :d, outcome_at = :at, delivered_at = :at, callback_received_at = :c"
        ),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":d": "DELIVERED",
            ":at": OCCURRED_AT.isoformat(),
            ":c": claimed_at.isoformat(timespec="milliseconds"),
        },
    )


# ----------------------------------------------------------------- fail_delivery
@pytest.mark.parametrize("status", [DeliveryStatus.FAILED, DeliveryStatus.RETURNED])
def test_fail_delivery_sends_delivery_failed_error(
    sfn: StepFunctionsStub, status: DeliveryStatus
) -> None:
    _awaiting_delivery()
    sfn.expect_failure()

    assert shipments.fail_delivery(_callback(status)) is CallbackResult.ACCEPTED

    operation, params = sfn.calls[0]
    assert operation == "SendTaskFailure"
    assert params["taskToken"] == TOKEN
    assert params["error"] == "DeliveryFailedError"
    assert json.loads(params["cause"]) == {
        "shipment_id": SHIPMENT_ID,
        "status": status.value.upper(),
        "occurred_at": OCCURRED_AT.isoformat(),
    }
    assert _shipment_item()["status"] == status.value.upper()
    assert "delivered_at" not in _hire_item()


def test_delivered_after_returned_is_conflict(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_failure()
    shipments.fail_delivery(_callback(DeliveryStatus.RETURNED))

    with pytest.raises(ConflictError, match="already RETURNED") as raised:
        shipments.complete_delivery(_callback())

    assert raised.value.field == "status"
    assert len(sfn.calls) == 1


def test_complete_delivery_rejects_wrong_status(stack: None) -> None:
    with pytest.raises(ValueError, match="delivered callback"):
        shipments.complete_delivery(_callback(DeliveryStatus.FAILED))


# ----------------------------------------------------------------- token and cancellation
def test_register_after_outcome_resumes_new_token(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()
    shipments.complete_delivery(_callback())
    sfn.expect_success()

    shipments.register_delivery_token(ONBOARDING_ID, SHIPMENT_ID, "task-token-0002")

    operation, params = sfn.calls[1]
    assert operation == "SendTaskSuccess"
    assert params["taskToken"] == "task-token-0002"
    assert json.loads(params["output"])["shipment_id"] == SHIPMENT_ID


def test_callback_after_cancellation_is_conflict(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    shipments.record_cancellation(ONBOARDING_ID, SHIPMENT_ID)
    shipments.record_cancellation(ONBOARDING_ID, SHIPMENT_ID)

    with pytest.raises(ConflictError, match="already CANCELLED"):
        shipments.complete_delivery(_callback())

    assert sfn.calls == []


def test_cancellation_after_delivery_is_conflict(sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()
    shipments.complete_delivery(_callback())

    with pytest.raises(ConflictError, match="cannot be cancelled"):
        shipments.record_cancellation(ONBOARDING_ID, SHIPMENT_ID)


# ----------------------------------------------------------------- the HTTP handler
@dataclass
class LambdaContext:
    function_name: str = "FulfillmentCallbackFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:FulfillmentCallbackFunction"
    )
    aws_request_id: str = "req-0001"


@pytest.fixture
def handler(sfn: StepFunctionsStub) -> ModuleType:
    """A fresh copy of the function module, loaded after the environment is set."""
    spec = importlib.util.spec_from_file_location("fulfillment_callback_app", HANDLER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(
    name: str = "delivered",
    *,
    body: bytes | None = None,
    signed_at: float | None = None,
    secret: str = SECRET,
) -> dict[str, Any]:
    """Load a sample event and sign its body (or `body`) as the fulfillment service does."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    raw = event["body"].encode("utf-8") if body is None else body
    timestamp = str(int(time.time() if signed_at is None else signed_at))
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    event["body"] = raw.decode("utf-8")
    event["headers"]["x-hireproof-timestamp"] = timestamp
    event["headers"]["x-hireproof-signature"] = f"v1={digest}"
    return event


def _invoke(handler: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(event, LambdaContext())
    return int(response["statusCode"]), json.loads(response["body"])


def test_handler_accepts_signed_delivery(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()

    status, body = _invoke(handler, _event())

    assert (status, body) == (200, {"status": "accepted"})
    assert [operation for operation, _ in sfn.calls] == ["SendTaskSuccess"]
    assert json.loads(sfn.calls[0][1]["output"])["delivered_at"] == "2026-12-01T08:55:00+00:00"


def test_handler_duplicate_sends_one_success(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_success()

    first = _invoke(handler, _event())
    second = _invoke(handler, _event())

    assert first == (200, {"status": "accepted"})
    assert second == (200, {"status": "already processed"})
    assert len(sfn.calls) == 1


def test_handler_returned_fails_the_wait(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    sfn.expect_failure()

    status, body = _invoke(handler, _event("returned"))

    assert (status, body) == (200, {"status": "accepted"})
    assert sfn.calls[0][0] == "SendTaskFailure"
    assert sfn.calls[0][1]["error"] == "DeliveryFailedError"


def test_handler_accepts_base64_body_and_upper_case_headers(
    handler: ModuleType, sfn: StepFunctionsStub
) -> None:
    _awaiting_delivery()
    sfn.expect_success()
    event = _event()
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    event["headers"] = {name.upper(): value for name, value in event["headers"].items()}

    assert _invoke(handler, event) == (200, {"status": "accepted"})


def test_handler_bad_signature_is_401(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()

    status, body = _invoke(handler, _event(secret="not-the-shared-secret"))

    assert status == 401
    assert body["error"] == "SignatureInvalidError"
    assert sfn.calls == []
    assert _shipment_item()["status"] == "REQUESTED"


def test_handler_tampered_body_is_401(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()
    event = _event()
    event["body"] = event["body"].replace("delivered", "returned")

    status, body = _invoke(handler, event)

    assert status == 401
    assert body["error"] == "SignatureInvalidError"
    assert sfn.calls == []


def test_handler_stale_timestamp_is_401(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    _awaiting_delivery()

    status, body = _invoke(handler, _event(signed_at=time.time() - 301))

    assert status == 401
    assert body["error"] == "TimestampOutOfWindowError"
    assert sfn.calls == []


def test_handler_missing_signature_is_401(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    event = _event()
    del event["headers"]["x-hireproof-signature"]

    status, body = _invoke(handler, event)

    assert status == 401
    assert body["error"] == "SignatureMissingError"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            b'{"shipment_id":"shp_demo0001","status":"lost","occurred_at":"2026-12-01T08:55:00Z"}',
            "status",
        ),
        (b'{"shipment_id":"shp_demo0001","status":"delivered"}', "occurred_at"),
        (
            b'{"shipment_id":"shp_demo0001","status":"delivered","occurred_at":"2026-12-01T08:55:00"}',
            "occurred_at",
        ),
        (
            b'{"shipment_id":"../x","status":"delivered","occurred_at":"2026-12-01T08:55:00Z"}',
            "shipment_id",
        ),
        (b"not json", "body"),
    ],
    ids=["unknown-status", "missing-time", "time-without-zone", "unsafe-id", "not-json"],
)
def test_handler_invalid_body_is_422(
    handler: ModuleType, sfn: StepFunctionsStub, document: bytes, field: str
) -> None:
    status, body = _invoke(handler, _event(body=document))

    assert status == 422
    assert body["error"] == "InvalidRequestError"
    assert body["field"] == field
    assert sfn.calls == []


def test_handler_unknown_shipment_is_404(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    status, body = _invoke(handler, _event())

    assert status == 404
    assert body["error"] == "NotFoundError"
    assert body["field"] == "shipment_id"


def test_handler_before_token_is_409(handler: ModuleType, sfn: StepFunctionsStub) -> None:
    shipments.record_shipment(ONBOARDING_ID, SHIPMENT_ID, ADDRESS_HASH)

    status, body = _invoke(handler, _event())

    assert status == 409
    assert "retry" in body["message"]
    assert sfn.calls == []


def test_handler_logs_ids_not_secrets(
    caplog: pytest.LogCaptureFixture, handler: ModuleType, sfn: StepFunctionsStub
) -> None:
    stream = io.StringIO()
    handler.logger.registered_handler.setStream(stream)
    _awaiting_delivery()
    sfn.expect_success()
    event = _event()

    _invoke(handler, event)

    output = stream.getvalue()
    library_records = " ".join(str(record.__dict__) for record in caplog.records)
    assert SHIPMENT_ID in output
    assert '"delivery_status":"delivered"' in output
    for secret_value in (TOKEN, SECRET, event["headers"]["x-hireproof-signature"][3:]):
        assert secret_value not in output
        assert secret_value not in library_records
