"""The `hireproof` operator command: parsing, and each command against template.yaml's tables in moto.

Commands run against a Target built from the mocked stack, so they read the same tables,
queues and names a deployed stack has. The review API's HTTP calls go to a fake `requests`
function, because unit tests open no sockets.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import hireproof.cli as cli
from hireproof import audit
from hireproof.cli import people, signed_api
from hireproof.cli.errors import CommandError
from hireproof.cli.target import StackResource, Target, from_local
from hireproof.models import OnboardingState
from hireproof.onboarding import reviews as onboarding_reviews
from hireproof.onboarding import store
from sessions_support import add_onboarding, make_hire
from template_resources import REGION, StackResources, mocked_stack

HIRE = make_hire()
# Values of make_hire() that no command may print.
PERSONAL_DATA = (
    "Renée",
    "Dubois",
    "renee.dubois",
    "example.net",
    "12 Rue Example",
    "1990-05-14",
    "12345",
)


# ----------------------------------------------------------------- fixtures and helpers
@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    with mocked_stack() as resources:
        monkeypatch.setenv("REVIEW_TOPIC_ARN", resources.name("ReviewRequestsTopic"))
        yield resources


def make_target(stack: StackResources, *, local: bool = False) -> Target:
    """Return a Target whose resources are the mocked stack's, by logical id."""
    resources = {
        logical_id: StackResource(logical_id, stack.template.resource(logical_id).type, name)
        for logical_id, name in stack.names.items()
    }
    return Target(
        stack_name="hireproof-test",
        region=REGION,
        session=boto3.session.Session(region_name=REGION),
        resources=resources,
        api_url="https://api.example.test",
        local=local,
    )


def run(target: Target, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    """Run `hireproof --stack test ARGV` against `target` and return the status and stdout."""
    monkeypatch.setattr(cli, "resolve_target", lambda arguments, parser: target)
    out = io.StringIO()
    status = cli.main(["--stack", "hireproof-test", *argv], out=out)
    return status, out.getvalue()


def assert_no_personal_data(text: str) -> None:
    for value in PERSONAL_DATA:
        assert value not in text, f"output contains personal data {value!r}"


def held_for_review(employee_id: str) -> str:
    onboarding_id = add_onboarding(make_hire(employee_id=employee_id))
    onboarding_reviews.request_review(onboarding_id, "onboarding", ["document_expired"], "task-token-secret")
    return onboarding_id


# ----------------------------------------------------------------- parsing
def test_parser_accepts_global_options_after_command() -> None:
    arguments = cli.build_parser().parse_args(
        ["onboardings", "list", "--state", "IN_REVIEW", "--local", "--json"]
    )

    assert arguments.local is True
    assert arguments.json is True
    assert arguments.state == "IN_REVIEW"


def test_parser_keeps_global_options_before_command() -> None:
    arguments = cli.build_parser().parse_args(["--stack", "hp", "--region", "eu-west-1", "dlq", "list"])

    assert arguments.stack == "hp"
    assert arguments.region == "eu-west-1"


@pytest.mark.parametrize(
    "argv",
    [
        ["reviews", "approve", "generic-E-1"],
        ["reviews", "approve", "generic-E-1", "--reason", "ok"],
        ["reviews", "reject", "generic-E-1", "--reason", "x" * 501],
        ["people", "revoke", "generic-E-1"],
        ["onboardings", "list", "--state", "SLEEPING"],
        ["onboardings", "show"],
        ["audit", "export", "--since", "yesterday"],
        ["dlq", "redrive", "EventsDeadLetterQueue", "--to", "A", "--to-function", "B"],
        ["onboardings"],
    ],
)
def test_parser_rejects_invalid_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args(argv)

    assert raised.value.code == 2
    assert "usage: hireproof" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["onboardings", "list"],
        ["onboardings", "show"],
        ["reviews", "approve"],
        ["people", "restore"],
        ["dlq", "redrive"],
        ["audit", "export"],
    ],
)
def test_help_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.build_parser().parse_args([*argv, "--help"])

    assert raised.value.code == 0
    assert "usage: hireproof" in capsys.readouterr().out


def test_main_without_stack_is_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HIREPROOF_LOCAL", raising=False)

    with pytest.raises(SystemExit) as raised:
        cli.main(["onboardings", "list"])

    assert raised.value.code == 2
    assert "--stack NAME" in capsys.readouterr().err


