"""Review API handler: sample events against template.yaml's tables, Step Functions stubbed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from hireproof import audit, aws
from hireproof.onboarding import reviews, store
from sessions_support import LambdaContext, add_onboarding, load_event, load_handler, make_hire
from template_resources import StackResources, mocked_stack

TASK_TOKEN = "review-task-token"
REVIEWER = "arn:aws:iam::123456789012:user/security-reviewer"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    with mocked_stack() as resources:
        monkeypatch.setenv("REVIEW_TOPIC_ARN", resources.name("ReviewRequestsTopic"))
        yield resources


@pytest.fixture
def handler() -> Any:
    return load_handler("review_api")


def _pending_review(stage: str = "onboarding") -> str:
    onboarding_id = add_onboarding(make_hire())
    reviews.request_review(onboarding_id, stage, ["document_expired"], TASK_TOKEN)
    return onboarding_id


def _event(name: str, onboarding_id: str) -> dict[str, Any]:
    event = load_event("review_api", name)
    event["pathParameters"] = {"onboarding_id": onboarding_id}
    event["rawPath"] = f"/reviews/{onboarding_id}"
    event["requestContext"]["http"]["path"] = event["rawPath"]
    return event


def _call(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_review_approve_resumes_workflow_once(stack: StackResources, handler: Any) -> None:
    onboarding_id = _pending_review()
    expected_output = json.dumps({"approved": True, "stage": "onboarding"})

    with Stubber(aws.client("stepfunctions")) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": TASK_TOKEN, "output": expected_output})
        first_status, first = _call(handler, _event("approve", onboarding_id))
        second_status, second = _call(handler, _event("approve", onboarding_id))
        stub.assert_no_pending_responses()

    assert first_status == 200
    assert first["approved"] is True
    assert second_status == 409
    assert second["error"] == "ConflictError"
    review = store.get_onboarding(onboarding_id)["review"]
    assert review["approved"] is True
    assert review["reviewer"] == REVIEWER
    assert "task_token" not in review
    decided = [r for r in audit.records_for(onboarding_id) if r["action"] == "review_decided"]
    assert [(r["outcome"], r["actor"]) for r in decided] == [("approved", REVIEWER)]


def test_review_reject_records_reason(stack: StackResources, handler: Any) -> None:
    onboarding_id = _pending_review()

    with Stubber(aws.client("stepfunctions")) as stub:
        stub.add_response(
            "send_task_success",
            {},
            {"taskToken": TASK_TOKEN, "output": json.dumps({"approved": False, "stage": "onboarding"})},
        )
        status, body = _call(handler, _event("reject", onboarding_id))

    assert status == 200
    assert body["approved"] is False
    assert store.get_onboarding(onboarding_id)["review"]["reason"] == "Address belongs to another hire"


def test_review_malformed_body_is_400(stack: StackResources, handler: Any) -> None:
    onboarding_id = _pending_review()

    status, body = _call(handler, _event("malformed_body", onboarding_id))

    assert status == 400
    assert body["field"] == "body"
    assert "approve" in body["message"]
    assert "task_token" in store.get_onboarding(onboarding_id)["review"]


@pytest.mark.parametrize(
    ("document", "field"),
    [({"decision": "maybe", "reason": "why not"}, "decision"), ({"decision": "approve"}, "reason")],
    ids=["unknown-decision", "missing-reason"],
)
def test_review_invalid_body_names_field(
    stack: StackResources, handler: Any, document: dict[str, str], field: str
) -> None:
    onboarding_id = _pending_review()
    event = _event("approve", onboarding_id)
    event["body"] = json.dumps(document)

    status, body = _call(handler, event)

    assert status == 422
    assert body["field"] == field


def test_review_unknown_onboarding_is_404(stack: StackResources, handler: Any) -> None:
    status, body = _call(handler, _event("approve", "generic-unknown"))

    assert status == 404
    assert body["field"] == "onboarding_id"


def test_review_list_shows_pending_only(stack: StackResources, handler: Any) -> None:
    onboarding_id = _pending_review()
    add_onboarding(make_hire(employee_id="9999"))

    status, body = _call(handler, load_event("review_api", "list"))

    assert status == 200
    assert [r["onboarding_id"] for r in body["reviews"]] == [onboarding_id]
    assert body["reviews"][0]["reasons"] == ["document_expired"]
