"""The audit trail is append-only: template.yaml grants writers PutItem alone, and PutItem never overwrites.

The policy check reads every IAM statement of template.yaml that can reach the AuditTable:
inline `Statement` blocks of functions and state machines, SAM policy templates whose
parameters name the table, and AWS::IAM roles and policies. A statement reaches the table
when its Resource refers to AuditTable or is a wildcard.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.errors import ConfigurationError
from hireproof.local.template import Template
from template_resources import StackResources, load_template, mocked_stack

AUDIT_TABLE = "AuditTable"
WRITE_ACTIONS = frozenset({"dynamodb:PutItem"})
READ_ACTIONS = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
    }
)
# The actions of SAM's DynamoDB policy templates, from aws-sam-translator 1.115.0's
# policy_templates.json (the translator in .checkov-venv). Any of them that names the audit
# table grants it; only DynamoDBReadPolicy stays within READ_ACTIONS.
POLICY_TEMPLATE_ACTIONS: Mapping[str, frozenset[str]] = {
    "DynamoDBReadPolicy": frozenset(
        {
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        }
    ),
    "DynamoDBWritePolicy": frozenset({"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
    "DynamoDBCrudPolicy": frozenset(
        {
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        }
    ),
    "DynamoDBReconfigurePolicy": frozenset({"dynamodb:UpdateTable"}),
    "DynamoDBRestoreFromBackupPolicy": frozenset(
        {
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:RestoreTableFromBackup",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        }
    ),
}
RESOURCE_TYPES_WITH_POLICIES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _reaches_audit_table(template: Template, statement: Mapping[str, Any]) -> bool:
    resources = _as_list(statement.get("Resource", []))
    if any(isinstance(r, str) and (r == "*" or r.endswith(":table/*")) for r in resources):
        return True
    return AUDIT_TABLE in template.references(resources)


def _statement_grants(owner: str, statements: Any, template: Template) -> Iterator[tuple[str, str]]:
    for statement in _as_list(statements):
        if statement.get("Effect", "Allow") != "Allow" or not _reaches_audit_table(template, statement):
            continue
        if "NotAction" in statement:
            yield owner, "NotAction (allows every other action)"
        for action in _as_list(statement.get("Action", [])):
            if isinstance(action, str) and (action == "*" or action.startswith("dynamodb:")):
                yield owner, action


def audit_table_grants(template: Template) -> list[tuple[str, str]]:
    """Return (owner logical id, action) for every Allow that reaches the audit table."""
    grants: list[tuple[str, str]] = []
    for resource in template.resources_of_type(*RESOURCE_TYPES_WITH_POLICIES):
        for policy in _as_list(resource.properties.get("Policies", [])):
            if not isinstance(policy, dict):
                continue  # a managed policy name or ARN names no table of this stack
            if "Statement" in policy:
                grants.extend(_statement_grants(resource.logical_id, policy["Statement"], template))
                continue
            for name, parameters in policy.items():
                if AUDIT_TABLE not in template.references(parameters):
                    continue
                actions = POLICY_TEMPLATE_ACTIONS.get(name, frozenset({f"{name} (unknown policy template)"}))
                grants.extend((resource.logical_id, action) for action in sorted(actions))
    for resource in template.resources_of_type("AWS::IAM::Role"):
        for policy in resource.properties.get("Policies", []):
            grants.extend(
                _statement_grants(resource.logical_id, policy["PolicyDocument"].get("Statement"), template)
            )
    for resource in template.resources_of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        statements = resource.properties["PolicyDocument"].get("Statement")
        grants.extend(_statement_grants(resource.logical_id, statements, template))
    return grants


def forbidden_grants(grants: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the grants that could change or remove an existing audit record."""
    return [(owner, action) for owner, action in grants if action not in WRITE_ACTIONS | READ_ACTIONS]


def _template_with(policies: list[Any]) -> Template:
    document = {
        "Resources": {
            AUDIT_TABLE: {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "WriterFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.lambda_handler", "Policies": policies},
            },
        }
    }
    return Template(document, {}, base_dir=load_template().base_dir)


