"""Create template.yaml's data resources in moto, so unit tests use the deployed definitions.

Tables get the key schema, indexes and TTL attribute that template.yaml declares, so a
query on an index the template lacks fails in the unit tests too. Supported types: KMS
keys, Secrets Manager secrets, DynamoDB tables, S3 buckets, SQS queues, SNS topics,
EventBridge buses and SES e-mail identities. Call `create_resources()` inside `mock_aws()`,
or use `mocked_stack()`, which also sets the Globals environment of every function.

    with mocked_stack() as stack:
        stack.name("VerificationTable")      # the table name that Ref returns
        stack.arn("DataKey")                 # what GetAtt DataKey.Arn returns
"""

from __future__ import annotations

import copy
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws

from hireproof import aws as hireproof_aws
from hireproof.local.template import ACCOUNT_ID, REGION, Template, load_document

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@cache
def _document(path: Path, modified: float) -> dict[str, Any]:
    # Parsing template.yaml takes most of a second; tests build a stack per test.
    return load_document(path)


def load_template(parameter_overrides: Mapping[str, Any] | None = None) -> Template:
    """Return template.yaml with its parameters and conditions decided."""
    document = _document(TEMPLATE_PATH, TEMPLATE_PATH.stat().st_mtime)
    return Template(copy.deepcopy(document), parameter_overrides, base_dir=TEMPLATE_PATH.parent)


@cache
def _shared_session() -> boto3.session.Session:
    return _session_with_shared_loader(region_name=REGION)


