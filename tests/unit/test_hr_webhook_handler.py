"""functions/hr_webhook: the handler end to end on moto (Secrets Manager, DynamoDB, Step Functions).

The sample events under events/hr_webhook/ contain placeholder signatures and timestamps
("placeholder-tests-recompute-this-signature"). `signed_event` recomputes them with a
known key and the current time, as the HR system does when it sends.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities import parameters

# Tracer() builds X-Ray's UDP emitter on first use; importing it while collecting, before
# pytest-socket blocks sockets, creates that socket unconnected. Nothing is ever sent.
from aws_xray_sdk.core import xray_recorder  # noqa: F401

from hireproof.hr import directory as directory_module
from hireproof.hr import mapping, sources
from hireproof.local.fakes.bamboohr import DEFAULT_COMPANY, FakeBambooHr
from hireproof.models import HireSource
from hireproof.onboarding import store
from template_resources import mocked_stack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "hr_webhook"
KEYS = {
    "bamboohr": "bamboo-private-key",
    "greenhouse": "greenhouse-secret",
    "generic": "generic-key",
}
DIRECTORY_KEY = "directory-api-key"
DIRECTORY_URL = f"http://bamboohr.test/api/gateway.php/{DEFAULT_COMPANY}"

SAMPLES = {
    "bamboohr_employee_created": ("bamboohr-4021", "bamboohr"),
    "greenhouse_candidate_hired": ("greenhouse-50001", "greenhouse"),
    "generic_hire": ("generic-E-1001", "generic"),
    "generic_hire_ja": ("generic-E-2001", "generic"),
}


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event


def signed_event(
    event: dict[str, Any],
    *,
    key: str | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Return a copy of `event` with fresh signature headers over its body bytes."""
    event = json.loads(json.dumps(event))
    source = HireSource(event["pathParameters"]["source"])
    body = sources.raw_body(event)
    headers: dict[str, str] = event["headers"]
    current_id = headers.get("greenhouse-event-id") or headers.get("x-hireproof-event-id") or ""
    fresh = sources.signed_headers(
        source,
        (key if key is not None else KEYS[source.value]).encode(),
        body,
        timestamp=int(time.time()) if timestamp is None else timestamp,
        event_id=event_id or current_id,
    )
    # HTTP APIs deliver header names in lower case.
    headers.update({name.lower(): value for name, value in fresh.items()})
    return event


def with_body(event: dict[str, Any], body: dict[str, Any] | bytes) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    event["body"] = raw.decode("utf-8", errors="replace")
    return event


@dataclass
class LambdaContext:
    function_name: str = "HrWebhookFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:HrWebhookFunction"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Stack:
    app: ModuleType
    state_machine_arn: str
    secret_arn: str
    fake: FakeBambooHr
    onboarding_table: str
    idempotency_table: str

    def invoke(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.app.lambda_handler(event, LambdaContext())
        return response["statusCode"], json.loads(response["body"])

    def executions(self) -> list[dict[str, Any]]:
        client = boto3.client("stepfunctions")
        found = client.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [client.describe_execution(executionArn=e["executionArn"]) for e in found]

    def onboardings(self) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(self.onboarding_table)
        items: list[dict[str, Any]] = table.scan()["Items"]
        return items

    def idempotency_records(self) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(self.idempotency_table)
        items: list[dict[str, Any]] = table.scan()["Items"]
        return items

    def assert_nothing_written(self) -> None:
        assert self.onboardings() == []
        assert self.executions() == []
        assert self.idempotency_records() == []

    def set_keys(self, **keys: str) -> None:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=self.secret_arn, SecretString=json.dumps({**KEYS, **keys})
        )
        parameters.clear_caches()


