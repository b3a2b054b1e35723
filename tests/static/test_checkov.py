"""scripts/checkov.sh: checkov on the CloudFormation translation of the SAM template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from static_checks import (
    REPO_ROOT,
    SCRIPTS,
    CheckRun,
    TranslatedRepository,
    run_check,
    write_project,
)

# Compliant apart from the statement under test: with a narrow statement checkov
# finds nothing in it, so every finding below comes from the wildcard.
WILDCARD_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  WildcardFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/wildcard/
      Runtime: python3.13
      Handler: app.lambda_handler
      ReservedConcurrentExecutions: 1
      Tracing: Active
      Policies:
        - Statement:
            - Effect: Allow
              Action: {action}
              Resource: {resource}
"""

FINDING = re.compile(r"^Check: (CKV\w+): .*\n\s+FAILED for resource: (\S+)$", re.MULTILINE)

# Principals that invoke a function synchronously. Any other principal invokes it
# asynchronously, and a failed asynchronous event is lost without a dead-letter queue.
SYNCHRONOUS_PRINCIPALS = {"apigateway.amazonaws.com"}


def findings(run: CheckRun) -> set[tuple[str, str]]:
    """(check id, resource) of every failed check in checkov's CLI output."""
    return set(FINDING.findall(run.output))


def checkov(root: Path) -> CheckRun:
    return run_check([SCRIPTS / "checkov.sh", "template.yaml", "template.cfn.json"], root)


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        pytest.param('"*"', "arn:aws:s3:::evidence/*", "CKV_AWS_63", id="action-wildcard"),
        pytest.param("[s3:PutObject, s3:GetObject]", '"*"', "CKV_AWS_111", id="resource-wildcard"),
    ],
)
def test_checkov_reports_wildcard_in_function_policy(
    tmp_path: Path, checkov_venv: Path, action: str, resource: str, expected: str
) -> None:
    write_project(tmp_path, WILDCARD_TEMPLATE.format(action=action, resource=resource))

    run = checkov(tmp_path)

    assert run.returncode == 1, run.output
    assert "checkov: template.yaml (translated to template.cfn.json)" in run.output
    assert "File: /template.cfn.json:" in run.output
    found = findings(run)
    assert (expected, "AWS::IAM::Role.WildcardFunctionRole") in found, run.output
    assert {resource for _, resource in found} == {"AWS::IAM::Role.WildcardFunctionRole"}


def test_checkov_honours_sam_metadata_skip(tmp_path: Path, checkov_venv: Path) -> None:
    # The skip sits on the SAM function; the finding is on the role SAM generates.
    template = WILDCARD_TEMPLATE.format(action="[s3:PutObject]", resource='"*"').replace(
        "    Type: AWS::Serverless::Function\n",
        "    Type: AWS::Serverless::Function\n"
        "    Metadata:\n"
        "      checkov:\n"
        "        skip:\n"
        "          - id: CKV_AWS_111\n"
        "            comment: the test's reason\n",
    )
    write_project(tmp_path, template)

    run = checkov(tmp_path)

    assert run.returncode == 0, run.output
    assert "Failed checks: 0, Skipped checks: 1" in run.output


def test_checkov_passes_repository(translated_repository: TranslatedRepository) -> None:
    run = translated_repository.checkov

    assert run.returncode == 0, run.output
    assert "Failed checks: 0" in run.output


def _function_id(reference: Any) -> str:
    """Logical id in {"Ref": id} or {"Fn::GetAtt": [id, "Arn"]}."""
    if isinstance(reference, dict) and "Ref" in reference:
        return str(reference["Ref"])
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return str(reference["Fn::GetAtt"][0])
    return str(reference)


def test_async_invoked_functions_have_dlq(
    translated_repository: TranslatedRepository,
) -> None:
    # scripts/checkov.sh skips CKV_AWS_116 (function DLQ) for the whole template
    # because every function is invoked synchronously. This test keeps that true.
    resources = json.loads(translated_repository.cfn_json.read_text(encoding="utf-8"))["Resources"]
    with_dlq = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("DeadLetterConfig")
    }
    asynchronous = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Permission":
            function = _function_id(properties.get("FunctionName"))
            principal = properties.get("Principal")
            if principal not in SYNCHRONOUS_PRINCIPALS and function not in with_dlq:
                asynchronous.append(f"{logical_id}: {principal} invokes {function}")
        if resource["Type"] == "AWS::Scheduler::Schedule":
            function = _function_id(properties.get("Target", {}).get("Arn"))
            if function not in with_dlq:
                asynchronous.append(f"{logical_id}: EventBridge Scheduler invokes {function}")
    for asl_path in sorted((REPO_ROOT / "statemachines").glob("*.asl.json")):
        if re.search(r'"InvocationType"\s*:\s*"Event"', asl_path.read_text(encoding="utf-8")):
            asynchronous.append(
                f"{asl_path.name}: a state invokes a function with InvocationType Event"
            )

    assert asynchronous == [], "give these functions a DeadLetterQueue"
