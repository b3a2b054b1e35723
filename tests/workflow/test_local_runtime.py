"""The local runtime end to end: real sockets, real handlers, real ASL on moto.

`fixture_stack` runs tests/workflow/fixtures/local_runtime/template.yaml, a small template whose
state machine raises a custom error, catches it by class name and waits for a task token, and whose
EventBridge rules target a function and the state machine. `local_stack` runs the real
template.yaml.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from hireproof.local import sigv4
from hireproof.local.errors import ExecutionTimeoutError, StackStateError, UnknownResourceError
from hireproof.local.eventbridge import apply_input_transformer, json_path, render_input
from hireproof.local.runtime import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from hireproof.local.stack import LocalStack, format_history

pytestmark = pytest.mark.workflow

TIMEOUT = 30
Waiter = Callable[..., Any]


def signed_request(url: str, body: bytes, *, secret: str = SECRET_ACCESS_KEY) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(ACCESS_KEY_ID, secret), "execute-api", "us-east-1").add_auth(request)
    return request


def send(request: AWSRequest, body: bytes | None = None) -> requests.Response:
    return requests.post(
        request.url,
        data=request.body if body is None else body,
        headers=dict(request.headers),
        timeout=TIMEOUT,
    )


def record(stack: LocalStack, key: str) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=stack.physical_id("RecordsTable"), Key={"pk": {"S": key}}, ConsistentRead=True
    )
    found = item.get("Item")
    return {name: value["S"] for name, value in found.items()} if found else None


# ----------------------------------------------------------------------------- real template
def test_health_route_answers_over_socket(local_stack: LocalStack) -> None:
    response = requests.get(f"{local_stack.api_url}/health", timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["status"] == "ok"
    assert response.json()["stage"] == "local"


def test_every_template_resource_exists_in_moto(local_stack: LocalStack) -> None:
    template = local_stack.template
    records = local_stack.resources
    assert set(records) == set(template.resources)

    checked: list[str] = []
    for logical_id, resource in records.items():
        if not resource.created:
            assert resource.note, f"{logical_id} ({resource.type}) was skipped without a reason"
            continue
        assert_exists(local_stack, logical_id, resource.type, resource.physical_id)
        checked.append(resource.type)
    for required in (
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::Serverless::Function",
        "AWS::SecretsManager::Secret",
    ):
        assert required in checked, f"the real template has no {required} any more?"


def assert_exists(stack: LocalStack, logical_id: str, resource_type: str, physical_id: Any) -> None:
    """Ask moto for the resource through the AWS API; a missing resource raises a ClientError."""
    client = stack.client
    if resource_type == "AWS::KMS::Key":
        assert client("kms").describe_key(KeyId=physical_id)["KeyMetadata"]["Enabled"]
    elif resource_type == "AWS::Logs::LogGroup":
        groups = client("logs").describe_log_groups(logGroupNamePrefix=physical_id)["logGroups"]
        assert [g["logGroupName"] for g in groups] == [physical_id], logical_id
        assert groups[0].get("retentionInDays"), f"{logical_id} has no retention"
    elif resource_type == "AWS::DynamoDB::Table":
        table = client("dynamodb").describe_table(TableName=physical_id)["Table"]
        properties = stack.template.resource(logical_id).properties
        indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        expected = {i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])}
        assert indexes == expected, logical_id
        if "TimeToLiveSpecification" in properties:
            ttl = client("dynamodb").describe_time_to_live(TableName=physical_id)
            assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED", logical_id
    elif resource_type == "AWS::S3::Bucket":
        client("s3").head_bucket(Bucket=physical_id)
        properties = stack.template.resource(logical_id).properties
        if "PublicAccessBlockConfiguration" in properties:
            block = client("s3").get_public_access_block(Bucket=physical_id)
            assert all(block["PublicAccessBlockConfiguration"].values()), logical_id
        if "LifecycleConfiguration" in properties:
            assert client("s3").get_bucket_lifecycle_configuration(Bucket=physical_id)["Rules"]
    elif resource_type == "AWS::S3::BucketPolicy":
        client("s3").head_bucket(Bucket=physical_id)
    elif resource_type == "AWS::SQS::Queue":
        attributes = client("sqs").get_queue_attributes(QueueUrl=physical_id, AttributeNames=["All"])
        properties = stack.template.resource(logical_id).properties
        if "RedrivePolicy" in properties:
            assert "RedrivePolicy" in attributes["Attributes"], logical_id
    elif resource_type == "AWS::SQS::QueuePolicy":
        for queue in stack.template.resolve(stack.template.resource(logical_id).properties["Queues"], stack):
            policy = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])
            assert "Policy" in policy["Attributes"], logical_id
    elif resource_type == "AWS::SNS::Topic":
        client("sns").get_topic_attributes(TopicArn=physical_id)
    elif resource_type == "AWS::SNS::Subscription":
        client("sns").get_subscription_attributes(SubscriptionArn=physical_id)
    elif resource_type == "AWS::Events::EventBus":
        client("events").describe_event_bus(Name=physical_id)
    elif resource_type == "AWS::Events::Rule":
        bus = stack.template.resolve(
            stack.template.resource(logical_id).properties.get("EventBusName"), stack
        )
        rule = client("events").describe_rule(Name=physical_id, EventBusName=bus or "default")
        targets = client("events").list_targets_by_rule(Rule=physical_id, EventBusName=bus or "default")
        assert rule["Arn"], logical_id
        assert targets["Targets"], logical_id
    elif resource_type == "AWS::SES::EmailIdentity":
        attributes = client("ses").get_identity_verification_attributes(Identities=[physical_id])
        status = attributes["VerificationAttributes"][physical_id]["VerificationStatus"]
        assert status == "Success", logical_id
    elif resource_type == "AWS::SecretsManager::Secret":
        value = client("secretsmanager").get_secret_value(SecretId=physical_id)["SecretString"]
        assert value, logical_id
    elif resource_type == "AWS::IAM::Role":
        client("iam").get_role(RoleName=physical_id)
    elif resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        configuration = client("lambda").get_function(FunctionName=physical_id)["Configuration"]
        assert configuration["FunctionArn"] == stack.arn(logical_id)
    elif resource_type in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
        machine = client("stepfunctions").describe_state_machine(stateMachineArn=physical_id)
        assert json.loads(machine["definition"])["States"], logical_id
    else:
        pytest.fail(f"{logical_id}: no existence check for created type {resource_type}; add one")


def test_generated_secret_follows_template(local_stack: LocalStack) -> None:
    properties = local_stack.template.resource("HrWebhookSecret").properties["GenerateSecretString"]
    value = json.loads(
        local_stack.client("secretsmanager").get_secret_value(
            SecretId=local_stack.physical_id("HrWebhookSecret")
        )["SecretString"]
    )
    key = properties["GenerateStringKey"]
    assert len(value[key]) == int(properties["PasswordLength"])
    assert value[key].isalnum()
    assert set(json.loads(properties["SecretStringTemplate"])) <= set(value)


def test_function_environment_merges_globals(local_stack: LocalStack) -> None:
    environment = local_stack.function_environment("HealthFunction")

    assert environment["HIREPROOF_STAGE"] == "local"
    assert environment["ONBOARDING_TABLE"] == local_stack.physical_id("OnboardingTable")
    assert environment["EVENT_BUS_NAME"] == local_stack.physical_id("EventBus")
    assert environment["POWERTOOLS_SERVICE_NAME"] == "hireproof"


def test_resource_reads_items_written_by_client(local_stack: LocalStack) -> None:
    table_name = local_stack.physical_id("AuditTable")
    local_stack.client("dynamodb").put_item(
        TableName=table_name,
        Item={"subject_id": {"S": "canary"}, "record_id": {"S": "1"}, "action": {"S": "checked"}},
    )

    item = (
        local_stack.resource("dynamodb")
        .Table(table_name)
        .get_item(Key={"subject_id": "canary", "record_id": "1"})["Item"]
    )

    assert item["action"] == "checked"


def test_unknown_logical_id_names_known_resources(local_stack: LocalStack) -> None:
    with pytest.raises(UnknownResourceError, match="OnboardingTable"):
        local_stack.physical_id("OnboardingTabel")


def test_second_stack_with_same_name_is_rejected(local_stack: LocalStack) -> None:
    with pytest.raises(StackStateError, match="already running"):
        LocalStack(stack_name=local_stack.stack_name).start()


# ----------------------------------------------------------------------------- state machine
def test_state_machine_catch_and_task_token(fixture_stack: LocalStack, wait_until: Waiter) -> None:
    sfn = fixture_stack.client("stepfunctions")
    name = f"catch-{uuid.uuid4().hex[:8]}"
    execution_arn = sfn.start_execution(
        stateMachineArn=fixture_stack.physical_id("FixtureStateMachine"),
        name=name,
        input=json.dumps({"label": "catch"}),
    )["executionArn"]

    fixture_stack.wait_for_state(execution_arn, "Wait For Token", timeout=TIMEOUT)
    registered = wait_until(
        lambda: record(fixture_stack, f"token#{name}"),
        timeout=TIMEOUT,
        describe=lambda: format_history(fixture_stack.execution_history(execution_arn)),
    )
    sfn.send_task_success(taskToken=registered["task_token"], output=json.dumps({"approved": True}))
    result = fixture_stack.wait_for_execution(execution_arn, timeout=TIMEOUT)

    events = fixture_stack.execution_history(execution_arn)
    history = format_history(events)
    assert result["status"] == "SUCCEEDED", history
    failures = [e for e in events if e["type"] == "LambdaFunctionFailed"]
    # One attempt and one retry, both failing with the exception's class name.
    assert [f["lambdaFunctionFailedEventDetails"]["error"] for f in failures] == [
        "FixtureFailureError",
        "FixtureFailureError",
    ], history
    output = json.loads(result["output"])
    assert output["caught"]["Error"] == "FixtureFailureError"
    assert json.loads(output["caught"]["Cause"])["errorMessage"] == "failed on purpose for catch"
    assert output["approval"] == {"approved": True}
    # The handler ran with the template's resolved environment and a Lambda context.
    assert registered["greeting"] == "hello from local"
    assert registered["function_name"] == fixture_stack.physical_id("StepsFunction")


def test_wait_for_execution_timeout_carries_history(fixture_stack: LocalStack) -> None:
    sfn = fixture_stack.client("stepfunctions")
    execution_arn = sfn.start_execution(
        stateMachineArn=fixture_stack.physical_id("FixtureStateMachine"),
        input=json.dumps({"label": "timeout"}),
    )["executionArn"]
    fixture_stack.wait_for_state(execution_arn, "Wait For Token", timeout=TIMEOUT)

    with pytest.raises(ExecutionTimeoutError) as raised:
        fixture_stack.wait_for_execution(execution_arn, timeout=0.5)

    assert isinstance(raised.value, TimeoutError)
    assert "still RUNNING" in str(raised.value)
    assert "Wait For Token" in str(raised.value)
    assert any(event["type"] == "LambdaFunctionFailed" for event in raised.value.history)
    sfn.stop_execution(executionArn=execution_arn)


def test_invoke_raises_handler_exception(fixture_stack: LocalStack) -> None:
    with pytest.raises(Exception, match="failed on purpose for direct") as raised:
        fixture_stack.invoke("StepsFunction", {"action": "fail", "label": "direct"})
    assert type(raised.value).__name__ == "FixtureFailureError"


# ----------------------------------------------------------------------------- EventBridge
def test_event_rule_invokes_lambda_target(fixture_stack: LocalStack, wait_until: Waiter) -> None:
    item = uuid.uuid4().hex[:8]
    response = fixture_stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": fixture_stack.physical_id("FixtureBus"),
                "Source": "fixture.record",
                "DetailType": "Recorded",
                "Detail": json.dumps({"item": item}),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0

    stored = wait_until(
        lambda: record(fixture_stack, f"record#{item}"),
        timeout=TIMEOUT,
        describe=lambda: str(fixture_stack.deliveries()),
    )
    assert stored["detail_type"] == "Recorded"
    assert stored["stage"] == "local"


def test_event_rule_starts_state_machine(fixture_stack: LocalStack, wait_until: Waiter) -> None:
    label = f"events-{uuid.uuid4().hex[:8]}"
    fixture_stack.client("events").put_events(
        Entries=[
            {
                "EventBusName": fixture_stack.physical_id("FixtureBus"),
                "Source": "fixture.start",
                "DetailType": "Start",
                "Detail": json.dumps({"label": label}),
            }
        ]
    )

    def started_execution() -> str | None:
        for delivery in fixture_stack.deliveries():
            if delivery.execution_arn and delivery.status == "succeeded":
                description = fixture_stack.client("stepfunctions").describe_execution(
                    executionArn=delivery.execution_arn
                )
                if json.loads(description["input"]) == {"label": label}:
                    return delivery.execution_arn
        return None

    execution_arn = wait_until(
        started_execution, timeout=TIMEOUT, describe=lambda: str(fixture_stack.deliveries())
    )
    entered = fixture_stack.wait_for_state(execution_arn, "Wait For Token", timeout=TIMEOUT)
    assert entered["type"] == "TaskStateEntered"
    fixture_stack.client("stepfunctions").stop_execution(executionArn=execution_arn)


def test_trigger_schedule_uses_event_input(fixture_stack: LocalStack) -> None:
    result = fixture_stack.trigger_schedule("RecorderFunction")

    assert result == {"recorded": "nightly"}
    assert record(fixture_stack, "record#nightly") == {
        "pk": "record#nightly",
        "detail_type": "Nightly",
        "stage": "local",
    }


def test_trigger_schedule_without_schedule_raises(fixture_stack: LocalStack) -> None:
    with pytest.raises(UnknownResourceError, match="no Schedule event"):
        fixture_stack.trigger_schedule("EchoFunction")


def test_input_transformer_places_strings_and_json() -> None:
    event = {"detail": {"id": "a1", "count": 3, "tags": ["x"]}, "source": "s"}
    transformer = {
        "InputPathsMap": {"id": "$.detail.id", "count": "$.detail.count", "tags": "$.detail.tags"},
        "InputTemplate": '{"message": "item <id> has <count>", "id": <id>, "tags": <tags>}',
    }
    assert apply_input_transformer(transformer, event) == {
        "message": "item a1 has 3",
        "id": "a1",
        "tags": ["x"],
    }


def test_render_input_prefers_input_then_input_path() -> None:
    event = {"detail": {"a": [1, {"b": 2}]}}
    assert render_input({"Input": '{"fixed": true}'}, event) == {"fixed": True}
    assert render_input({"InputPath": "$.detail.a[1]"}, event) == {"b": 2}
    assert render_input({}, event) == event
    assert json_path(event, "$.detail.missing") is None


# ----------------------------------------------------------------------------- HTTP API
def test_http_event_has_payload_v2_fields(fixture_stack: LocalStack) -> None:
    response = requests.get(
        f"{fixture_stack.api_url}/echo/b%20ob?a=1&a=2&empty=",
        headers={"Cookie": "x=1; y=2", "X-Custom": "one", "User-Agent": "tester"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 201
    assert response.headers["X-Echo"] == "yes"
    assert response.raw.headers.getlist("Set-Cookie") == ["session=abc; Path=/", "theme=dark"]
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /echo/{name}"
    assert event["rawPath"] == "/echo/b%20ob"
    assert event["rawQueryString"] == "a=1&a=2&empty="
    assert event["queryStringParameters"] == {"a": "1,2", "empty": ""}
    assert event["pathParameters"] == {"name": "b ob"}
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["headers"]["x-custom"] == "one"
    assert "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/echo/b ob",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tester",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /echo/{name}"
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert abs(context["timeEpoch"] / 1000 - datetime.datetime.now().timestamp()) < 60
    assert "authorizer" not in context
    assert 0 < response.json()["remaining_ms"] <= 10_000


def test_literal_route_beats_path_parameter(fixture_stack: LocalStack) -> None:
    response = requests.get(f"{fixture_stack.api_url}/echo/literal", timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"literal": True}


def test_greedy_route_collects_rest_of_path(fixture_stack: LocalStack) -> None:
    response = requests.delete(f"{fixture_stack.api_url}/files/a/b/c.txt", timeout=TIMEOUT)

    event = response.json()["event"]
    assert event["routeKey"] == "ANY /files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["requestContext"]["http"]["method"] == "DELETE"


def test_unknown_path_gets_404_and_wrong_method_405(fixture_stack: LocalStack) -> None:
    missing = requests.get(f"{fixture_stack.api_url}/nowhere", timeout=TIMEOUT)
    wrong_method = requests.get(f"{fixture_stack.api_url}/echo", timeout=TIMEOUT)

    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_binary_body_is_base64_and_json_is_text(fixture_stack: LocalStack) -> None:
    image = bytes(range(256))
    binary = requests.post(
        f"{fixture_stack.api_url}/echo",
        data=image,
        headers={"Content-Type": "image/jpeg"},
        timeout=TIMEOUT,
    ).json()["event"]
    text = requests.post(f"{fixture_stack.api_url}/echo", json={"a": "é"}, timeout=TIMEOUT).json()["event"]

    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == image
    assert text["isBase64Encoded"] is False
    assert json.loads(text["body"]) == {"a": "é"}


def test_handler_exception_gets_500(fixture_stack: LocalStack) -> None:
    response = requests.get(f"{fixture_stack.api_url}/files/broken", timeout=TIMEOUT)

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_body_over_10_mb_gets_413(fixture_stack: LocalStack) -> None:
    address = urlsplit(fixture_stack.api_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=TIMEOUT)
    connection.putrequest("POST", "/echo")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    connection.close()


def test_chunked_body_is_reassembled(fixture_stack: LocalStack) -> None:
    chunks = iter([b'{"part": ', b'"one", ', b'"more": 2}'])
    response = requests.post(
        f"{fixture_stack.api_url}/echo",
        data=chunks,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 201
    assert json.loads(response.json()["event"]["body"]) == {"part": "one", "more": 2}


def test_malformed_content_length_gets_400(fixture_stack: LocalStack) -> None:
    address = urlsplit(fixture_stack.api_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=TIMEOUT)
    connection.putrequest("POST", "/echo")
    connection.putheader("Content-Length", "twelve")
    connection.endheaders()
    response = connection.getresponse()

    assert response.status == 400
    assert json.loads(response.read()) == {"message": "Bad Request"}
    connection.close()


def test_iam_route_accepts_local_sigv4_signature(fixture_stack: LocalStack) -> None:
    body = json.dumps({"signed": True}).encode()
    response = send(signed_request(f"{fixture_stack.api_url}/secure?x=1", body))

    assert response.status_code == 201
    event = response.json()["event"]
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == ACCESS_KEY_ID
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == "123456789012"
    assert event["requestContext"]["authorizer"]["iam"]["userArn"].startswith("arn:aws:iam::123456789012:")


def test_iam_route_rejects_bad_signatures(fixture_stack: LocalStack) -> None:
    url = f"{fixture_stack.api_url}/secure"
    body = json.dumps({"signed": True}).encode()

    unsigned = requests.post(url, data=body, timeout=TIMEOUT)
    wrong_secret = send(signed_request(url, body, secret="not-the-local-secret"))
    tampered = send(signed_request(url, body), body=b'{"signed": false}')

    for response in (unsigned, wrong_secret, tampered):
        assert response.status_code == 403
        assert response.json() == {"message": "Forbidden"}


def test_sigv4_verify_rejects_old_date() -> None:
    request = AWSRequest(method="POST", url="http://127.0.0.1:1/secure", data=b"{}")
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "execute-api", "us-east-1").add_auth(request)
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(minutes=6)

    verification = sigv4.verify(
        method="POST",
        raw_path="/secure",
        headers=[("Host", "127.0.0.1:1"), *request.headers.items()],
        body=b"{}",
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        account_id="123456789012",
        now=later,
    )

    assert verification.identity is None
    assert "5 minutes" in verification.reason


# ----------------------------------------------------------------------------- parameters and CLI
def test_identity_store_id_works_in_moto(local_stack: LocalStack) -> None:
    store_id = local_stack.template.parameters["IdentityStoreId"]

    user = local_stack.client("identitystore").create_user(
        IdentityStoreId=store_id,
        UserName=f"canary-{uuid.uuid4().hex[:8]}",
        DisplayName="Canary User",
        Name={"GivenName": "Canary", "FamilyName": "User"},
        # moto 5.2.5 returns 500 to a later GetUserId by e-mail if any user lacks Emails.
        Emails=[{"Value": "canary@example.com", "Type": "work", "Primary": True}],
    )

    assert store_id == "d-0000000000"
    assert user["IdentityStoreId"] == store_id
    assert user["UserId"]


def test_serve_command_runs_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "hireproof.local", "serve", "--port", "0", "--no-services"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read_output() -> None:
        for line in process.stdout or []:
            lines.put(line)

    threading.Thread(target=read_output, daemon=True).start()
    try:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while "health" not in printed:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"serve printed only {printed} within 60 s"
            try:
                label, _, value = lines.get(timeout=remaining).partition(":")
            except queue.Empty:
                continue
            printed[label.strip()] = value.strip()

        response = requests.get(printed["health"], timeout=TIMEOUT)
        assert response.status_code == 200
        assert printed["HTTP API"].startswith("http://127.0.0.1:")
        assert printed["moto endpoint"].startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    assert exit_code == 0
