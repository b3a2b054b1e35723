"""The `hireproof` operator command against a running local stack, as a separate process.

An onboarding with an expired ID card is brought to IN_REVIEW through the real HTTP API and
state machine. The command then approves it through the SigV4-signed review route, and its
audit export shows the decision with the operator as actor. A second hire is brought to
ACTIVE, and the command revokes and restores their access. The command finds the stack
through the file `make serve` writes, here written for the session's local stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hireproof.local.description import run_operator_command, write_description
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.runtime import ACCOUNT_ID
from hireproof.local.stack import LocalStack
from onboarding_support import TestHire, WorkflowStack, new_hire

pytestmark = pytest.mark.workflow

LOCAL_OPERATOR = f"arn:aws:iam::{ACCOUNT_ID}:user/hireproof-local"


@pytest.fixture(scope="module")
def workflow(local_stack: LocalStack) -> WorkflowStack:
    fulfillment = next(s for s in local_stack.services if isinstance(s, FakeFulfillment))
    return WorkflowStack(local_stack, fulfillment)


@pytest.fixture(scope="module")
def stack_file(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = write_description(local_stack, tmp_path_factory.mktemp("cli") / "local-stack.json")
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def in_review(workflow: WorkflowStack) -> TestHire:
    """A hire whose expired ID card put the onboarding on hold for a reviewer."""
    hire = new_hire(501, "Ada", "Okonkwo", card_expired=True)
    workflow.start(hire)
    workflow.verify(hire, 1)
    workflow.wait_for_review(hire.onboarding_id, "onboarding")
    return hire


def access_item(workflow: WorkflowStack, person_id: str) -> dict[str, Any]:
    """Return the person's access state item (`sk=ACCESS`) from the onboarding table."""
    table = workflow.stack.resource("dynamodb").Table(workflow.stack.physical_id("OnboardingTable"))
    item = table.get_item(Key={"pk": person_id, "sk": "ACCESS"}, ConsistentRead=True).get("Item")
    return dict(item or {})


def assert_no_personal_data(hire: TestHire, text: str) -> None:
    for value in hire.personal_data:
        assert value not in text, f"command output contains personal data {value!r}"


def test_cli_approves_review_through_signed_api(
    workflow: WorkflowStack, stack_file: Path, in_review: TestHire
) -> None:
    onboarding_id = in_review.onboarding_id

    waiting = run_operator_command(stack_file, "reviews", "list", "--json")
    approved = run_operator_command(
        stack_file, "reviews", "approve", onboarding_id, "--reason", "Renewal receipt checked"
    )
    again = run_operator_command(
        stack_file, "reviews", "approve", onboarding_id, "--reason", "Renewal receipt checked"
    )

    assert waiting.returncode == 0, waiting.stderr
    assert onboarding_id in [json.loads(line)["onboarding_id"] for line in waiting.stdout.splitlines()]
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout == f"approved onboarding {onboarding_id} (review stage onboarding)\n"
    review = workflow.record(onboarding_id)["review"]
    assert review["approved"] is True
    assert review["reviewer"] == LOCAL_OPERATOR
    assert again.returncode == 1
    assert "HTTP 409" in again.stderr
    assert again.stderr.count("\n") == 1
    # Approval resumes the workflow: credentials are issued and the laptop is ordered.
    workflow.wait_for_state(onboarding_id, "SHIPPED")


def test_cli_shows_onboarding_without_personal_data(stack_file: Path, in_review: TestHire) -> None:
    show_result = run_operator_command(stack_file, "onboardings", "show", in_review.onboarding_id, "--json")
    list_result = run_operator_command(stack_file, "onboardings", "list")

    assert show_result.returncode == 0, show_result.stderr
    record = json.loads(show_result.stdout)
    assert record["decision"] == "NEEDS_REVIEW"
    assert "document_expired" in record["reasons"]
    assert list_result.returncode == 0, list_result.stderr
    assert in_review.onboarding_id in list_result.stdout
    assert_no_personal_data(in_review, show_result.stdout + list_result.stdout)


def test_cli_exports_audit_lines_of_review(stack_file: Path, in_review: TestHire, tmp_path: Path) -> None:
    run_operator_command(
        stack_file, "reviews", "approve", in_review.onboarding_id, "--reason", "Renewal receipt checked"
    )
    output = tmp_path / "audit.jsonl"

    exported = run_operator_command(
        stack_file, "audit", "export", "--subject", in_review.onboarding_id, "--output", str(output)
    )

    records = [json.loads(line) for line in output.read_text().splitlines()]
    actions = [record["action"] for record in records]
    assert exported.returncode == 0, exported.stderr
    assert f"wrote {len(records)} audit records" in exported.stderr
    assert actions[0] == "hire_recorded"
    assert actions.index("review_requested") < actions.index("review_decided")
    decided = next(record for record in records if record["action"] == "review_decided")
    assert decided["outcome"] == "approved"
    assert decided["actor"] == LOCAL_OPERATOR
    assert [record["record_id"] for record in records] == sorted(record["record_id"] for record in records)
    assert_no_personal_data(in_review, output.read_text())


def test_cli_revokes_and_restores_person(workflow: WorkflowStack, stack_file: Path) -> None:
    hire = new_hire(502, "Ada", "Lovelace")
    person_id = workflow.start(hire)
    workflow.verify(hire, 1)
    workflow.deliver(person_id)
    workflow.verify(hire, 2)
    workflow.wait_for_state(person_id, "ACTIVE")

    revoked = run_operator_command(
        stack_file, "people", "revoke", person_id, "--reason", "Laptop farm confirmed", "--json"
    )
    access_after_revoke = access_item(workflow, person_id)
    restored = run_operator_command(
        stack_file, "people", "restore", person_id, "--reason", "Cleared by the SOC"
    )
    access_after_restore = access_item(workflow, person_id)
    # The local credentials' identity as moto's STS reports it, as the command records it.
    operator = workflow.stack.client("sts").get_caller_identity()["Arn"]

    assert revoked.returncode == 0, revoked.stderr
    result = json.loads(revoked.stdout)
    assert result["person_id"] == person_id
    assert "access_disabled" in result["actions"]
    assert access_after_revoke["access_status"] == "DISABLED"
    assert restored.returncode == 0, restored.stderr
    assert access_after_restore["access_status"] == "ACTIVE"
    changes = [
        (record["action"], record["actor"])
        for record in workflow.audit(person_id)
        if record["action"] in ("access_revoked", "access_restored")
    ]
    assert changes == [
        ("access_revoked", operator),
        ("access_restored", operator),
    ]
    assert_no_personal_data(hire, revoked.stdout + restored.stdout)


def test_cli_lists_dead_letter_queues(stack_file: Path) -> None:
    listed = run_operator_command(stack_file, "dlq", "list", "--json")

    queues = {json.loads(line)["queue"] for line in listed.stdout.splitlines()}
    assert listed.returncode == 0, listed.stderr
    assert "EventsDeadLetterQueue" in queues
