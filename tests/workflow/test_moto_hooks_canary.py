"""Canaries for each hook in hireproof.local.moto_hooks and each moto behaviour worked around.

Each check fails with "moto X.Y changed <thing>; update moto_hooks.<function>" (or names the
workaround to remove), so that a moto upgrade that breaks a hook points at the code to update.
"""

from __future__ import annotations

import base64
import json
import uuid
from email.message import EmailMessage
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError

from hireproof.local import moto_hooks
from hireproof.local.moto_hooks import MotoHookError
from hireproof.local.stack import LocalStack

pytestmark = pytest.mark.workflow

TIMEOUT = 30
MOTO = moto.__version__


def changed(thing: str, function: str) -> str:
    return f"moto {MOTO} changed {thing}; update moto_hooks.{function}"


def test_moto_is_the_pinned_version() -> None:
    assert MOTO == "5.2.5", (
        f"moto {MOTO} is installed but the hooks were written for 5.2.5; run these canaries, "
        "fix what they report, then update this pin"
    )


# ----------------------------------------------------------------------------- installation
def test_hooks_reinstall_without_error(fixture_stack: LocalStack) -> None:
    from hireproof.local.runtime import RUNTIME

    moto_hooks.install_all(RUNTIME.dispatch_lambda, RUNTIME.deliver_event)

    from moto.awslambda_simple.models import LambdaSimpleBackend

    # A second install must wrap the original method, not the previous hook.
    original = LambdaSimpleBackend.invoke.__hireproof_original__  # type: ignore[attr-defined]
    assert not hasattr(original, "__hireproof_original__")


def test_signature_check_names_hook_to_update() -> None:
    def invoke(self: Any, name: str) -> None:
        return None

    with pytest.raises(MotoHookError, match=r"update moto_hooks\.install_lambda_hook"):
        moto_hooks._require_parameters(
            invoke, ["self", "function_name"], "LambdaSimpleBackend.invoke", "install_lambda_hook"
        )


# ----------------------------------------------------------------------------- configure_server
def test_configure_server_runs_asl(fixture_stack: LocalStack) -> None:
    sfn = fixture_stack.client("stepfunctions")
    definition = {
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Pass", "Result": {"ran": True}, "End": True}},
    }
    machine = sfn.create_state_machine(
        name=f"canary-pass-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/canary",
    )["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]

    result = fixture_stack.wait_for_execution(execution_arn, timeout=TIMEOUT)

    assert result["status"] == "SUCCEEDED", changed("stepfunctions.execute_state_machine", "configure_server")
    assert json.loads(result["output"]) == {"ran": True}, changed("ASL execution", "configure_server")


# ----------------------------------------------------------------------------- install_lambda_hook
def test_lambda_hook_runs_real_handler(fixture_stack: LocalStack) -> None:
    response = fixture_stack.client("lambda").invoke(
        FunctionName=fixture_stack.physical_id("EchoFunction"),
        Payload=json.dumps({"rawPath": "/echo/literal"}).encode(),
    )

    payload = json.loads(response["Payload"].read())
    assert payload == {"literal": True}, changed("LambdaSimpleBackend.invoke routing", "install_lambda_hook")
    assert "FunctionError" not in response


def test_lambda_hook_reports_exception_class_as_function_error(fixture_stack: LocalStack) -> None:
    response = fixture_stack.client("lambda").invoke(
        FunctionName=fixture_stack.arn("StepsFunction"),
        Payload=json.dumps({"action": "fail", "label": "canary"}).encode(),
    )

    payload = json.loads(response["Payload"].read())
    assert response.get("FunctionError") == "Unhandled", changed(
        "the FunctionError header", "install_lambda_hook"
    )
    assert payload["errorType"] == "FixtureFailureError"
    assert payload["errorMessage"] == "failed on purpose for canary"


def test_lambda_hook_runs_event_invocation_in_background(fixture_stack: LocalStack) -> None:
    before = len(fixture_stack.deliveries())
    response = fixture_stack.client("lambda").invoke(
        FunctionName=fixture_stack.physical_id("EchoFunction"),
        InvocationType="Event",
        Payload=json.dumps({"rawPath": "/echo/literal"}).encode(),
    )
    fixture_stack.wait_for_deliveries(timeout=TIMEOUT)

    assert response["StatusCode"] == 202
    invocations = fixture_stack.deliveries()[before:]
    assert [d.status for d in invocations if d.source == "lambda:Invoke(Event)"] == ["succeeded"], changed(
        "Event invocations", "install_lambda_hook"
    )


def test_lambda_hook_leaves_other_functions_to_moto(fixture_stack: LocalStack) -> None:
    lambda_client = fixture_stack.client("lambda")
    name = f"canary-unregistered-{uuid.uuid4().hex[:8]}"
    role = fixture_stack.arn("EchoFunctionRole")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")},
    )

    response = lambda_client.invoke(FunctionName=name, Payload=b'{"echo": 1}')

    # moto's Docker-free backend echoes the payload of a function the runtime did not register.
    assert json.loads(response["Payload"].read()) == {"echo": 1}, changed(
        "the fallback to LambdaSimpleBackend.invoke", "install_lambda_hook"
    )