def test_main_with_stack_and_local_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--stack", "hp", "--local", "dlq", "list"])

    assert raised.value.code == 2
    assert "not both" in capsys.readouterr().err


def test_main_missing_local_file_names_make_serve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--local-file", str(tmp_path / "absent.json"), "dlq", "list"])

    error = capsys.readouterr().err
    assert status == 1
    assert error.count("\n") == 1
    assert error.startswith("hireproof: error: no local stack file")
    assert "make serve" in error


def test_environment_variable_selects_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HIREPROOF_LOCAL", str(tmp_path / "from-env.json"))

    status = cli.main(["dlq", "list"])

    assert status == 1
    assert "from-env.json" in capsys.readouterr().err


def test_from_local_reads_description(tmp_path: Path) -> None:
    path = tmp_path / "local-stack.json"
    path.write_text(
        json.dumps(
            {
                "stack_name": "hireproof-local",
                "region": "us-east-1",
                "endpoint_url": "http://127.0.0.1:4566",
                "api_url": "http://127.0.0.1:8080",
                "credentials": {"access_key_id": "AKIALOCAL", "secret_access_key": "local-secret"},
                "resources": {"AuditTable": {"type": "AWS::DynamoDB::Table", "physical_id": "hp-audit"}},
                "functions": {"RiskEventsFunction": {"environment": {"AUDIT_TABLE": "hp-audit"}}},
            }
        )
    )

    target = from_local(path)

    assert target.local is True
    assert target.physical_id("AuditTable") == "hp-audit"
    assert target.require_api_url() == "http://127.0.0.1:8080"
    assert target.signing_credentials().access_key == "AKIALOCAL"
    assert target.function_environment("RiskEventsFunction") == {"AUDIT_TABLE": "hp-audit"}
    with pytest.raises(CommandError, match="has no resource OnboardingTable"):
        target.physical_id("OnboardingTable")


def test_from_local_rejects_incomplete_file(tmp_path: Path) -> None:
    path = tmp_path / "local-stack.json"
    path.write_text(json.dumps({"stack_name": "hireproof-local"}))

    with pytest.raises(CommandError, match="restart `make serve`"):
        from_local(path)


