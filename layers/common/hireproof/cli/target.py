"""The stack a command works on: a deployed CloudFormation stack or the local stack of `make serve`.

A deployed stack is found by name with CloudFormation's DescribeStacks (for the ApiUrl output)
and ListStackResources (for the physical id of every resource; DescribeStackResources returns
at most 100, and a translated HireProof stack has more). The local stack is read from the JSON
file that `make serve` writes (see `hireproof.local.description`), which names the same things
plus the moto endpoint and the local dummy credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from hireproof import aws
from hireproof.cli.errors import CommandError

LOCAL_STACK_FILE = Path("build") / "local-stack.json"
LOCAL_ENVIRONMENT_VARIABLE = "HIREPROOF_LOCAL"

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)

# Settings that would point the product's clients away from the local stack while a command runs.
_AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack: logical id, CloudFormation type and physical id (what Ref returns)."""

    logical_id: str
    type: str
    physical_id: str


@dataclass
class Target:
    """Everything a command needs to reach one stack's resources and its HTTP API."""

    stack_name: str
    region: str
    session: boto3.session.Session
    resources: dict[str, StackResource]
    api_url: str | None = None
    endpoint_url: str | None = None
    """The moto server's URL for the local stack; None for AWS's own endpoints."""
    local: bool = False
    profile: str | None = None
    local_function_environments: dict[str, dict[str, str]] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """Return a boto3 client for this stack's account, region and endpoint."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=_CONFIG
            )
        return self._clients[service]

    def table(self, logical_id: str) -> Any:
        """Return a DynamoDB Table resource for one of the stack's tables."""
        resource = self.session.resource("dynamodb", endpoint_url=self.endpoint_url, config=_CONFIG)
        return resource.Table(self.physical_id(logical_id))

    def physical_id(self, logical_id: str) -> str:
        """Return what `Ref` returns for a resource, or raise CommandError naming the stack."""
        resource = self.resources.get(logical_id)
        if resource is None:
            raise CommandError(
                f"stack {self.stack_name} has no resource {logical_id}; "
                "deploy the current template.yaml or check --stack"
            )
        return resource.physical_id

    def of_type(self, resource_type: str) -> list[StackResource]:
        """Return the stack's resources of one CloudFormation type, by logical id."""
        return sorted(
            (r for r in self.resources.values() if r.type == resource_type), key=lambda r: r.logical_id
        )

    def require_api_url(self) -> str:
        """Return the HTTP API's base URL, or raise CommandError when the stack has none."""
        if not self.api_url:
            raise CommandError(
                f"stack {self.stack_name} has no ApiUrl output; deploy the current template.yaml"
            )
        return self.api_url.rstrip("/")

    def signing_credentials(self) -> ReadOnlyCredentials:
        """Return the credentials that sign HTTP API requests with SigV4."""
        credentials = self.session.get_credentials()
        if credentials is None:
            raise CommandError(
                "no AWS credentials found; pass --profile, or run `aws configure` or `aws sso login`"
            )
        return credentials.get_frozen_credentials()

    def caller_arn(self) -> str:
        """Return the ARN of the caller's identity, recorded as the actor of audited changes."""
        return str(self.client("sts").get_caller_identity()["Arn"])

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Return a deployed function's environment variables, to run its domain code here."""
        if self.local:
            environment = self.local_function_environments.get(logical_id)
            if environment is None:
                raise CommandError(
                    f"the local stack file names no function {logical_id}; restart `make serve`"
                )
            return dict(environment)
        configuration = self.client("lambda").get_function_configuration(
            FunctionName=self.physical_id(logical_id)
        )
        settings = configuration.get("Environment") or {}
        if "Error" in settings:
            # Variables encrypted with a customer managed key come back only with kms:Decrypt on it.
            raise CommandError(
                f"cannot read the environment of {logical_id}: {settings['Error'].get('Message', '')}; "
                "the caller needs kms:Decrypt on the stack's DataKey"
            )
        return {str(k): str(v) for k, v in (settings.get("Variables") or {}).items()}

    @contextlib.contextmanager
    def product_environment(self, *function_logical_ids: str) -> Iterator[None]:
        """Run `hireproof` domain code in this process as the named functions would run it.

        Sets the functions' environment variables (a later function's value wins) and the AWS
        settings of this target (profile and region, or the local endpoint and dummy
        credentials), drops the product's cached clients, and restores everything on exit.
        """
        settings: dict[str, str | None] = {}
        for logical_id in function_logical_ids:
            settings.update(self.function_environment(logical_id))
        # The operator's terminal gets warnings only; the audit trail records what was done.
        settings.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true"})
        settings["AWS_REGION"] = settings["AWS_DEFAULT_REGION"] = self.region
        if self.local:
            for name in _AWS_SETTINGS:
                settings.setdefault(name, None)
            frozen = self.signing_credentials()
            settings["AWS_ENDPOINT_URL"] = self.endpoint_url
            settings["AWS_ACCESS_KEY_ID"] = frozen.access_key
            settings["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        elif self.profile:
            settings["AWS_PROFILE"] = self.profile

        saved = {name: os.environ.get(name) for name in settings}
        _apply(settings)
        aws.reset_clients()
        try:
            yield
        finally:
            _apply(saved)
            aws.reset_clients()


def _apply(settings: Mapping[str, str | None]) -> None:
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def from_stack(stack_name: str, *, profile: str | None, region: str | None) -> Target:
    """Find a deployed stack by name and return its Target."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise CommandError(f"profile {profile} is not in the AWS config files; check --profile") from exc
    if not session.region_name:
        raise CommandError("no AWS region is set; pass --region or set AWS_REGION")
    cloudformation = session.client("cloudformation", config=_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        resources: dict[str, StackResource] = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for summary in page["StackResourceSummaries"]:
                if summary.get("ResourceStatus") == "DELETE_COMPLETE" or not summary.get(
                    "PhysicalResourceId"
                ):
                    continue
                resources[summary["LogicalResourceId"]] = StackResource(
                    summary["LogicalResourceId"], summary["ResourceType"], summary["PhysicalResourceId"]
                )
    except NoCredentialsError as exc:
        raise CommandError(
            "no AWS credentials found; pass --profile, or run `aws configure` or `aws sso login`"
        ) from exc
    except NoRegionError as exc:
        raise CommandError("no AWS region is set; pass --region or set AWS_REGION") from exc
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            raise CommandError(
                f"stack {stack_name} not found in {session.region_name}; "
                "check --stack, --region and --profile"
            ) from exc
        raise
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}
    return Target(
        stack_name=stack_name,
        region=session.region_name,
        session=session,
        resources=resources,
        api_url=outputs.get("ApiUrl") or None,
        profile=profile,
    )


def from_local(path: Path) -> Target:
    """Read the local stack's description that `make serve` writes and return its Target."""
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CommandError(
            f"no local stack file at {path}; start the local stack with `make serve`, "
            "or pass --local-file FILE with the file it printed"
        ) from exc
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the local stack file {path}: {exc}; restart `make serve`") from exc
    try:
        credentials = description["credentials"]
        region = str(description["region"])
        session = boto3.session.Session(
            aws_access_key_id=credentials["access_key_id"],
            aws_secret_access_key=credentials["secret_access_key"],
            region_name=region,
        )
        resources = {
            logical_id: StackResource(logical_id, str(item["type"]), str(item["physical_id"]))
            for logical_id, item in description["resources"].items()
        }
        functions = {
            logical_id: {str(k): str(v) for k, v in item.get("environment", {}).items()}
            for logical_id, item in description.get("functions", {}).items()
        }
        return Target(
            stack_name=str(description["stack_name"]),
            region=region,
            session=session,
            resources=resources,
            api_url=description.get("api_url"),
            endpoint_url=description.get("endpoint_url"),
            local=True,
            local_function_environments=functions,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise CommandError(
            f"the local stack file {path} lacks {exc}; restart `make serve` to write it again"
        ) from exc