def test_lambda_hook_serves_sns_subscription(fixture_stack: LocalStack) -> None:
    sns = fixture_stack.client("sns")
    topic = sns.create_topic(Name=f"canary-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fixture_stack.arn("EchoFunction"))
    before = len(fixture_stack.deliveries())

    sns.publish(TopicArn=topic, Message="hello")
    fixture_stack.wait_for_deliveries(timeout=TIMEOUT)

    invocations = [d for d in fixture_stack.deliveries()[before:] if d.target_id == "EchoFunction"]
    assert [d.status for d in invocations] == ["succeeded"], changed(
        "LambdaFunction.invoke", "install_lambda_hook"
    )


# ----------------------------------------------------------------------------- install_events_hook
def _queue_with_rule(stack: LocalStack, **rule: Any) -> tuple[str, str]:
    sqs, events = stack.client("sqs"), stack.client("events")
    suffix = uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=f"canary-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"canary-{suffix}"
    events.put_rule(Name=name, **rule)
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url, name


def _put_canary_event(stack: LocalStack) -> None:
    stack.client("events").put_events(
        Entries=[{"Source": "canary.source", "DetailType": "Canary", "Detail": json.dumps({"x": 1})}]
    )


def test_events_hook_keeps_sqs_delivery(fixture_stack: LocalStack) -> None:
    url, _ = _queue_with_rule(fixture_stack, EventPattern=json.dumps({"source": ["canary.source"]}))

    _put_canary_event(fixture_stack)
    messages = fixture_stack.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=2)

    assert len(messages.get("Messages", [])) == 1, changed(
        "Rule.send_to_targets for SQS", "install_events_hook"
    )
    assert json.loads(messages["Messages"][0]["Body"])["detail"] == {"x": 1}


def test_events_hook_skips_scheduled_and_disabled_rules(fixture_stack: LocalStack) -> None:
    scheduled, _ = _queue_with_rule(fixture_stack, ScheduleExpression="rate(1 day)")
    disabled, _ = _queue_with_rule(
        fixture_stack, EventPattern=json.dumps({"source": ["canary.source"]}), State="DISABLED"
    )

    _put_canary_event(fixture_stack)
    sqs = fixture_stack.client("sqs")

    assert "Messages" not in sqs.receive_message(QueueUrl=scheduled, WaitTimeSeconds=1), changed(
        "scheduled rule matching", "install_events_hook"
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=disabled, WaitTimeSeconds=1), changed(
        "disabled rule delivery", "install_events_hook"
    )


def test_events_hook_delivers_to_lambda_target(fixture_stack: LocalStack) -> None:
    events = fixture_stack.client("events")
    name = f"canary-lambda-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["canary.lambda"]}))
    events.put_targets(
        Rule=name,
        Targets=[
            {
                "Id": "echo",
                "Arn": fixture_stack.arn("EchoFunction"),
                "Input": '{"rawPath": "/echo/literal"}',
            }
        ],
    )
    before = len(fixture_stack.deliveries())

    events.put_events(Entries=[{"Source": "canary.lambda", "DetailType": "Canary", "Detail": "{}"}])
    fixture_stack.wait_for_deliveries(timeout=TIMEOUT)

    deliveries = [d for d in fixture_stack.deliveries()[before:] if d.target_id == "echo"]
    assert [d.status for d in deliveries] == ["succeeded"], changed(
        "Rule.send_to_targets", "install_events_hook"
    )


