"""Create each template resource in moto through the AWS API, as CloudFormation would.

Every creator receives the resource with its properties still unresolved, resolves them against the
resources created before it and returns a ResourceRecord with the values of `Ref` and `Fn::GetAtt`.
Resource types that the local runtime does not emulate are recorded as skipped, with placeholder
values so that references to them still resolve, and are logged (debug for known types, warning
otherwise).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import secrets
import string
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hireproof.local.errors import TemplateError
from hireproof.local.invoker import FunctionSpec
from hireproof.local.template import Template, TemplateResource, as_text, text_map

logger = logging.getLogger(__name__)


@dataclass
class ResourceRecord:
    """The local stack's outcome for one template resource: its Ref value and attributes."""

    logical_id: str
    type: str
    physical_id: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    created: bool = True
    note: str = ""

    @property
    def arn(self) -> str | None:
        """The resource's ARN, if it has one."""
        value = self.attributes.get("Arn")
        return str(value) if value is not None else None


class ProvisionContext:
    """The inputs of a resource creator: template, resolution, clients, names and callbacks."""

    def __init__(
        self,
        *,
        template: Template,
        resolve: Callable[[Any], Any],
        client: Callable[[str], Any],
        records: Mapping[str, ResourceRecord],
        register_function: Callable[[FunctionSpec | None, str], None],
        api_url: str,
    ) -> None:
        self.template = template
        self.resolve = resolve
        self.client = client
        self.records = records
        self.register_function = register_function
        self.api_url = api_url
        self.region = template.region
        self.account_id = template.account_id

    def name(self, logical_id: str, max_length: int, *, lower: bool = False, suffix: str = "") -> str:
        """Return a physical name `<stack>-<logical id>` that fits `max_length` and stays unique."""
        name = f"{self.template.stack_name}-{logical_id}"
        if lower:
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
        limit = max_length - len(suffix)
        if len(name) > limit:
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            name = f"{name[: limit - 9]}-{digest}"
        return name + suffix

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """Return an ARN in the local partition, region and account."""
        return (
            f"arn:aws:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    def properties(
        self, resource: TemplateResource, *, without: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """Return the resource's properties resolved, leaving out the named ones unresolved."""
        kept = {key: value for key, value in resource.properties.items() if key not in without}
        resolved = self.resolve(kept)
        return resolved if isinstance(resolved, dict) else {}


Creator = Callable[[ProvisionContext, TemplateResource], ResourceRecord]


# ----------------------------------------------------------------------------- helpers
def _tags(properties: Mapping[str, Any]) -> list[dict[str, str]]:
    tags = properties.get("Tags") or []
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": as_text(v)} for k, v in tags.items()]
    return [{"Key": str(t["Key"]), "Value": as_text(t["Value"])} for t in tags]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return as_text(value)


def _warn_ignored(resource: TemplateResource, properties: Mapping[str, Any], handled: set[str]) -> None:
    ignored = sorted(set(properties) - handled)
    if ignored:
        logger.warning(
            "properties not applied locally",
            extra={"resource": resource.logical_id, "properties": ignored},
        )


# ----------------------------------------------------------------------------- KMS, logs, IAM
def create_kms_key(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    kms = ctx.client("kms")
    request: dict[str, Any] = {
        "Description": props.get("Description", ""),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
    }
    if "KeyPolicy" in props:
        request["Policy"] = _json_text(props["KeyPolicy"])
    if props.get("Tags"):
        request["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(props)]
    metadata = kms.create_key(**request)["KeyMetadata"]
    key_id = metadata["KeyId"]
    if props.get("EnableKeyRotation") and request["KeySpec"] == "SYMMETRIC_DEFAULT":
        kms.enable_key_rotation(KeyId=key_id)
    if props.get("Enabled") is False:
        kms.disable_key(KeyId=key_id)
    return ResourceRecord(
        resource.logical_id, resource.type, key_id, {"Arn": metadata["Arn"], "KeyId": key_id}
    )


def create_kms_alias(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    ctx.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    name = props["AliasName"]
    return ResourceRecord(resource.logical_id, resource.type, name, {"Arn": ctx.arn("kms", name)})


def create_log_group(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("LogGroupName") or f"/{ctx.template.stack_name}/{resource.logical_id}"
    logs = ctx.client("logs")
    request: dict[str, Any] = {"logGroupName": name}
    if props.get("KmsKeyId"):
        request["kmsKeyId"] = props["KmsKeyId"]
    if props.get("Tags"):
        request["tags"] = {t["Key"]: t["Value"] for t in _tags(props)}
    logs.create_log_group(**request)
    if props.get("RetentionInDays") is not None:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = ctx.arn("logs", f"log-group:{name}:*")
    return ResourceRecord(resource.logical_id, resource.type, name, {"Arn": arn})


def create_iam_role(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    # NOTE: roles exist so that Lambda and Step Functions accept their ARNs. No IAM policy is
    # attached or enforced locally, so a missing permission in the template goes unnoticed here.
    props = ctx.properties(resource, without=frozenset({"Policies", "ManagedPolicyArns"}))
    name = props.get("RoleName") or ctx.name(resource.logical_id, 64)
    role = ctx.client("iam").create_role(
        RoleName=name,
        Path=props.get("Path", "/"),
        AssumeRolePolicyDocument=_json_text(props.get("AssumeRolePolicyDocument") or {}),
    )["Role"]
    return ResourceRecord(
        resource.logical_id, resource.type, name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}
    )


# ----------------------------------------------------------------------------- DynamoDB
def _table_request(props: Mapping[str, Any], name: str) -> dict[str, Any]:
    billing = props.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    throughput = props.get("ProvisionedThroughput") or {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput

    indexes = []
    for index in props.get("GlobalSecondaryIndexes") or []:
        index = dict(index)
        if billing == "PROVISIONED":
            index.setdefault("ProvisionedThroughput", throughput)
        indexes.append(index)
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes

    if props.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]

    stream = props.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }

    sse = props.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {
            key: value
            for key, value in {
                "Enabled": bool(sse.get("SSEEnabled", False)),
                "SSEType": sse.get("SSEType"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }.items()
            if value is not None
        }

    if props.get("Tags"):
        request["Tags"] = _tags(props)
    if props.get("TableClass"):
        request["TableClass"] = props["TableClass"]
    if props.get("DeletionProtectionEnabled") is not None:
        request["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
    return request


def _finish_table(
    ctx: ProvisionContext, resource: TemplateResource, props: Mapping[str, Any], name: str
) -> ResourceRecord:
    dynamodb = ctx.client("dynamodb")
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    table = dynamodb.describe_table(TableName=name)["Table"]
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return ResourceRecord(resource.logical_id, resource.type, name, attributes)


def create_dynamodb_table(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("TableName") or ctx.name(resource.logical_id, 255)
    ctx.client("dynamodb").create_table(**_table_request(props, name))
    _warn_ignored(
        resource,
        props,
        {
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "StreamSpecification",
            "SSESpecification",
            "Tags",
            "TableClass",
            "DeletionProtectionEnabled",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
            "ContributorInsightsSpecification",
        },
    )
    return _finish_table(ctx, resource, props, name)


def create_simple_table(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("TableName") or ctx.name(resource.logical_id, 255)
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    table_props: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": attribute_type}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if props.get("ProvisionedThroughput") else "PAY_PER_REQUEST",
    }
    if props.get("ProvisionedThroughput"):
        table_props["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if props.get("SSESpecification"):
        table_props["SSESpecification"] = props["SSESpecification"]
    ctx.client("dynamodb").create_table(**_table_request(table_props, name))
    return _finish_table(ctx, resource, props, name)


# ----------------------------------------------------------------------------- S3
def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
    if rule.get("Id"):
        converted["ID"] = rule["Id"]

    prefix = rule.get("Prefix", "")
    tag_filters = rule.get("TagFilters") or []
    if tag_filters:
        converted["Filter"] = {"And": {"Prefix": prefix, "Tags": tag_filters}}
    else:
        converted["Filter"] = {"Prefix": prefix}

    expiration: dict[str, Any] = {}
    if rule.get("ExpirationInDays") is not None:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if rule.get("ExpirationDate"):
        expiration["Date"] = rule["ExpirationDate"]
    if rule.get("ExpiredObjectDeleteMarker") is not None:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        converted["Expiration"] = expiration

    if rule.get("AbortIncompleteMultipartUpload"):
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }

    noncurrent = rule.get("NoncurrentVersionExpiration")
    if rule.get("NoncurrentVersionExpirationInDays") is not None:
        noncurrent = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    if noncurrent:
        converted["NoncurrentVersionExpiration"] = {k: int(v) for k, v in noncurrent.items()}

    transitions = [
        {"StorageClass": t["StorageClass"], "Days": int(t["TransitionInDays"])}
        for t in rule.get("Transitions") or []
        if "TransitionInDays" in t
    ]
    if transitions:
        converted["Transitions"] = transitions
    return converted


def local_bucket_policy(policy: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return the bucket policy moto can enforce correctly, and the Sids of the statements left out.

    moto 5.2.5 evaluates bucket policies without their Condition block, so a Deny statement with a
    condition (such as the usual deny of `aws:SecureTransport: false`) would deny every request to
    the plain-HTTP local endpoint. Such statements are left out; a canary test reports when moto
    starts evaluating conditions, so that this workaround can go.
    """
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    kept, dropped = [], []
    for index, statement in enumerate(statements):
        if statement.get("Effect") == "Deny" and statement.get("Condition"):
            dropped.append(str(statement.get("Sid", f"statement {index}")))
        else:
            kept.append(statement)
    return {**policy, "Statement": kept}, dropped


def create_s3_bucket(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("BucketName") or ctx.name(resource.logical_id, 63, lower=True)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=name)

    encryption = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **(
                    {"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}
                ),
            }
            for rule in encryption
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if props.get("PublicAccessBlockConfiguration"):
        block = {k: bool(v) for k, v in props["PublicAccessBlockConfiguration"].items()}
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    if props.get("VersioningConfiguration"):
        s3.put_bucket_versioning(
            Bucket=name,
            VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]},
        )
    lifecycle = (props.get("LifecycleConfiguration") or {}).get("Rules")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in lifecycle]},
        )
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules")
    if cors:
        rules = []
        for rule in cors:
            converted = {
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": rule["AllowedOrigins"],
            }
            optional = (
                ("AllowedHeaders", "AllowedHeaders"),
                ("ExposedHeaders", "ExposeHeaders"),
                ("Id", "ID"),
            )
            for source, target in optional:
                if rule.get(source):
                    converted[target] = rule[source]
            if rule.get("MaxAge") is not None:
                converted["MaxAgeSeconds"] = int(rule["MaxAge"])
            rules.append(converted)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    if props.get("OwnershipControls"):
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if props.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(props)})
    _warn_ignored(
        resource,
        props,
        {
            "BucketName",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "VersioningConfiguration",
            "LifecycleConfiguration",
            "CorsConfiguration",
            "OwnershipControls",
            "Tags",
        },
    )
    attributes = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com",
    }
    return ResourceRecord(resource.logical_id, resource.type, name, attributes)


def create_s3_bucket_policy(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    document = props["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    policy, dropped = local_bucket_policy(document)
    note = ""
    if dropped:
        note = f"Deny statements with a Condition left out, because moto ignores conditions: {dropped}"
        logger.info(
            "bucket policy statements left out locally",
            extra={"resource": resource.logical_id, "sids": dropped},
        )
    if policy["Statement"]:
        ctx.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
    return ResourceRecord(resource.logical_id, resource.type, props["Bucket"], {}, note=note)


# ----------------------------------------------------------------------------- SQS, SNS
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def create_sqs_queue(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    fifo = bool(props.get("FifoQueue"))
    name = props.get("QueueName") or ctx.name(resource.logical_id, 80, suffix=".fifo" if fifo else "")
    attributes = {key: _attribute_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    sqs = ctx.client("sqs")
    request: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
    if props.get("Tags"):
        request["tags"] = {t["Key"]: t["Value"] for t in _tags(props)}
    url = sqs.create_queue(**request)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _warn_ignored(resource, props, {"QueueName", "Tags", *_QUEUE_ATTRIBUTES})
    return ResourceRecord(
        resource.logical_id, resource.type, url, {"Arn": arn, "QueueName": name, "QueueUrl": url}
    )


def create_sqs_queue_policy(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    policy = _json_text(props["PolicyDocument"])
    for url in props["Queues"]:
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return ResourceRecord(resource.logical_id, resource.type, ctx.name(resource.logical_id, 128), {})


def create_sns_topic(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    fifo = bool(props.get("FifoTopic"))
    name = props.get("TopicName") or ctx.name(resource.logical_id, 256, suffix=".fifo" if fifo else "")
    keys = (
        "DisplayName",
        "KmsMasterKeyId",
        "FifoTopic",
        "ContentBasedDeduplication",
        "SignatureVersion",
        "TracingConfig",
    )
    attributes = {key: _attribute_text(props[key]) for key in keys if key in props}
    sns = ctx.client("sns")
    request: dict[str, Any] = {"Name": name, "Attributes": attributes}
    if props.get("Tags"):
        request["Tags"] = _tags(props)
    arn = sns.create_topic(**request)["TopicArn"]
    for subscription in props.get("Subscription") or []:
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    _warn_ignored(resource, props, {"TopicName", "Tags", "Subscription", *keys})
    return ResourceRecord(
        resource.logical_id, resource.type, arn, {"TopicArn": arn, "TopicName": name, "Arn": arn}
    )


def create_sns_subscription(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    attributes = {
        key: _attribute_text(props[key])
        for key in (
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
        )
        if key in props
    }
    arn = ctx.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return ResourceRecord(resource.logical_id, resource.type, arn, {"Arn": arn})


def create_sns_topic_policy(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    for topic in props["Topics"]:
        ctx.client("sns").set_topic_attributes(
            TopicArn=topic,
            AttributeName="Policy",
            AttributeValue=_json_text(props["PolicyDocument"]),
        )
    return ResourceRecord(resource.logical_id, resource.type, ctx.name(resource.logical_id, 128), {})


# ----------------------------------------------------------------------------- EventBridge
def create_event_bus(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("Name") or ctx.name(resource.logical_id, 256)
    arn = ctx.client("events").create_event_bus(Name=name)["EventBusArn"]
    return ResourceRecord(resource.logical_id, resource.type, name, {"Arn": arn, "Name": name})


def put_rule(
    ctx: ProvisionContext,
    *,
    name: str,
    event_bus: str | None,
    pattern: Any = None,
    schedule: str | None = None,
    state: str = "ENABLED",
    description: str | None = None,
    targets: list[dict[str, Any]],
) -> str:
    """Create an EventBridge rule with its targets and return the rule ARN."""
    events = ctx.client("events")
    request: dict[str, Any] = {"Name": name, "State": state}
    if event_bus:
        request["EventBusName"] = event_bus
    if pattern is not None:
        request["EventPattern"] = _json_text(pattern)
    if schedule:
        request["ScheduleExpression"] = schedule
    if description:
        request["Description"] = description
    arn = str(events.put_rule(**request)["RuleArn"])
    if targets:
        target_request: dict[str, Any] = {"Rule": name, "Targets": targets}
        if event_bus:
            target_request["EventBusName"] = event_bus
        response = events.put_targets(**target_request)
        if response.get("FailedEntryCount"):
            raise TemplateError(f"rule {name}: moto rejected targets {response.get('FailedEntries')}")
    return arn


def create_events_rule(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("Name") or ctx.name(resource.logical_id, 64)
    targets = []
    for target in props.get("Targets") or []:
        converted = dict(target)
        for key in ("Input",):
            if key in converted:
                converted[key] = _json_text(converted[key])
        targets.append(converted)
    arn = put_rule(
        ctx,
        name=name,
        event_bus=props.get("EventBusName"),
        pattern=props.get("EventPattern"),
        schedule=props.get("ScheduleExpression"),
        state=props.get("State", "ENABLED"),
        description=props.get("Description"),
        targets=targets,
    )
    return ResourceRecord(resource.logical_id, resource.type, name, {"Arn": arn})


# ----------------------------------------------------------------------------- SES, Secrets Manager
def create_ses_email_identity(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    identity = props["EmailIdentity"]
    # moto marks every identity it creates as verified, so SendEmail from it succeeds.
    ctx.client("sesv2").create_email_identity(EmailIdentity=identity)
    return ResourceRecord(resource.logical_id, resource.type, identity, {})


def create_ses_template(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    body = dict(props.get("Template") or {})
    body.setdefault("TemplateName", ctx.name(resource.logical_id, 64))
    ctx.client("ses").create_template(Template=body)
    return ResourceRecord(resource.logical_id, resource.type, body["TemplateName"], {})


def create_ses_configuration_set(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("Name") or ctx.name(resource.logical_id, 64)
    ctx.client("ses").create_configuration_set(ConfigurationSet={"Name": name})
    return ResourceRecord(resource.logical_id, resource.type, name, {})


_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_secret_string(spec: Mapping[str, Any]) -> str:
    """Generate a secret value the way Secrets Manager's GenerateSecretString does.

    With SecretStringTemplate and GenerateStringKey the result is the template's JSON object with
    the generated password added under that key; otherwise it is the password alone.
    """
    length = int(spec.get("PasswordLength", 32))
    pools = []
    if not spec.get("ExcludeLowercase"):
        pools.append(string.ascii_lowercase)
    if not spec.get("ExcludeUppercase"):
        pools.append(string.ascii_uppercase)
    if not spec.get("ExcludeNumbers"):
        pools.append(string.digits)
    if not spec.get("ExcludePunctuation"):
        pools.append(_PUNCTUATION)
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    pools = ["".join(c for c in pool if c not in excluded) for pool in pools]
    pools = [pool for pool in pools if pool]
    if spec.get("IncludeSpace"):
        pools.append(" ")
    if not pools:
        raise TemplateError("GenerateSecretString excludes every character")
    alphabet = "".join(pools)
    require_each = spec.get("RequireEachIncludedType", True) is not False
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or length < len(pools) or all(any(c in pool for c in password) for pool in pools):
            break

    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise TemplateError(
            "GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, or neither"
        )
    document = json.loads(template)
    if not isinstance(document, dict):
        raise TemplateError("SecretStringTemplate must be a JSON object")
    document[key] = password
    return json.dumps(document)


def create_secret(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource)
    name = props.get("Name") or ctx.name(resource.logical_id, 256)
    if "SecretString" in props:
        value = _json_text(props["SecretString"])
    elif "GenerateSecretString" in props:
        value = generate_secret_string(props["GenerateSecretString"])
    else:
        value = generate_secret_string({})
    request: dict[str, Any] = {"Name": name, "SecretString": value}
    for key in ("Description", "KmsKeyId"):
        if props.get(key):
            request[key] = props[key]
    if props.get("Tags"):
        request["Tags"] = _tags(props)
    arn = ctx.client("secretsmanager").create_secret(**request)["ARN"]
    return ResourceRecord(resource.logical_id, resource.type, arn, {"Arn": arn, "Id": arn})


# ----------------------------------------------------------------------------- Lambda
def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local runtime runs this function's code from its CodeUri.\n")
    return buffer.getvalue()


def _role_arn(ctx: ProvisionContext, resource: TemplateResource, props: Mapping[str, Any]) -> str:
    role = props.get("Role") or props.get("RoleArn")
    if role:
        return str(role) if str(role).startswith("arn:") else ctx.arn("iam", f"role/{role}", region=False)
    implicit = ctx.records.get(f"{resource.logical_id}Role")
    if implicit is None or implicit.arn is None:
        raise TemplateError(f"{resource.logical_id} has no Role and no generated role")
    return implicit.arn


def create_serverless_function(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource, without=frozenset({"Events", "Policies"}))
    name = props.get("FunctionName") or ctx.name(resource.logical_id, 64)
    handler = props.get("Handler")
    runtime = props.get("Runtime", "python3.13")
    if not handler:
        raise TemplateError(f"{resource.logical_id} has no Handler (in its properties or Globals)")
    environment = text_map((props.get("Environment") or {}).get("Variables"))
    request: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": _role_arn(ctx, resource, props),
        "Handler": handler,
        "Code": {"ZipFile": _dummy_zip()},
        "Timeout": int(props.get("Timeout", 3)),
        "MemorySize": int(props.get("MemorySize", 128)),
        "Environment": {"Variables": environment},
        "Description": props.get("Description", ""),
    }
    if props.get("Architectures"):
        request["Architectures"] = props["Architectures"]
    arn = ctx.client("lambda").create_function(**request)["FunctionArn"]

    code_uri = props.get("CodeUri")
    spec: FunctionSpec | None = None
    note = ""
    if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
        log_group = (props.get("LoggingConfig") or {}).get("LogGroup")
        spec = FunctionSpec(
            logical_id=resource.logical_id,
            function_name=name,
            function_arn=arn,
            code_dir=(ctx.template.base_dir / code_uri).resolve(),
            handler=handler,
            environment=environment,
            memory_mb=request["MemorySize"],
            timeout_seconds=request["Timeout"],
            runtime=runtime,
            log_group_name=log_group,
        )
        if not spec.code_dir.is_dir():
            raise TemplateError(
                f"{resource.logical_id}: CodeUri {code_uri} is not a folder under {ctx.template.base_dir}"
            )
    else:
        note = "CodeUri is not a local folder, so invocations fail with Runtime.LocalCodeMissing"
        logger.warning("function has no local code", extra={"resource": resource.logical_id})
    ctx.register_function(spec, name)
    return ResourceRecord(resource.logical_id, resource.type, name, {"Arn": arn}, note=note)


def create_lambda_function(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    # NOTE: a plain AWS::Lambda::Function has no local folder to import, so it exists in moto
    # but every invocation fails with Runtime.LocalCodeMissing.
    props = ctx.properties(resource)
    name = props.get("FunctionName") or ctx.name(resource.logical_id, 64)
    arn = ctx.client("lambda").create_function(
        FunctionName=name,
        Runtime=props.get("Runtime", "python3.13"),
        Role=_role_arn(ctx, resource, props),
        Handler=props.get("Handler", "index.handler"),
        Code={"ZipFile": _dummy_zip()},
        Timeout=int(props.get("Timeout", 3)),
        MemorySize=int(props.get("MemorySize", 128)),
        Environment={"Variables": text_map((props.get("Environment") or {}).get("Variables"))},
    )["FunctionArn"]
    ctx.register_function(None, name)
    return ResourceRecord(
        resource.logical_id,
        resource.type,
        name,
        {"Arn": arn},
        note="no local code; invocations fail",
    )


# ----------------------------------------------------------------------------- Step Functions
def substitute_definition(text: str, substitutions: Mapping[str, Any]) -> str:
    """Replace `${Key}` placeholders of DefinitionSubstitutions; other `${...}` text stays."""
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", as_text(value))
    return text


def load_definition(
    ctx: ProvisionContext, resource: TemplateResource, props: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the state machine definition with DefinitionSubstitutions applied."""
    substitutions = props.get("DefinitionSubstitutions") or {}
    if "DefinitionUri" in props:
        uri = props["DefinitionUri"]
        if not isinstance(uri, str):
            raise TemplateError(
                f"{resource.logical_id}: a DefinitionUri in S3 cannot be read locally; use a file path"
            )
        path = (ctx.template.base_dir / uri).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"{resource.logical_id}: cannot read DefinitionUri {path}: {exc}") from exc
        source = str(path)
    elif "DefinitionString" in props:
        text, source = str(props["DefinitionString"]), "DefinitionString"
    elif "Definition" in props:
        text, source = json.dumps(props["Definition"]), "Definition"
    else:
        raise TemplateError(f"{resource.logical_id} has no Definition, DefinitionString or DefinitionUri")
    text = substitute_definition(text, substitutions)
    try:
        definition = json.loads(text)
    except ValueError as exc:
        raise TemplateError(
            f"{resource.logical_id}: {source} is not valid JSON after substitutions: {exc}"
        ) from exc
    if not isinstance(definition, dict) or "StartAt" not in definition:
        raise TemplateError(f"{resource.logical_id}: {source} has no StartAt")
    return definition


def create_state_machine(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    props = ctx.properties(resource, without=frozenset({"Events", "Policies"}))
    name = props.get("Name") or props.get("StateMachineName") or ctx.name(resource.logical_id, 80)
    definition = load_definition(ctx, resource, props)
    request: dict[str, Any] = {
        "name": name,
        "definition": json.dumps(definition),
        "roleArn": _role_arn(ctx, resource, props),
        "type": props.get("Type") or props.get("StateMachineType") or "STANDARD",
    }
    if props.get("Tags"):
        tags = props["Tags"]
        pairs = tags.items() if isinstance(tags, dict) else ((t["Key"], t["Value"]) for t in tags)
        request["tags"] = [{"key": str(k), "value": as_text(v)} for k, v in pairs]
    arn = ctx.client("stepfunctions").create_state_machine(**request)["stateMachineArn"]
    return ResourceRecord(resource.logical_id, resource.type, arn, {"Arn": arn, "Name": name})


# ----------------------------------------------------------------------------- not emulated
_SKIPPED_TYPES = {
    "AWS::Serverless::HttpApi": "served by the local HTTP server",
    "AWS::ApiGatewayV2::Api": "served by the local HTTP server",
    "AWS::Serverless::LayerVersion": "the hireproof package is imported from the working tree",
    "AWS::Lambda::LayerVersion": "the hireproof package is imported from the working tree",
    "AWS::Lambda::Permission": "IAM is not enforced locally",
    "AWS::IAM::Policy": "IAM is not enforced locally",
    "AWS::IAM::ManagedPolicy": "IAM is not enforced locally",
    "AWS::IAM::InstanceProfile": "IAM is not enforced locally",
    "AWS::CloudWatch::Alarm": "no metrics are evaluated locally",
    "AWS::CloudWatch::Dashboard": "no metrics are evaluated locally",
    "AWS::Logs::MetricFilter": "no metrics are evaluated locally",
    "AWS::Logs::SubscriptionFilter": "logs are not streamed locally",
    "AWS::SecretsManager::RotationSchedule": "secrets are not rotated locally",
    "AWS::SecretsManager::ResourcePolicy": "IAM is not enforced locally",
    "AWS::SNS::TopicInlinePolicy": "IAM is not enforced locally",
    "AWS::Serverless::Application": "nested applications are not deployed locally",
    "AWS::Serverless::Api": "REST APIs are not served locally",
    "AWS::Cognito::IdentityPool": "the browser's Face Liveness stream goes to AWS only",
    "AWS::Cognito::IdentityPoolRoleAttachment": "the browser's Face Liveness stream goes to AWS only",
}


def skip_resource(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    """Record a resource that is not created, with placeholder values for references to it."""
    reason = _SKIPPED_TYPES.get(resource.type)
    if reason is None:
        reason = "this resource type is not emulated by the local runtime"
        logger.warning(
            "resource type not emulated",
            extra={"resource": resource.logical_id, "type": resource.type},
        )
    else:
        logger.debug(
            "resource skipped",
            extra={"resource": resource.logical_id, "type": resource.type, "reason": reason},
        )

    name = ctx.name(resource.logical_id, 64)
    service = resource.type.split("::")[1].lower() if resource.type.count("::") >= 2 else "local"
    attributes: dict[str, Any] = {"Arn": ctx.arn(service, f"{resource.type.split('::')[-1].lower()}/{name}")}
    physical: Any = name
    if resource.type in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
        physical = hashlib.sha256(f"{ctx.template.stack_name}/{resource.logical_id}".encode()).hexdigest()[
            :10
        ]
        attributes = {"ApiEndpoint": ctx.api_url, "ApiId": physical}
    elif resource.type in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
        physical = ctx.arn("lambda", f"layer:{name}:1")
        attributes = {"Arn": physical}
    return ResourceRecord(
        resource.logical_id, resource.type, physical, attributes, created=False, note=reason
    )


CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": create_kms_key,
    "AWS::KMS::Alias": create_kms_alias,
    "AWS::Logs::LogGroup": create_log_group,
    "AWS::IAM::Role": create_iam_role,
    "AWS::DynamoDB::Table": create_dynamodb_table,
    "AWS::Serverless::SimpleTable": create_simple_table,
    "AWS::S3::Bucket": create_s3_bucket,
    "AWS::S3::BucketPolicy": create_s3_bucket_policy,
    "AWS::SQS::Queue": create_sqs_queue,
    "AWS::SQS::QueuePolicy": create_sqs_queue_policy,
    "AWS::SNS::Topic": create_sns_topic,
    "AWS::SNS::Subscription": create_sns_subscription,
    "AWS::SNS::TopicPolicy": create_sns_topic_policy,
    "AWS::Events::EventBus": create_event_bus,
    "AWS::Events::Rule": create_events_rule,
    "AWS::SES::EmailIdentity": create_ses_email_identity,
    "AWS::SES::Template": create_ses_template,
    "AWS::SES::ConfigurationSet": create_ses_configuration_set,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::Serverless::Function": create_serverless_function,
    "AWS::Lambda::Function": create_lambda_function,
    "AWS::Serverless::StateMachine": create_state_machine,
    "AWS::StepFunctions::StateMachine": create_state_machine,
}


def provision(ctx: ProvisionContext, resource: TemplateResource) -> ResourceRecord:
    """Create one resource, or record it as skipped, and return its record."""
    creator = CREATORS.get(resource.type, skip_resource)
    try:
        return creator(ctx, resource)
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(
            f"creating {resource.logical_id} ({resource.type}) in moto failed: {type(exc).__name__}: {exc}"
        ) from exc


def template_path_default() -> Path:
    """Return the repository's template.yaml (the package lives in layers/common/hireproof)."""
    return Path(__file__).resolve().parents[4] / "template.yaml"
