"""HR webhooks over real 127.0.0.1 sockets: the local stack's HTTP API, the fake BambooHR.

The stack is hireproof.local.stack.LocalStack on template.yaml (moto server, the real
handler in-process, the real onboarding state machine) under its own stack name, with a
FakeBambooHr service. The test configures the secrets as an operator would: the HR
systems' signing keys into HrWebhookSecret, the directory API key into HrDirectorySecret.
The sample events' signature headers are placeholders; each request is signed here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hireproof.errors import HrDirectoryError
from hireproof.hr import sources
from hireproof.hr.directory import EMPLOYEE_FIELDS, EMPLOYEE_ID_FIELD, BambooHrDirectory
from hireproof.local.fakes.bamboohr import FakeBambooHr
from hireproof.models import HireSource

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "hr_webhook"
KEYS = {"bamboohr": "wf-bamboo-key", "greenhouse": "wf-greenhouse-key", "generic": "wf-generic-key"}
DIRECTORY_KEY = "wf-directory-key"
HTTP_TIMEOUT_SECONDS = 30


def sample(name: str) -> tuple[str, bytes, dict[str, str]]:
    """Return a sample's source, body bytes and its non-signature headers."""
    event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    headers = {"content-type": "application/json"}
    for name_ in ("greenhouse-event-id", "x-hireproof-event-id"):
        if name_ in event["headers"]:
            headers[name_] = event["headers"][name_]
    return event["pathParameters"]["source"], sources.raw_body(event), headers


def signed(
    source: str, body: bytes, headers: dict[str, str], *, key: str | None = None
) -> dict[str, str]:
    event_id = headers.get("greenhouse-event-id") or headers.get("x-hireproof-event-id") or ""
    fresh = sources.signed_headers(
        HireSource(source),
        (key or KEYS[source]).encode(),
        body,
        timestamp=int(time.time()),
        event_id=event_id,
    )
    return {**headers, **fresh}


# ---------------------------------------------------------------- directory over a socket
def test_directory_fake_over_socket() -> None:
    fake = FakeBambooHr(api_key=DIRECTORY_KEY)
    overrides = fake.start()
    try:
        assert overrides["HrDirectoryUrl"].startswith("http://127.0.0.1:")
        directory = BambooHrDirectory(overrides["HrDirectoryUrl"], DIRECTORY_KEY)

        record = directory.get_employee("12345", "4021")

        assert (record["firstName"], record["lastName"]) == ("Eileen", "Collins")
        assert set(record) == {"id", *EMPLOYEE_FIELDS}
        with pytest.raises(HrDirectoryError) as caught:
            directory.get_employee("12345", "9999")
        assert caught.value.field == EMPLOYEE_ID_FIELD
        with pytest.raises(HrDirectoryError):
            BambooHrDirectory(overrides["HrDirectoryUrl"], "wrong-key").get_employee("1", "4021")
    finally:
        fake.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(overrides["HrDirectoryUrl"], timeout=2)


# ---------------------------------------------------------------- the local stack
@dataclass
class HrStack:
    stack: Any
    fake: FakeBambooHr

    def post(self, source: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = requests.post(
            f"{self.stack.api_url}/hr/webhooks/{source}",
            data=body,
            headers=headers,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        return response.status_code, response.json()

    def onboarding(self, onboarding_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = (
            self.stack.client("dynamodb")
            .get_item(
                TableName=self.stack.physical_id("OnboardingTable"),
                Key={"pk": {"S": onboarding_id}, "sk": {"S": "HIRE"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return item

    def executions_named(self, name: str) -> list[dict[str, Any]]:
        client = self.stack.client("stepfunctions")
        arn = self.stack.arn("OnboardingStateMachine")
        listed: list[dict[str, Any]] = client.list_executions(stateMachineArn=arn)["executions"]
        return [execution for execution in listed if execution["name"] == name]


@pytest.fixture(scope="module")
def hr_stack() -> Iterator[HrStack]:
    local_stack = pytest.importorskip(
        "hireproof.local.stack", reason="the local stack is not built yet"
    )
    fake = FakeBambooHr(api_key=DIRECTORY_KEY)
    with local_stack.LocalStack(services=[fake], stack_name="hireproof-hr-webhook-test") as stack:
        secrets = stack.client("secretsmanager")
        secrets.put_secret_value(
            SecretId=stack.physical_id("HrWebhookSecret"), SecretString=json.dumps(KEYS)
        )
        secrets.put_secret_value(
            SecretId=stack.physical_id("HrDirectorySecret"),
            SecretString=json.dumps({"api_key": DIRECTORY_KEY}),
        )
        yield HrStack(stack, fake)


def test_http_api_generic_hire_once(hr_stack: HrStack) -> None:
    source, body, headers = sample("generic_hire")

    first = hr_stack.post(source, body, signed(source, body, headers))
    again = hr_stack.post(source, body, signed(source, body, headers))

    assert first == (202, {"onboarding_id": "generic-E-1001", "status": "accepted"})
    assert again == (200, {"onboarding_id": "generic-E-1001", "status": "already accepted"})
    record = hr_stack.onboarding("generic-E-1001")
    assert record is not None
    assert record["source"]["S"] == "generic"
    assert len(hr_stack.executions_named("generic-E-1001")) == 1


def test_http_api_bamboohr_hire(hr_stack: HrStack) -> None:
    source, body, headers = sample("bamboohr_employee_created")
    served_before = hr_stack.fake.requests_served

    status, answer = hr_stack.post(source, body, signed(source, body, headers))

    assert (status, answer["onboarding_id"]) == (202, "bamboohr-4021")
    assert hr_stack.fake.requests_served == served_before + 1
    record = hr_stack.onboarding("bamboohr-4021")
    assert record is not None
    hire = record["hire"]["M"]
    assert hire["legal_name"]["M"]["family"]["S"] == "Collins"
    assert hire["date_of_birth"]["S"] == "1990-11-19"
    assert len(hr_stack.executions_named("bamboohr-4021")) == 1


def test_http_api_greenhouse_and_japanese(hr_stack: HrStack) -> None:
    for name, onboarding_id in (
        ("greenhouse_candidate_hired", "greenhouse-50001"),
        ("generic_hire_ja", "generic-E-2001"),
    ):
        source, body, headers = sample(name)
        status, answer = hr_stack.post(source, body, signed(source, body, headers))
        assert (status, answer) == (202, {"onboarding_id": onboarding_id, "status": "accepted"})


def test_http_api_wrong_signature(hr_stack: HrStack) -> None:
    source, body, headers = sample("generic_hire")
    body = body.replace(b"E-1001", b"E-7777")

    status, answer = hr_stack.post(source, body, signed(source, body, headers, key="not-the-key"))

    assert (status, answer["error"]) == (401, "SignatureInvalidError")
    assert hr_stack.onboarding("generic-E-7777") is None
    assert hr_stack.executions_named("generic-E-7777") == []


def test_http_api_unknown_source(hr_stack: HrStack) -> None:
    status, answer = hr_stack.post("workday", b"{}", {"content-type": "application/json"})
    assert (status, answer["error"]) == (404, "UnknownSourceError")