# ----------------------------------------------------------------------------- execution names
def test_nameless_executions_get_unique_arns(fixture_stack: LocalStack) -> None:
    sfn = fixture_stack.client("stepfunctions")
    machine = fixture_stack.physical_id("FixtureStateMachine")

    first = sfn.start_execution(stateMachineArn=machine, input='{"label": "a"}')["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input='{"label": "b"}')["executionArn"]

    assert first != second, changed(
        "StepFunctionsParserBackend.start_execution", "install_start_execution_name_fix"
    )
    assert not first.endswith(":None")
    for execution_arn in (first, second):
        fixture_stack.wait_for_state(execution_arn, "Wait For Token", timeout=TIMEOUT)
        sfn.stop_execution(executionArn=execution_arn)


# ----------------------------------------------------------------------------- install_ses_capture
def test_ses_capture_keeps_text_and_html(local_stack: LocalStack) -> None:
    sender = local_stack.physical_id("SenderIdentity")
    before = len(local_stack.sent_emails())
    local_stack.client("ses").send_email(
        Source=sender,
        Destination={"ToAddresses": ["hire-v1@example.org"], "CcAddresses": ["cc@example.org"]},
        Message={
            "Subject": {"Data": "v1 subject"},
            "Body": {"Text": {"Data": "v1 text"}, "Html": {"Data": "<p>v1 html</p>"}},
        },
    )
    local_stack.client("sesv2").send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["hire-v2@example.org"]},
        Content={
            "Simple": {
                "Subject": {"Data": "v2 subject"},
                "Body": {"Text": {"Data": "v2 text"}, "Html": {"Data": "<p>v2 html</p>"}},
            }
        },
    )
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = sender, "hire-raw@example.org", "raw subject"
    raw.set_content("raw text")
    raw.add_alternative("<p>raw html</p>", subtype="html")
    local_stack.client("ses").send_raw_email(RawMessage={"Data": raw.as_bytes()})

    sent = local_stack.sent_emails()[before:]

    assert [(m.to, m.subject, m.text, m.html) for m in sent[:2]] == [
        (["hire-v1@example.org"], "v1 subject", "v1 text", "<p>v1 html</p>"),
        (["hire-v2@example.org"], "v2 subject", "v2 text", "<p>v2 html</p>"),
    ], changed("SES send_email bodies", "install_ses_capture")
    assert sent[0].cc == ["cc@example.org"]
    assert sent[0]["to"] == ["hire-v1@example.org"]
    assert sent[0]["body"] == "v1 text"
    assert sent[2].subject == "raw subject", changed("SES raw messages", "sent_emails")
    assert (sent[2].text or "").strip() == "raw text"
    assert (sent[2].html or "").strip() == "<p>raw html</p>"


def test_ses_rejects_unverified_sender(local_stack: LocalStack) -> None:
    with pytest.raises(ClientError, match="not verified"):
        local_stack.client("ses").send_email(
            Source="stranger@example.net",
            Destination={"ToAddresses": ["hire@example.org"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
        )


# ----------------------------------------------------------------------------- workarounds
def test_moto_still_ignores_bucket_policy_conditions(fixture_stack: LocalStack) -> None:
    s3 = fixture_stack.client("s3")
    bucket = f"canary-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    # In AWS this Deny never applies to a plain-HTTP request, since aws:SecureTransport is false.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    assert raised.value.response["Error"]["Code"] in ("403", "AccessDenied"), (
        f"moto {MOTO} now evaluates bucket policy conditions; remove provision.local_bucket_policy"
    )


def test_environ_items_survive_concurrent_removal() -> None:
    import os
    import threading

    import hireproof.local.invoker  # noqa: F401  (installs the snapshot reads)

    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            os.environ["HIREPROOF_CANARY_CHURN"] = "1"
            os.environ.pop("HIREPROOF_CANARY_CHURN", None)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(20_000):
            dict(os.environ.items())
            os.environ.copy()
    finally:
        stop.set()
        thread.join()


# ----------------------------------------------------------------------------- DynamoDB
def _transaction_table(stack: LocalStack) -> tuple[Any, str]:
    client = stack.client("dynamodb")
    name = f"canary-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, name


def test_transaction_snapshot_rolls_back_cancelled_writes(fixture_stack: LocalStack) -> None:
    client, name = _transaction_table(fixture_stack)
    for sk in ("A", "B"):
        client.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": "1"}})

    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "p"}, "sk": {"S": "C"}}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "B"}},
                        "UpdateExpression": "SET n = :two",
                        "ConditionExpression": "n = :zero",
                        "ExpressionAttributeValues": {":two": {"N": "2"}, ":zero": {"N": "0"}},
                    }
                },
            ]
        )

    items = client.query(
        TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
    )["Items"]
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert {i["sk"]["S"]: i["n"]["N"] for i in items} == {"A": "1", "B": "1"}, changed(
        "DynamoDBBackend.transact_write_items rollback", "install_transaction_snapshot"
    )


def test_transaction_snapshot_keeps_committed_writes(fixture_stack: LocalStack) -> None:
    client, name = _transaction_table(fixture_stack)
    client.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "A"}, "n": {"N": "1"}})

    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "p"}, "sk": {"S": "C"}, "n": {"N": "3"}}}},
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": "p"}, "sk": {"S": "A"}},
                    "UpdateExpression": "SET n = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
        ]
    )

    items = client.query(
        TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
    )["Items"]
    assert {i["sk"]["S"]: i["n"]["N"] for i in items} == {"A": "2", "C": "3"}


def test_transaction_snapshot_is_installed(fixture_stack: LocalStack) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    assert getattr(DynamoDBBackend.transact_write_items, "__hireproof_original__", None) is not None, changed(
        "DynamoDBBackend.transact_write_items", "install_transaction_snapshot"
    )