def _load_app() -> ModuleType:
    name = f"hr_webhook_app_{time.monotonic_ns()}"
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "functions" / "hr_webhook" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """template.yaml's resources on moto, HrWebhookFunction's environment, a fake directory."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    parameters.clear_caches()
    directory_module._session.cache_clear()
    with mocked_stack({"HrDirectoryUrl": DIRECTORY_URL}) as resources:
        environment = resources.function_environment("HrWebhookFunction")
        # template_resources creates no state machines; a one-state machine takes the executions.
        environment["ONBOARDING_STATE_MACHINE_ARN"] = boto3.client(
            "stepfunctions"
        ).create_state_machine(
            name="onboarding",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/onboarding",
        )["stateMachineArn"]
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        # The operator puts the HR systems' keys and the directory API key into the secrets.
        secrets = boto3.client("secretsmanager")
        secrets.put_secret_value(
            SecretId=environment["HR_WEBHOOK_SECRET_ARN"], SecretString=json.dumps(KEYS)
        )
        secrets.put_secret_value(
            SecretId=environment["HR_DIRECTORY_SECRET_ARN"],
            SecretString=json.dumps({"api_key": DIRECTORY_KEY}),
        )

        fake = FakeBambooHr(api_key=DIRECTORY_KEY)
        directory_module._session().mount("http://bamboohr.test", fake.adapter())
        yield Stack(
            _load_app(),
            environment["ONBOARDING_STATE_MACHINE_ARN"],
            environment["HR_WEBHOOK_SECRET_ARN"],
            fake,
            onboarding_table=environment["ONBOARDING_TABLE"],
            idempotency_table=environment["IDEMPOTENCY_TABLE"],
        )
    parameters.clear_caches()
    directory_module._session.cache_clear()


@pytest.fixture
def logs(stack: Stack) -> Iterator[io.StringIO]:
    """Capture the service's JSON log lines, appended keys included."""
    service = logging.getLogger("hireproof")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(service.handlers[0].formatter)
    service.addHandler(handler)
    yield stream
    service.removeHandler(handler)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# ---------------------------------------------------------------- accepted
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_handler_accepts_sample_events(stack: Stack, sample: str) -> None:
    onboarding_id, source = SAMPLES[sample]

    status, body = stack.invoke(signed_event(load_event(sample)))

    assert (status, body) == (202, {"onboarding_id": onboarding_id, "status": "accepted"})
    [record] = stack.onboardings()
    assert (record["pk"], record["sk"], record["state"]) == (onboarding_id, "HIRE", "RECEIVED")
    assert record["hire"]["source"] == source
    [execution] = stack.executions()
    assert execution["name"] == onboarding_id
    # Ids only: the hire stays in the table, never in the execution input.
    assert json.loads(execution["input"]) == {"onboarding_id": onboarding_id, "source": source}


def test_handler_bamboohr_reads_directory(stack: Stack) -> None:
    stack.invoke(signed_event(load_event("bamboohr_employee_created")))

    [record] = stack.onboardings()
    hire = record["hire"]
    assert hire["legal_name"] == {"given": "Eileen", "family": "Collins"}
    assert hire["date_of_birth"] == "1990-11-19"
    assert hire["home_address"]["line1"] == "1 Demo Way"
    assert stack.fake.requests_served == 1


def test_handler_japanese_hire(stack: Stack) -> None:
    stack.invoke(signed_event(load_event("generic_hire_ja")))

    [record] = stack.onboardings()
    assert record["hire"]["locale"] == "ja"
    assert record["hire"]["legal_name"]["family"] == "山田"


def test_handler_base64_body(stack: Stack) -> None:
    event = load_event("generic_hire_ja")
    event["body"] = base64.b64encode(event["body"].encode("utf-8")).decode("ascii")
    event["isBase64Encoded"] = True

    status, _ = stack.invoke(signed_event(event))

    assert status == 202


# ---------------------------------------------------------------- duplicates
def test_handler_repeated_delivery(stack: Stack) -> None:
    event = signed_event(load_event("greenhouse_candidate_hired"))

    first = stack.invoke(event)
    second = stack.invoke(event)

    assert first == (202, {"onboarding_id": "greenhouse-50001", "status": "accepted"})
    assert second == (200, {"onboarding_id": "greenhouse-50001", "status": "already accepted"})
    assert len(stack.executions()) == 1
    assert len(stack.onboardings()) == 1
    assert len(stack.idempotency_records()) == 1


def test_handler_new_delivery_same_hire(stack: Stack) -> None:
    event = load_event("greenhouse_candidate_hired")

    stack.invoke(signed_event(event, event_id="delivery-1"))
    status, body = stack.invoke(signed_event(event, event_id="delivery-2"))

    assert (status, body["status"]) == (200, "already accepted")
    assert len(stack.executions()) == 1
    assert len(stack.idempotency_records()) == 2


def test_handler_starts_stranded_hire(stack: Stack) -> None:
    # A crash between the write and StartExecution leaves the record alone.
    event = load_event("generic_hire")
    hire = mapping.hire_from_generic(json.loads(event["body"]), event_id="lost")
    assert store.create_onboarding("generic-E-1001", hire)
    assert stack.executions() == []

    status, body = stack.invoke(signed_event(event, event_id="retry"))

    assert (status, body["status"]) == (200, "already accepted")
    [execution] = stack.executions()
    assert execution["name"] == "generic-E-1001"


def test_handler_ended_execution_not_restarted(stack: Stack) -> None:
    event = load_event("generic_hire")
    stack.invoke(signed_event(event, event_id="first"))
    [execution] = stack.executions()
    boto3.client("stepfunctions").stop_execution(executionArn=execution["executionArn"])

    status, body = stack.invoke(signed_event(event, event_id="second"))

    # Step Functions refuses a second execution of that name: ExecutionAlreadyExists.
    assert (status, body["status"]) == (200, "already accepted")
    assert [e["status"] for e in stack.executions()] == ["ABORTED"]


