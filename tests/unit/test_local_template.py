"""Unit tests of hireproof.local.template: YAML tags, parameters, conditions, Globals."""

from __future__ import annotations

import json
import string
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from hireproof.local.errors import TemplateError
from hireproof.local.provision import (
    generate_secret_string,
    local_bucket_policy,
    substitute_definition,
)
from hireproof.local.template import (
    CloudFormationLoader,
    Template,
    load_document,
    merge_globals,
)

REPOSITORY = Path(__file__).resolve().parents[2]


class FakeResolver:
    """Resolves resource references to recognisable strings and records what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ref(self, logical_id: str) -> Any:
        self.asked.append(f"Ref {logical_id}")
        return f"ref:{logical_id}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        self.asked.append(f"GetAtt {logical_id}.{attribute}")
        return f"att:{logical_id}.{attribute}"


def parse(text: str) -> dict[str, Any]:
    document = yaml.load(textwrap.dedent(text), Loader=CloudFormationLoader)  # noqa: S506
    assert isinstance(document, dict)
    return document


def template(text: str, overrides: dict[str, Any] | None = None) -> Template:
    return Template(parse(text), overrides, base_dir=Path("/nonexistent"))


BASE = """
Parameters:
  Stage:
    Type: String
    AllowedValues: [local, dev, prod]
    Default: dev
  Retention:
    Type: Number
    Default: 30
    MinValue: 1
  Names:
    Type: CommaDelimitedList
    Default: "a, b,c"
  Email:
    Type: String
    Default: ""
Conditions:
  IsLocal: !Equals [!Ref Stage, local]
  IsProd: !Equals [prod, !Ref Stage]
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  LocalOrProd: !Or [!Condition IsLocal, !Condition IsProd]
  LocalWithEmail: !And [!Condition IsLocal, !Condition HasEmail]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub ${AWS::StackName}-table
  Alerts:
    Type: AWS::SNS::Topic
    Condition: HasEmail
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - Key: table
          Value: !GetAtt Table.Arn
