"""cfn-lint, on template.yaml and on its CloudFormation translation.

The SAM-level run validates SAM resources against cfn-lint's SAM schema. The run on the
translation also covers what SAM generates and what that schema leaves unchecked, such
as environment variable values and dependency cycles through the generated roles.
"""

from __future__ import annotations

from pathlib import Path

from static_checks import (
    REPO_ROOT,
    SCRIPTS,
    VENV_BIN,
    CheckRun,
    TranslatedRepository,
    run_check,
    write_project,
)

CFN_LINT = VENV_BIN / "cfn-lint"

FUNCTIONS = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Handler: app.lambda_handler
Resources:
  FirstFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/first/
      Timeout: 30
  SecondFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/second/
      Environment:
        Variables:
          PEER_FUNCTION_ARN: !GetAtt FirstFunction.Arn
"""


def translate_and_lint(root: Path, template: str, checkov_venv: Path) -> CheckRun:
    write_project(root, template)
    translated = run_check(
        [checkov_venv / "bin/python", SCRIPTS / "sam_to_cfn.py", "template.yaml", "cfn.json"], root
    )
    assert translated.returncode == 0, translated.output
    return run_check([CFN_LINT, "cfn.json"], root)


def test_cfn_lint_passes_valid_sam_template(tmp_path: Path) -> None:
    write_project(tmp_path, FUNCTIONS)

    run = run_check([CFN_LINT, "template.yaml"], tmp_path)

    assert run.returncode == 0, run.output


def test_cfn_lint_reports_unknown_property_of_sam_function(tmp_path: Path) -> None:
    write_project(tmp_path, FUNCTIONS.replace("Timeout: 30", "Timout: 30"))

    run = run_check([CFN_LINT, "template.yaml"], tmp_path)

    assert run.returncode != 0
    assert "E3002 Additional properties are not allowed ('Timout' was unexpected" in run.output
    assert "template.yaml:12:7" in run.output


def test_cfn_lint_translation_reports_dependency_cycle(tmp_path: Path, checkov_venv: Path) -> None:
    cyclic = FUNCTIONS.replace(
        "      Timeout: 30\n",
        "      Environment:\n        Variables:\n"
        "          PEER_FUNCTION_ARN: !GetAtt SecondFunction.Arn\n",
    )

    run = translate_and_lint(tmp_path, cyclic, checkov_venv)

    assert run.returncode != 0
    assert (
        "E3004 Circular Dependencies for resource FirstFunction."
        " Circular dependency with [SecondFunction]"
    ) in run.output
    assert "cfn.json:" in run.output


def test_cfn_lint_translation_reports_unknown_resource(tmp_path: Path, checkov_venv: Path) -> None:
    dangling = FUNCTIONS.replace("!GetAtt FirstFunction.Arn", "!GetAtt ThirdFunction.Arn")

    run = translate_and_lint(tmp_path, dangling, checkov_venv)

    assert run.returncode != 0
    assert "E1010 'ThirdFunction' is not one of" in run.output


def test_cfn_lint_passes_repository_template() -> None:
    run = run_check([CFN_LINT, "template.yaml"], REPO_ROOT)

    assert run.returncode == 0, run.output


def test_cfn_lint_passes_repository_translation(
    translated_repository: TranslatedRepository,
) -> None:
    assert translated_repository.cfn_json.is_file(), translated_repository.checkov.output

    run = run_check([CFN_LINT, translated_repository.cfn_json], REPO_ROOT)

    assert run.returncode == 0, run.output