# ----------------------------------------------------------------- the policy in template.yaml
def test_audit_writers_get_put_item_only() -> None:
    grants = audit_table_grants(load_template())

    writers = sorted({owner for owner, action in grants if action == "dynamodb:PutItem"})
    assert len(writers) >= 10, f"expected the onboarding steps among the audit writers, found {writers}"
    assert forbidden_grants(grants) == []
    # Writers cannot read the trail either, so they never learn a record's key (it ends in a
    # random UUID) and a PutItem cannot land on an existing record.
    readers = sorted({owner for owner, action in grants if action in READ_ACTIONS})
    assert readers == [], f"functions that may read the audit trail: {readers}"


def test_audit_check_flags_update_item() -> None:
    template = _template_with(
        [
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                        "Resource": {"Fn::GetAtt": [AUDIT_TABLE, "Arn"]},
                    }
                ]
            }
        ]
    )

    assert forbidden_grants(audit_table_grants(template)) == [("WriterFunction", "dynamodb:UpdateItem")]


def test_audit_check_flags_crud_policy_template() -> None:
    template = _template_with([{"DynamoDBCrudPolicy": {"TableName": {"Ref": AUDIT_TABLE}}}])

    flagged = {action for _, action in forbidden_grants(audit_table_grants(template))}

    assert flagged == {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"}


def test_audit_check_flags_wildcards_and_partiql() -> None:
    template = _template_with(
        [
            {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]},
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:PartiQLDelete",
                        "Resource": {"Fn::Sub": "${AuditTable.Arn}"},
                    }
                ]
            },
        ]
    )

    flagged = {action for _, action in forbidden_grants(audit_table_grants(template))}

    assert flagged == {"dynamodb:*", "dynamodb:PartiQLDelete"}


def test_audit_check_ignores_other_tables() -> None:
    document_policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "dynamodb:DeleteItem",
                "Resource": {"Fn::GetAtt": ["OtherTable", "Arn"]},
            }
        ]
    }
    template = _template_with([document_policy])

    assert audit_table_grants(template) == []


def test_audit_table_expires_records_by_ttl() -> None:
    template = load_template()
    table = template.resource(AUDIT_TABLE).properties
    variables = template.document["Globals"]["Function"]["Environment"]["Variables"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert variables["AUDIT_RETENTION_DAYS"] == {"Ref": "AuditRetentionDays"}
    assert template.document["Parameters"]["AuditRetentionDays"]["Default"] == audit.DEFAULT_RETENTION_DAYS


# ----------------------------------------------------------------- audit.record in moto
@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
FIXED_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_record_refuses_to_overwrite_record_id(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit.uuid, "uuid4", lambda: FIXED_ID)
    record_id = audit.record(
        subject_id="generic-E-1", action="hire_recorded", outcome="ok", actor="test", now=NOW
    )

    with pytest.raises(ClientError) as raised:
        audit.record(subject_id="generic-E-1", action="forged", outcome="changed", actor="attacker", now=NOW)

    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    stored = aws.table(stack.name(AUDIT_TABLE)).get_item(
        Key={"subject_id": "generic-E-1", "record_id": record_id}
    )["Item"]
    assert stored["action"] == "hire_recorded"
    assert stored["actor"] == "test"


def test_record_sets_default_retention(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_RETENTION_DAYS", raising=False)

    audit.record(subject_id="generic-E-2", action="hire_recorded", outcome="ok", actor="test", now=NOW)

    (item,) = audit.records_for("generic-E-2")
    assert int(item["expires_at"]) == int((NOW + dt.timedelta(days=2555)).timestamp())


def test_record_uses_configured_retention(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")

    audit.record(subject_id="generic-E-3", action="hire_recorded", outcome="ok", actor="test", now=NOW)

    (item,) = audit.records_for("generic-E-3")
    assert int(item["expires_at"]) == int((NOW + dt.timedelta(days=30)).timestamp())


def test_record_rejects_zero_retention(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "0")

    with pytest.raises(ConfigurationError, match="AUDIT_RETENTION_DAYS"):
        audit.record(subject_id="generic-E-4", action="hire_recorded", outcome="ok", actor="test", now=NOW)

    assert audit.records_for("generic-E-4") == []