"""


# ----------------------------------------------------------------------------- YAML
def test_yaml_short_tags_become_long_forms() -> None:
    document = parse(
        """
        A: !Ref Stage
        B: !GetAtt Table.StreamArn
        C: !Sub "${Stage}-x"
        D: !Sub ["${X}", {X: !Ref Stage}]
        E: !If [IsLocal, a, b]
        F: !Join ["-", [a, !Ref Stage]]
        G: !Select [1, !Split [",", "a,b"]]
        H: !Condition IsLocal
        I: !FindInMap [Map, Top, Key]
        J: !Base64 text
        K: !GetAZs ""
        """
    )
    assert document["A"] == {"Ref": "Stage"}
    assert document["B"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert document["C"] == {"Fn::Sub": "${Stage}-x"}
    assert document["D"] == {"Fn::Sub": ["${X}", {"X": {"Ref": "Stage"}}]}
    assert document["E"] == {"Fn::If": ["IsLocal", "a", "b"]}
    assert document["F"] == {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}
    assert document["G"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}
    assert document["H"] == {"Condition": "IsLocal"}
    assert document["I"] == {"Fn::FindInMap": ["Map", "Top", "Key"]}
    assert document["J"] == {"Fn::Base64": "text"}
    assert document["K"] == {"Fn::GetAZs": ""}


def test_yaml_keeps_dates_as_strings() -> None:
    document = parse("AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n")
    assert document["AWSTemplateFormatVersion"] == "2010-09-09"


def test_load_document_rejects_template_without_resources(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Parameters: {}\n")
    with pytest.raises(TemplateError, match="no Resources"):
        load_document(path)


# ----------------------------------------------------------------------------- parameters
def test_parameters_use_defaults_as_strings() -> None:
    prepared = template(BASE)
    assert prepared.parameters["Stage"] == "dev"
    assert prepared.parameters["Retention"] == "30"
    assert prepared.parameters["Names"] == ["a", "b", "c"]


def test_parameter_override_replaces_default() -> None:
    prepared = template(BASE, {"Stage": "local", "Retention": 7})
    assert prepared.parameters["Stage"] == "local"
    assert prepared.parameters["Retention"] == "7"


def test_parameter_override_for_undeclared_name_raises() -> None:
    with pytest.raises(TemplateError, match=r"\['Stag'\] are not declared"):
        template(BASE, {"Stag": "local"})


def test_parameter_outside_allowed_values_raises() -> None:
    with pytest.raises(TemplateError, match="not one of AllowedValues"):
        template(BASE, {"Stage": "qa"})


def test_number_parameter_below_min_value_raises() -> None:
    with pytest.raises(TemplateError, match="below MinValue"):
        template(BASE, {"Retention": "0"})


def test_number_parameter_that_is_not_a_number_raises() -> None:
    with pytest.raises(TemplateError, match="must be a number"):
        template(BASE, {"Retention": "thirty"})


def test_parameter_without_default_or_override_raises() -> None:
    with pytest.raises(TemplateError, match="Secret has no Default"):
        template("Parameters:\n  Secret:\n    Type: String\nResources: {}\n")


def test_allowed_pattern_is_enforced() -> None:
    text = """
    Parameters:
      Id: {Type: String, AllowedPattern: "d-[0-9a-f]{10}", Default: d-0000000000}
    Resources: {}
    """
    assert template(text).parameters["Id"] == "d-0000000000"
    with pytest.raises(TemplateError, match="AllowedPattern"):
        template(text, {"Id": "x"})


# ----------------------------------------------------------------------------- conditions
def test_conditions_follow_parameters() -> None:
    default = template(BASE)
    assert default.conditions == {
        "IsLocal": False,
        "IsProd": False,
        "HasEmail": False,
        "LocalOrProd": False,
        "LocalWithEmail": False,
    }
    local = template(BASE, {"Stage": "local", "Email": "a@example.com"})
    assert local.conditions["IsLocal"] is True
    assert local.conditions["HasEmail"] is True
    assert local.conditions["LocalOrProd"] is True
    assert local.conditions["LocalWithEmail"] is True


def test_resource_with_false_condition_is_left_out() -> None:
    assert "Alerts" not in template(BASE).resources
    assert "Alerts" in template(BASE, {"Email": "a@example.com"}).resources


def test_ref_to_resource_with_false_condition_raises() -> None:
    prepared = template(BASE)
    with pytest.raises(TemplateError, match="condition is false"):
        prepared.resolve({"Ref": "Alerts"}, FakeResolver())


def test_conditions_in_a_cycle_raise() -> None:
    text = "Conditions:\n  A: !Condition B\n  B: !Condition A\nResources: {}\n"
    with pytest.raises(TemplateError, match="cycle"):
        template(text)


def test_no_value_removes_key_and_item() -> None:
    prepared = template(BASE)
    value = {
        "Kept": "yes",
        "Dropped": {"Fn::If": ["IsLocal", "x", {"Ref": "AWS::NoValue"}]},
        "Items": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}, "c"],
    }
    assert prepared.resolve(value, FakeResolver()) == {"Kept": "yes", "Items": ["a", "c"]}


# ----------------------------------------------------------------------------- intrinsics
def test_ref_resolves_pseudo_parameters_parameters_and_resources() -> None:
    prepared = template(BASE)
    resolver = FakeResolver()
    assert prepared.resolve({"Ref": "AWS::Region"}, resolver) == "us-east-1"
    assert prepared.resolve({"Ref": "AWS::AccountId"}, resolver) == "123456789012"
    assert prepared.resolve({"Ref": "AWS::Partition"}, resolver) == "aws"
    assert prepared.resolve({"Ref": "AWS::StackName"}, resolver) == "hireproof-local"
    assert prepared.resolve({"Ref": "Stage"}, resolver) == "dev"
    assert prepared.resolve({"Ref": "Table"}, resolver) == "ref:Table"
    assert resolver.asked == ["Ref Table"]


def test_ref_to_unknown_name_raises() -> None:
    with pytest.raises(TemplateError, match="Ref Nope: no parameter"):
        template(BASE).resolve({"Ref": "Nope"}, FakeResolver())


def test_get_att_accepts_list_and_dotted_forms() -> None:
    prepared = template(BASE)
    assert prepared.resolve({"Fn::GetAtt": ["Table", "Arn"]}, FakeResolver()) == "att:Table.Arn"
    dotted = prepared.resolve({"Fn::GetAtt": "Table.StreamArn"}, FakeResolver())
    assert dotted == "att:Table.StreamArn"


def test_sub_replaces_parameters_attributes_and_escapes() -> None:
    prepared = template(BASE)
    text = "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Stage}/${Table.Arn}/${!X}"
    assert prepared.resolve({"Fn::Sub": text}, FakeResolver()) == (
        "arn:aws:x:us-east-1:123456789012:dev/att:Table.Arn/${X}"
    )


def test_sub_with_variables_map() -> None:
    prepared = template(BASE)
    value = {"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "Table"}}]}
    assert prepared.resolve(value, FakeResolver()) == "ref:Table-dev"


def test_join_select_split_base64_and_find_in_map() -> None:
    text = BASE + "Mappings:\n  Sizes:\n    dev: {Memory: 256}\n"
    prepared = template(text)
    resolver = FakeResolver()
    assert prepared.resolve({"Fn::Join": [":", ["a", {"Ref": "Stage"}, 3]]}, resolver) == "a:dev:3"
    assert prepared.resolve({"Fn::Select": [2, {"Ref": "Names"}]}, resolver) == "c"
    assert prepared.resolve({"Fn::Split": ["/", "a/b"]}, resolver) == ["a", "b"]
    assert prepared.resolve({"Fn::Base64": "hi"}, resolver) == "aGk="
    find = {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}
    assert prepared.resolve(find, resolver) == 256


def test_select_out_of_range_raises() -> None:
    with pytest.raises(TemplateError, match="outside"):
        template(BASE).resolve({"Fn::Select": [5, ["a"]]}, FakeResolver())


def test_import_value_raises() -> None:
    with pytest.raises(TemplateError, match="another stack"):
        template(BASE).resolve({"Fn::ImportValue": "x"}, FakeResolver())


def test_template_references_and_creation_order() -> None:
    prepared = template(BASE)
    assert prepared.dependencies("Queue") == {"Table"}
    order = prepared.creation_order()
    assert order.index("Table") < order.index("Queue")


def test_creation_order_reports_cycle() -> None:
    text = """
    Resources:
      A:
        Type: AWS::SQS::Queue
        Properties: {Name: !GetAtt B.Arn}
      B:
        Type: AWS::SQS::Queue
        Properties: {Name: !Ref A}
    """
    with pytest.raises(TemplateError, match=r"cycle: (A -> B -> A|B -> A -> B)"):
        template(text).creation_order()


# ----------------------------------------------------------------------------- SAM
SAM = """
Globals:
  Function:
    Runtime: python3.13
    Timeout: 30
    Layers: [!Ref CommonLayer]
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  CommonLayer:
    Type: AWS::Serverless::LayerVersion
  Table:
    Type: AWS::Serverless::SimpleTable
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionSubstitutions:
        Arn: !GetAtt Worker.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 5
      Layers: [extra]
      Environment:
        Variables:
          OVERRIDDEN: local
          TABLE: !Ref Table
      Policies:
        - StepFunctionsExecutionPolicy: {StateMachineName: !GetAtt Machine.Name}
      Events:
        Api:
          Type: HttpApi
          Properties: {Path: /x, Method: GET}