# ----------------------------------------------------------------- onboardings
def test_onboardings_list_prints_state_without_personal_data(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = add_onboarding(make_hire(employee_id="1001"))
    store.update_onboarding(active, state=OnboardingState.ACTIVE, decision="PASSED", reasons=[])
    review = held_for_review("1002")

    status, output = run(make_target(stack), monkeypatch, "onboardings", "list")

    assert status == 0
    lines = output.splitlines()
    assert lines[0].split() == ["ONBOARDING", "STATE", "DECISION", "UPDATED", "REASONS"]
    assert any(line.startswith(active) and " ACTIVE " in line and " PASSED " in line for line in lines)
    assert any(line.startswith(review) and " IN_REVIEW " in line for line in lines)
    assert lines[-1] == "2 onboardings"
    assert_no_personal_data(output)


def test_onboardings_list_filters_state_as_json(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_onboarding(make_hire(employee_id="1003"))
    review = held_for_review("1004")

    status, output = run(
        make_target(stack), monkeypatch, "onboardings", "list", "--state", "IN_REVIEW", "--json"
    )

    records = [json.loads(line) for line in output.splitlines()]
    assert status == 0
    assert [r["onboarding_id"] for r in records] == [review]
    assert records[0]["state"] == "IN_REVIEW"
    assert set(records[0]) <= {"onboarding_id", "state", "decision", "reasons", "created_at", "updated_at"}


def test_onboardings_show_hides_task_token_and_personal_data(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    onboarding_id = held_for_review("1005")
    store.update_onboarding(onboarding_id, verified_address={"line1": "12 Rue Example"}, idp_user_id="u-1")

    status, output = run(make_target(stack), monkeypatch, "onboardings", "show", onboarding_id, "--json")

    (record,) = [json.loads(line) for line in output.splitlines()]
    assert status == 0
    assert record["state"] == "IN_REVIEW"
    assert record["review"] == {
        "stage": "onboarding",
        "reasons": ["document_expired"],
        "requested_at": record["review"]["requested_at"],
    }
    assert record["idp_user_id"] == "u-1"
    assert "hire" not in record
    assert "verified_address" not in record
    assert "task-token-secret" not in output
    assert_no_personal_data(output)


def test_onboardings_show_text_lists_fields(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    onboarding_id = held_for_review("1006")

    status, output = run(make_target(stack), monkeypatch, "onboardings", "show", onboarding_id)

    fields = dict(line.split(None, 1) for line in output.splitlines())
    assert status == 0
    assert fields["state"] == "IN_REVIEW"
    assert fields["review.reasons"] == "document_expired"
    assert_no_personal_data(output)


def test_onboardings_show_unknown_id_fails(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run(make_target(stack), monkeypatch, "onboardings", "show", "generic-nobody")

    error = capsys.readouterr().err
    assert status == 1
    assert output == ""
    assert "onboarding generic-nobody not found" in error
    assert "hireproof onboardings list" in error


# ----------------------------------------------------------------- audit export
def test_audit_export_subject_window_oldest_first(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    for hours, action in ((0, "hire_recorded"), (1, "account_staged"), (2, "review_requested"), (3, "late")):
        audit.record(
            subject_id="generic-E-7",
            action=action,
            outcome="ok",
            actor="test",
            details={"score": 0.5},
            now=base + dt.timedelta(hours=hours),
        )
    audit.record(subject_id="generic-E-8", action="other", outcome="ok", actor="test", now=base)

    status, output = run(
        make_target(stack),
        monkeypatch,
        "audit",
        "export",
        "--subject",
        "generic-E-7",
        "--since",
        "2026-12-01T10:00:00Z",
        "--until",
        "2026-12-01T12:00:00+00:00",
    )

    records = [json.loads(line) for line in output.splitlines()]
    assert status == 0
    assert [r["action"] for r in records] == ["account_staged", "review_requested"]
    assert records[0]["details"] == {"score": 0.5}
    assert isinstance(records[0]["expires_at"], int)


def test_audit_export_until_is_exclusive(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    moment = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
    audit.record(subject_id="generic-E-9", action="at_until", outcome="ok", actor="test", now=moment)

    _, with_until = run(
        make_target(stack),
        monkeypatch,
        "audit",
        "export",
        "--subject",
        "generic-E-9",
        "--until",
        "2026-12-02T08:00",
    )
    _, with_since = run(
        make_target(stack),
        monkeypatch,
        "audit",
        "export",
        "--subject",
        "generic-E-9",
        "--since",
        "2026-12-02T08:00",
    )

    assert with_until == ""
    assert [json.loads(line)["action"] for line in with_since.splitlines()] == ["at_until"]


def test_audit_export_all_subjects_to_file(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    audit.record(subject_id="generic-E-10", action="before", outcome="ok", actor="test", now=day)
    for subject in ("generic-E-11", "generic-E-12"):
        audit.record(
            subject_id=subject, action="inside", outcome="ok", actor="test", now=day + dt.timedelta(days=1)
        )
    path = tmp_path / "audit.jsonl"

    status, output = run(
        make_target(stack), monkeypatch, "audit", "export", "--since", "2026-12-01", "--output", str(path)
    )

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert status == 0
    assert output == ""
    assert sorted(r["subject_id"] for r in records) == ["generic-E-11", "generic-E-12"]
    assert "wrote 2 audit records" in capsys.readouterr().err


# ----------------------------------------------------------------- dead-letter queues
def _send_dead_letter(stack: StackResources, body: str) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=stack.name("EventsDeadLetterQueue"),
        MessageBody=body,
        MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "SQSFailed"}},
    )


def test_dlq_list_shows_depth_and_sources(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    _send_dead_letter(stack, '{"detail-type": "SecurityAlert"}')

    status, output = run(make_target(stack), monkeypatch, "dlq", "list", "--json")

    rows = {row["queue"]: row for row in map(json.loads, output.splitlines())}
    assert status == 0
    assert "SecurityEventsQueue" not in rows
    assert rows["EventsDeadLetterQueue"]["messages"] == 1
    assert rows["EventsDeadLetterQueue"]["sources"] == ["SecurityEventsQueue"]
    assert rows["RiskEventsDeadLetterQueue"]["sources"] == []


def test_dlq_redrive_local_moves_messages(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(12):
        _send_dead_letter(stack, json.dumps({"number": number}))

    status, output = run(
        make_target(stack, local=True), monkeypatch, "dlq", "redrive", "EventsDeadLetterQueue"
    )

    sqs = boto3.client("sqs", region_name=REGION)
    moved = []
    while batch := sqs.receive_message(
        QueueUrl=stack.name("SecurityEventsQueue"), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        moved.extend(batch)
        for message in batch:
            sqs.delete_message(
                QueueUrl=stack.name("SecurityEventsQueue"), ReceiptHandle=message["ReceiptHandle"]
            )
    left = sqs.get_queue_attributes(
        QueueUrl=stack.name("EventsDeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert status == 0
    assert "moved 12 messages from EventsDeadLetterQueue to SecurityEventsQueue" in output
    assert sorted(json.loads(m["Body"])["number"] for m in moved) == list(range(12))
    assert moved[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "SQSFailed"
    assert left == "0"


class _RecordingClient:
    """A boto3 client wrapper that records chosen operations and returns canned responses for them."""

    def __init__(self, client: Any, answers: dict[str, dict[str, Any]]) -> None:
        self._client = client
        self._answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self._answers:
            return getattr(self._client, name)

        def answer(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return self._answers[name]

        return answer


def test_dlq_redrive_aws_starts_move_task(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    target = make_target(stack)
    sqs = _RecordingClient(target.client("sqs"), {"start_message_move_task": {"TaskHandle": "handle-1"}})
    target._clients["sqs"] = sqs

    status, output = run(target, monkeypatch, "dlq", "redrive", "EventsDeadLetterQueue", "--json")

    (result,) = [json.loads(line) for line in output.splitlines()]
    assert status == 0
    assert sqs.calls == [
        (
            "start_message_move_task",
            {
                "SourceArn": stack.arn("EventsDeadLetterQueue"),
                "DestinationArn": stack.arn("SecurityEventsQueue"),
            },
        )
    ]
    assert result["task_handle"] == "handle-1"


def test_dlq_redrive_without_source_needs_destination(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(make_target(stack), monkeypatch, "dlq", "redrive", "RiskEventsDeadLetterQueue")

    error = capsys.readouterr().err
    assert status == 1
    assert "has no source queue" in error
    assert "--to-function" in error


def test_dlq_redrive_to_function_invokes_each_message(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_target(stack)
    target.resources["RiskEventsFunction"] = StackResource(
        "RiskEventsFunction", "AWS::Lambda::Function", "hireproof-test-RiskEvents"
    )
    sqs = boto3.client("sqs", region_name=REGION)
    for number in range(3):
        sqs.send_message(
            QueueUrl=stack.name("RiskEventsDeadLetterQueue"), MessageBody=json.dumps({"id": number})
        )
    functions = _RecordingClient(target.client("lambda"), {"invoke": {"StatusCode": 202}})
    target._clients["lambda"] = functions

    status, output = run(
        target,
        monkeypatch,
        "dlq",
        "redrive",
        "RiskEventsDeadLetterQueue",
        "--to-function",
        "RiskEventsFunction",
    )

    assert status == 0
    assert "invoked RiskEventsFunction with 3 messages" in output
    assert sorted(json.loads(call["Payload"])["id"] for _, call in functions.calls) == [0, 1, 2]
    assert {call["InvocationType"] for _, call in functions.calls} == {"Event"}
    assert {call["FunctionName"] for _, call in functions.calls} == {"hireproof-test-RiskEvents"}


def test_dlq_redrive_unknown_queue_lists_choices(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(make_target(stack), monkeypatch, "dlq", "redrive", "SecurityEventsQueue")

    error = capsys.readouterr().err
    assert status == 1
    assert "not a dead-letter queue" in error
    assert "EventsDeadLetterQueue" in error


# ----------------------------------------------------------------- reviews over HTTP
class _FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.ok = 200 <= status < 300
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


def _fake_http(monkeypatch: pytest.MonkeyPatch, status: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def request(method: str, url: str, **kwargs: Any) -> _FakeResponse:
        sent.append({"method": method, "url": url, **kwargs})
        return _FakeResponse(status, body)

    monkeypatch.setattr(signed_api.requests, "request", request)
    return sent


def test_reviews_approve_signs_request(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _fake_http(
        monkeypatch, 200, {"onboarding_id": "generic-E-1", "approved": True, "stage": "onboarding"}
    )

    target = make_target(stack)
    status, output = run(
        target, monkeypatch, "reviews", "approve", "generic-E-1", "--reason", "ID renewal checked"
    )

    (request,) = sent
    assert status == 0
    assert output == "approved onboarding generic-E-1 (review stage onboarding)\n"
    assert request["method"] == "POST"
    assert request["url"] == "https://api.example.test/reviews/generic-E-1"
    assert json.loads(request["data"]) == {"decision": "approve", "reason": "ID renewal checked"}
    authorization = request["headers"]["Authorization"]
    access_key = target.signing_credentials().access_key
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={access_key}/")
    assert f"/{REGION}/execute-api/aws4_request" in authorization
    assert "host" in authorization.split("SignedHeaders=")[1]


def test_reviews_list_prints_waiting_reviews(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting = [
        {
            "onboarding_id": "generic-E-2",
            "stage": "onboarding",
            "reasons": ["document_expired"],
            "requested_at": "b",
        },
        {"onboarding_id": "generic-E-3", "stage": "device_recipient", "reasons": [], "requested_at": "a"},
    ]
    sent = _fake_http(monkeypatch, 200, {"reviews": waiting})

    status, output = run(make_target(stack), monkeypatch, "reviews", "list")

    lines = output.splitlines()
    assert status == 0
    assert sent[0]["method"] == "GET"
    assert lines[1].split()[:2] == ["generic-E-3", "device_recipient"]
    assert lines[2].split() == ["generic-E-2", "onboarding", "b", "document_expired"]
    assert lines[-1] == "2 reviews waiting"


def test_reviews_conflict_reports_api_message(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_http(
        monkeypatch,
        409,
        {"error": "ConflictError", "message": "onboarding generic-E-4 has no pending review"},
    )

    status, _ = run(
        make_target(stack), monkeypatch, "reviews", "reject", "generic-E-4", "--reason", "Not the hire"
    )

    error = capsys.readouterr().err
    assert status == 1
    assert "HTTP 409: onboarding generic-E-4 has no pending review" in error
    assert "hireproof onboardings show" in error


# ----------------------------------------------------------------- people
def test_people_revoke_runs_effect_in_function_environment(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_target(stack, local=True)
    target.endpoint_url = None  # moto intercepts the default endpoints in unit tests
    target.local_function_environments = {
        "RiskEventsFunction": {"ONBOARDING_TABLE": "from-risk-events", "IDENTITY_PROVIDER": "okta"},
        "CloseReverificationFunction": {"ONBOARDING_TABLE": "from-close", "ACCESS_GROUPS": '{"*": []}'},
    }
    seen: list[dict[str, Any]] = []

    def revoke_person(person_id: str, *, actor: str, reason: str) -> dict[str, str]:
        seen.append(
            {
                "person_id": person_id,
                "actor": actor,
                "reason": reason,
                "table": os.environ["ONBOARDING_TABLE"],
                "provider": os.environ["IDENTITY_PROVIDER"],
                "groups": os.environ["ACCESS_GROUPS"],
            }
        )
        return {"person_id": person_id}

    monkeypatch.setattr(people, "_effect", lambda name: revoke_person)
    before = os.environ.get("ONBOARDING_TABLE")

    status, output = run(
        target, monkeypatch, "people", "revoke", "generic-E-5", "--reason", "Laptop farm confirmed"
    )

    assert status == 0
    assert seen == [
        {
            "person_id": "generic-E-5",
            "actor": seen[0]["actor"],
            "reason": "Laptop farm confirmed",
            "table": "from-close",
            "provider": "okta",
            "groups": '{"*": []}',
        }
    ]
    assert seen[0]["actor"].startswith("arn:aws:")
    assert os.environ.get("ONBOARDING_TABLE") == before
    fields = dict(line.split(None, 1) for line in output.splitlines())
    assert fields["action"] == "revoked"
    assert fields["person_id"] == "generic-E-5"


def test_people_restore_unknown_person_fails(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_target(stack, local=True)
    target.endpoint_url = None
    environment = {key: value for key, value in os.environ.items() if key.endswith("_TABLE")}
    target.local_function_environments = {
        "RiskEventsFunction": environment,
        "CloseReverificationFunction": environment,
    }

    status, _ = run(target, monkeypatch, "people", "restore", "generic-nobody", "--reason", "Cleared by HR")

    error = capsys.readouterr().err
    assert status == 1
    assert "person generic-nobody not found" in error
