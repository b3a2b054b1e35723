"""scripts/check_asl.py: statelint plus the template ↔ definition contract."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from static_checks import REPO_ROOT, SCRIPTS, CheckRun, run_check, write_project

ASL = "statemachines/flow.asl.json"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  StepFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/step/
      Runtime: python3.13
      Handler: app.lambda_handler
  FlowStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/flow.asl.json
      DefinitionSubstitutions:
        StepFunctionArn: !GetAtt StepFunction.Arn
"""


def flow() -> dict[str, Any]:
    """A valid two-state workflow whose only placeholder is ${StepFunctionArn}."""
    return {
        "StartAt": "Do Step",
        "States": {
            "Do Step": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${StepFunctionArn}", "Payload.$": "$"},
                "ResultPath": "$.step",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def check_asl(root: Path, template: str, asl_text: str | None) -> CheckRun:
    files = {} if asl_text is None else {ASL: asl_text}
    write_project(root, template, files)
    return run_check([sys.executable, SCRIPTS / "check_asl.py"], root)


def assert_fails_with(run: CheckRun, line: str) -> None:
    assert run.returncode == 1, run.output
    assert line in run.output.splitlines(), run.output


def test_check_asl_passes_consistent_definition(tmp_path: Path) -> None:
    run = check_asl(tmp_path, TEMPLATE, json.dumps(flow()))

    assert run.returncode == 0, run.output


def test_check_asl_reports_unknown_next_state(tmp_path: Path) -> None:
    definition = flow()
    definition["States"]["Do Step"]["Next"] = "Send Invitation"

    run = check_asl(tmp_path, TEMPLATE, json.dumps(definition))

    assert_fails_with(
        run,
        f'{ASL}: No state found named "Send Invitation",'
        " referenced at State Machine.States.Do Step.Next",
    )


def test_check_asl_reports_placeholder_without_substitution_key(tmp_path: Path) -> None:
    definition = flow()
    definition["States"]["Do Step"]["Parameters"]["Payload"] = {"topic": "${ReviewTopicArn}"}
    del definition["States"]["Do Step"]["Parameters"]["Payload.$"]

    run = check_asl(tmp_path, TEMPLATE, json.dumps(definition))

    assert_fails_with(
        run,
        f"{ASL}: placeholder ${{ReviewTopicArn}} has no DefinitionSubstitutions key"
        " on FlowStateMachine",
    )


def test_check_asl_reports_substitution_key_without_placeholder(tmp_path: Path) -> None:
    template = TEMPLATE + "        AuditTableName: audit\n"

    run = check_asl(tmp_path, template, json.dumps(flow()))

    assert_fails_with(
        run,
        f"{ASL}: DefinitionSubstitutions key AuditTableName of FlowStateMachine"
        " is not used in the file",
    )


def test_check_asl_reports_missing_definition_file(tmp_path: Path) -> None:
    run = check_asl(tmp_path, TEMPLATE, asl_text=None)

    assert_fails_with(run, f"template.yaml: FlowStateMachine: DefinitionUri file not found: {ASL}")


def test_check_asl_reports_unused_definition_file(tmp_path: Path) -> None:
    write_project(tmp_path, TEMPLATE, {"statemachines/orphan.asl.json": json.dumps(flow())})

    run = check_asl(tmp_path, TEMPLATE, json.dumps(flow()))

    assert_fails_with(
        run,
        "statemachines/orphan.asl.json: not used by any AWS::Serverless::StateMachine"
        " in template.yaml",
    )


@pytest.mark.parametrize(
    ("change", "line"),
    [
        pytest.param(
            lambda d: d["States"]["Do Step"].update(Assign={"step.$": "$.step"}),
            f'{ASL}: Field "Assign" not allowed in State Machine.States.Do Step',
            id="assign",
        ),
        pytest.param(
            lambda d: d.update(QueryLanguage="JSONata"),
            f"{ASL}: State Machine.QueryLanguage is 'JSONata'. Write the workflow in JSONPath",
            id="jsonata",
        ),
    ],
)
def test_check_asl_rejects_variables_and_jsonata(tmp_path: Path, change: Any, line: str) -> None:
    definition = flow()
    change(definition)

    run = check_asl(tmp_path, TEMPLATE, json.dumps(definition))

    assert_fails_with(run, line)


def test_check_asl_accepts_unquoted_numeric_placeholder(tmp_path: Path) -> None:
    # CloudFormation substitutes text, so `"TimeoutSeconds": ${Timeout}` is a valid
    # definition once deployed even though the file itself is not JSON.
    template = TEMPLATE + "        StepTimeoutSeconds: !Ref StepTimeoutSeconds\n"
    text = json.dumps(flow()).replace(
        '"Next": "Done"', '"TimeoutSeconds": ${StepTimeoutSeconds}, "Next": "Done"'
    )

    run = check_asl(tmp_path, template, text)

    assert run.returncode == 0, run.output


def test_check_asl_passes_repository() -> None:
    run = run_check([sys.executable, SCRIPTS / "check_asl.py"], REPO_ROOT)

    assert run.returncode == 0, run.output