"""


def test_globals_merge_into_function() -> None:
    worker = template(SAM).resource("Worker")
    assert worker.properties["Runtime"] == "python3.13"
    assert worker.properties["Timeout"] == 5
    assert worker.properties["Layers"] == [{"Ref": "CommonLayer"}, "extra"]
    assert worker.properties["Environment"]["Variables"] == {
        "SHARED": "global",
        "OVERRIDDEN": "local",
        "TABLE": {"Ref": "Table"},
    }


def test_merge_globals_keeps_resource_intrinsic() -> None:
    assert merge_globals({"A": 1}, {"Ref": "X"}) == {"Ref": "X"}
    assert merge_globals({"A": {"B": 1, "C": 2}}, {"A": {"C": 3}}) == {"A": {"B": 1, "C": 3}}
    assert merge_globals([1], [2]) == [1, 2]
    assert merge_globals("global", "local") == "local"


def test_sam_generated_resources_are_added() -> None:
    resources = template(SAM).resources
    assert resources["WorkerRole"].type == "AWS::IAM::Role"
    assert resources["WorkerRole"].implicit
    assert resources["MachineRole"].type == "AWS::IAM::Role"
    assert resources["ServerlessHttpApi"].type == "AWS::Serverless::HttpApi"


def test_policies_and_events_do_not_order_resources() -> None:
    # Worker refers to Machine only through Policies, which SAM turns into a separate role, so
    # Machine's reference to Worker.Arn is not a cycle.
    prepared = template(SAM)
    assert prepared.dependencies("Worker") == {"CommonLayer", "Table", "WorkerRole"}
    assert prepared.dependencies("Machine") == {"MachineRole", "Worker"}
    order = prepared.creation_order()
    assert order.index("Worker") < order.index("Machine")


def test_unknown_globals_section_raises() -> None:
    with pytest.raises(TemplateError, match="unknown section"):
        template("Globals:\n  Functions: {}\nResources: {}\n")


# ----------------------------------------------------------------------------- resource helpers
def test_generate_secret_string_fills_template_key() -> None:
    value = json.loads(
        generate_secret_string(
            {
                "SecretStringTemplate": '{"bamboohr": ""}',
                "GenerateStringKey": "generic",
                "PasswordLength": 48,
                "ExcludePunctuation": True,
            }
        )
    )
    assert value["bamboohr"] == ""
    assert len(value["generic"]) == 48
    assert set(value["generic"]) <= set(string.ascii_letters + string.digits)


def test_generate_secret_string_honours_exclusions() -> None:
    password = generate_secret_string(
        {
            "PasswordLength": 64,
            "ExcludeUppercase": True,
            "ExcludeNumbers": True,
            "ExcludeCharacters": "abc",
        }
    )
    assert len(password) == 64
    assert not set(password) & set(string.ascii_uppercase + string.digits + "abc")


def test_generate_secret_string_needs_template_and_key_together() -> None:
    with pytest.raises(TemplateError, match="both"):
        generate_secret_string({"GenerateStringKey": "x"})


def test_substitute_definition_replaces_only_given_keys() -> None:
    text = '{"Resource": "${WorkerArn}", "Other": "${NotGiven}", "Timeout": ${Seconds}}'
    result = substitute_definition(text, {"WorkerArn": "arn:x", "Seconds": 30})
    assert result == '{"Resource": "arn:x", "Other": "${NotGiven}", "Timeout": 30}'


def test_local_bucket_policy_leaves_out_conditional_denies() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Https",
                "Effect": "Deny",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {"Sid": "Reader", "Effect": "Allow", "Condition": {"StringEquals": {"a": "b"}}},
            {"Sid": "Everyone", "Effect": "Deny"},
        ],
    }
    kept, dropped = local_bucket_policy(policy)
    assert dropped == ["Https"]
    assert [statement["Sid"] for statement in kept["Statement"]] == ["Reader", "Everyone"]


# ----------------------------------------------------------------------------- the real template
def test_real_template_resolves_with_local_parameters() -> None:
    prepared = Template.from_file(
        REPOSITORY / "template.yaml",
        {"Stage": "local", "VerificationEngine": "local"},
    )
    order = prepared.creation_order()
    assert set(order) == set(prepared.resources)
    resolver = FakeResolver()
    for function in prepared.resources_of_type("AWS::Serverless::Function"):
        variables = prepared.resolve(function.properties["Environment"]["Variables"], resolver)
        assert variables["HIREPROOF_STAGE"] == "local", function.logical_id
        assert variables["ONBOARDING_TABLE"] == "ref:OnboardingTable", function.logical_id
        code_dir = REPOSITORY / function.properties["CodeUri"]
        assert code_dir.is_dir(), f"{function.logical_id}: CodeUri {code_dir} is missing"