# ---------------------------------------------------------------- rejected
def test_handler_wrong_key(stack: Stack) -> None:
    status, body = stack.invoke(signed_event(load_event("generic_hire"), key="not-the-key"))

    assert status == 401
    assert body["error"] == "SignatureInvalidError"
    stack.assert_nothing_written()


def test_handler_tampered_body(stack: Stack) -> None:
    event = signed_event(load_event("generic_hire"))
    event["body"] = event["body"].replace("E-1001", "E-6666")

    status, _ = stack.invoke(event)

    assert status == 401
    stack.assert_nothing_written()


def test_handler_expired_timestamp(stack: Stack) -> None:
    event = signed_event(load_event("bamboohr_employee_created"), timestamp=int(time.time()) - 600)

    status, body = stack.invoke(event)

    assert (status, body["error"]) == (401, "TimestampOutOfWindowError")
    stack.assert_nothing_written()
    assert stack.fake.requests_served == 0


def test_handler_missing_signature(stack: Stack) -> None:
    event = signed_event(load_event("greenhouse_candidate_hired"))
    del event["headers"]["signature"]

    status, body = stack.invoke(event)

    assert (status, body["error"], body["field"]) == (401, "SignatureMissingError", "Signature")
    stack.assert_nothing_written()


def test_handler_source_without_key(stack: Stack, logs: io.StringIO) -> None:
    stack.set_keys(greenhouse="")

    status, body = stack.invoke(
        signed_event(load_event("greenhouse_candidate_hired"), key="anything")
    )

    assert status == 401
    assert "no webhook key configured" in body["message"]
    [warning] = [line for line in log_lines(logs) if line["level"] == "WARNING"]
    assert warning["message"] == "HR source has no webhook key configured"
    assert warning["source"] == "greenhouse"
    stack.assert_nothing_written()


def test_handler_invalid_hire(stack: Stack) -> None:
    event = load_event("generic_hire")
    document = json.loads(event["body"])
    del document["personal_email"]

    status, body = stack.invoke(signed_event(with_body(event, document)))

    assert (status, body["error"], body["field"]) == (422, "InvalidRequestError", "personal_email")
    stack.assert_nothing_written()


def test_handler_unknown_bamboohr_employee(stack: Stack) -> None:
    event = load_event("bamboohr_employee_created")
    document = json.loads(event["body"])
    document["data"]["employeeId"] = "9999"

    status, body = stack.invoke(signed_event(with_body(event, document)))

    assert (status, body["field"]) == (422, "data.employeeId")
    stack.assert_nothing_written()


def test_handler_malformed_body(stack: Stack) -> None:
    status, body = stack.invoke(signed_event(with_body(load_event("generic_hire"), b"{oops")))

    assert (status, body["error"]) == (400, "MalformedBodyError")
    stack.assert_nothing_written()


def test_handler_unknown_source(stack: Stack) -> None:
    event = load_event("generic_hire")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/hr/webhooks/workday"
    event["pathParameters"] = {"source": "workday"}

    status, body = stack.invoke(event)

    assert (status, body["error"]) == (404, "UnknownSourceError")
    assert "bamboohr, greenhouse, generic" in body["message"]
    stack.assert_nothing_written()


def test_handler_ignores_non_hire_events(stack: Stack) -> None:
    event = with_body(load_event("greenhouse_candidate_hired"), {"action": "ping", "payload": {}})

    status, body = stack.invoke(signed_event(event))

    assert (status, body) == (200, {"status": "ignored", "action": "ping"})
    stack.assert_nothing_written()


def test_handler_directory_outage(stack: Stack) -> None:
    event = signed_event(load_event("bamboohr_employee_created"))
    session = directory_module._session()
    working = session.get_adapter("http://bamboohr.test")

    class Down(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            raise requests.ConnectionError("down")

        def close(self) -> None:
            return None

    session.mount("http://bamboohr.test", Down())
    status, body = stack.invoke(event)
    assert (status, body["error"]) == (503, "TransientError")
    stack.assert_nothing_written()

    session.mount("http://bamboohr.test", working)
    assert stack.invoke(event)[0] == 202


# ---------------------------------------------------------------- logs
def test_handler_logs_ids_only(stack: Stack, logs: io.StringIO) -> None:
    stack.invoke(signed_event(load_event("greenhouse_candidate_hired")))
    stack.invoke(signed_event(load_event("bamboohr_employee_created")))

    lines = log_lines(logs)
    accepted = [line for line in lines if line.get("message") == "hire accepted"]
    assert accepted, lines
    assert accepted[0]["onboarding_id"] == "greenhouse-50001"
    assert accepted[0]["source"] == "greenhouse"
    assert accepted[0]["event_id"] == "3f0b6a1e-0000-4000-8000-000000000001"
    text = json.dumps(lines)
    for personal in (
        "Taylor",
        "taylor.example",
        "Example Street",
        "1988-04-02",
        "robin.lead",
        "Eileen",
        "Collins",
        "1990-11-19",
        "Demo Way",
    ):
        assert personal not in text