@dataclass
class StackResources:
    """Physical names and ARNs of the resources created, by logical id."""

    template: Template
    names: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    session: boto3.session.Session = field(default_factory=lambda: _shared_session())
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """Return one boto3 client per service for creating resources."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def name(self, logical_id: str) -> str:
        """Return what `Ref` returns for a created resource."""
        return self.names[logical_id]

    def arn(self, logical_id: str) -> str:
        """Return the ARN of a created resource."""
        return self.arns[logical_id]

    # The ReferenceResolver protocol of hireproof.local.template.
    def ref(self, logical_id: str) -> Any:
        if logical_id not in self.names:
            raise KeyError(f"{logical_id} is not created by template_resources")
        return self.names[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return self.name(logical_id)
        raise KeyError(f"GetAtt {logical_id}.{attribute} is not supported by template_resources")

    def globals_environment(self) -> dict[str, str]:
        """Return the Globals environment variables whose values this helper can resolve."""
        variables = (
            self.template.document.get("Globals", {})
            .get("Function", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        return self._resolve_variables(variables)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Return one function's environment (Globals merged), skipping values it cannot resolve."""
        properties = self.template.resource(logical_id).properties
        variables = properties.get("Environment", {}).get("Variables", {})
        return self._resolve_variables(variables)

    def _resolve_variables(self, variables: Mapping[str, Any]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for key, value in variables.items():
            try:
                resolved[key] = str(self.template.resolve(value, self))
            except KeyError:
                continue  # refers to a function, state machine or API this helper does not create
        return resolved


def _physical_name(logical_id: str) -> str:
    return f"hireproof-test-{logical_id}"


def _kms_key(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    metadata = stack.client("kms").create_key(
        Description=str(properties.get("Description", logical_id)),
        KeyUsage=str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
        KeySpec=str(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
    )["KeyMetadata"]
    stack.names[logical_id] = metadata["KeyId"]
    stack.arns[logical_id] = metadata["Arn"]


def _secret(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    generate = properties.get("GenerateSecretString")
    value: str = str(properties.get("SecretString", ""))
    if generate:
        generated = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        if "SecretStringTemplate" in generate:
            document = json.loads(generate["SecretStringTemplate"])
            document[generate["GenerateStringKey"]] = generated
            value = json.dumps(document)
        else:
            value = generated
    created = stack.client("secretsmanager").create_secret(
        Name=_physical_name(logical_id), SecretString=value
    )
    stack.names[logical_id] = created["ARN"]  # Ref of a secret is its ARN
    stack.arns[logical_id] = created["ARN"]


def _table(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    name = _physical_name(logical_id)
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    client = stack.client("dynamodb")
    description = client.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    stack.names[logical_id] = name
    stack.arns[logical_id] = description["TableArn"]


def _bucket(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    name = str(properties.get("BucketName") or _physical_name(logical_id).lower())
    stack.client("s3").create_bucket(Bucket=name)
    stack.names[logical_id] = name
    stack.arns[logical_id] = f"arn:aws:s3:::{name}"


def _queue(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    attributes: dict[str, str] = {}
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    if "MessageRetentionPeriod" in properties:
        attributes["MessageRetentionPeriod"] = str(properties["MessageRetentionPeriod"])
    client = stack.client("sqs")
    url = client.create_queue(QueueName=_physical_name(logical_id), Attributes=attributes)["QueueUrl"]
    stack.names[logical_id] = url  # Ref of a queue is its URL
    stack.arns[logical_id] = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]


def _topic(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    arn = stack.client("sns").create_topic(Name=_physical_name(logical_id))["TopicArn"]
    stack.names[logical_id] = arn  # Ref of a topic is its ARN
    stack.arns[logical_id] = arn


def _event_bus(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    name = str(properties["Name"])
    arn = stack.client("events").create_event_bus(Name=name)["EventBusArn"]
    stack.names[logical_id] = name
    stack.arns[logical_id] = arn


def _email_identity(stack: StackResources, logical_id: str, properties: Mapping[str, Any]) -> None:
    identity = str(properties["EmailIdentity"])
    stack.client("sesv2").create_email_identity(EmailIdentity=identity)
    stack.names[logical_id] = identity
    stack.arns[logical_id] = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{identity}"


Creator = Callable[[StackResources, str, Mapping[str, Any]], None]
# Creation order: keys and secrets first, because the others refer to them.
CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": _kms_key,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::DynamoDB::Table": _table,
    "AWS::S3::Bucket": _bucket,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::Events::EventBus": _event_bus,
    "AWS::SES::EmailIdentity": _email_identity,
}


def create_resources(
    parameter_overrides: Mapping[str, Any] | None = None, *, types: tuple[str, ...] | None = None
) -> StackResources:
    """Create the template's resources of the supported types (or of `types`) in the active mock."""
    template = load_template(parameter_overrides)
    stack = StackResources(template)
    for resource_type, create in CREATORS.items():
        if types is not None and resource_type not in types:
            continue
        pending = template.resources_of_type(resource_type)
        # Queues may refer to each other (a dead-letter queue); create referenced ones first.
        while pending:
            progressed = False
            for resource in list(pending):
                try:
                    properties = template.resolve(resource.properties, stack)
                except KeyError:
                    continue
                create(stack, resource.logical_id, properties)
                pending.remove(resource)
                progressed = True
            if not progressed:
                unresolved = [resource.logical_id for resource in pending]
                raise KeyError(f"cannot resolve the properties of {unresolved}")
    return stack


@cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def _session_with_shared_loader(**kwargs: Any) -> boto3.session.Session:
    """Build a boto3 session whose service models come from one loader per test process.

    hireproof.aws creates a new session for every cached client, and each new session parses
    the service's JSON model again (about 0.4 s for DynamoDB). Sessions stay separate, so
    event handlers a test registers on one client do not leak into later tests.
    """
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    session = boto3.session.Session(botocore_session=core, **kwargs)
    paths = _shared_loader().search_paths
    paths[:] = list(dict.fromkeys(paths))  # boto3 appends its data folder on every session
    return session


@contextmanager
def mocked_stack(
    parameter_overrides: Mapping[str, Any] | None = None,
    *,
    extra_environment: Mapping[str, str] | None = None,
    moto_config: Mapping[str, Any] | None = None,
) -> Iterator[StackResources]:
    """Start moto, create the template's resources and set the Globals environment.

    HireProof's cached boto3 clients are dropped on entry and exit, so no client created
    for another mock (or for real AWS) is reused.
    """
    saved = dict(os.environ)
    os.environ.update(FAKE_CREDENTIALS)
    hireproof_aws.reset_clients()
    shim = SimpleNamespace(session=SimpleNamespace(Session=_session_with_shared_loader))
    try:
        with (
            mock_aws(config=dict(moto_config) if moto_config else None),
            mock.patch.object(hireproof_aws, "boto3", shim),
        ):
            stack = create_resources(parameter_overrides)
            os.environ.update(stack.globals_environment())
            os.environ.update(extra_environment or {})
            yield stack
    finally:
        hireproof_aws.reset_clients()
        os.environ.clear()
        os.environ.update(saved)
