"""Translate template.yaml into plain CloudFormation JSON, offline, for checkov.

Runs in .checkov-venv (aws-sam-translator lives there, not in .venv). checkov reads
the SAM template itself only in part: the IAM roles and policies that SAM generates
from `Policies` exist only after translation, so IAM wildcard findings need this step.

Usage: sam_to_cfn.py [TEMPLATE] [OUTPUT]   (defaults: template.yaml build/template.cfn.json)
Exit status 1 with `<template>: <problem>` lines when the translator rejects the template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

# Any commercial region gives the same translation; the value only fills
# AWS::Region/AWS::Partition while translating and is never contacted.
REGION = "us-east-1"
PARTITION = "aws"

# Properties that must be S3 locations for the translator. `sam build`/`sam package`
# upload local paths; offline we point them at a bucket that is never read.
ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
}
OFFLINE_BUCKET = "hireproof-offline-translation"


def offline_managed_policy_map() -> dict[str, str]:
    """Name → ARN of the AWS managed policies, from the map bundled with the translator.

    The translator falls back to this callable instead of listing policies through IAM,
    so translation never calls AWS. Names missing here are caught by
    `unresolved_managed_policies`.
    """
    return dict(get_bundled_managed_policy_map(PARTITION) or {})


def point_artifacts_at_s3(template: dict[str, Any]) -> None:
    """Replace local artifact paths with S3 URIs so the translator accepts them."""
    function_globals = template.get("Globals", {}).get("Function", {})
    sections = [("AWS::Serverless::Function", function_globals)]
    sections += [
        (resource.get("Type", ""), resource.get("Properties", {}))
        for resource in template.get("Resources", {}).values()
        if isinstance(resource, dict)
    ]
    for resource_type, properties in sections:
        for name in ARTIFACT_PROPERTIES.get(resource_type, ()):
            value = properties.get(name)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[name] = f"s3://{OFFLINE_BUCKET}/{value.strip('/')}"


def unresolved_managed_policies(cfn: dict[str, Any]) -> list[str]:
    """Managed policy names that the translator could not turn into ARNs."""
    problems = []
    for logical_id, resource in cfn.get("Resources", {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            if isinstance(arn, str) and not arn.startswith("arn:"):
                problems.append(f"{logical_id}: unknown AWS managed policy {arn!r}")
    return problems


def translate(template: dict[str, Any]) -> dict[str, Any]:
    """Return the CloudFormation translation of a parsed SAM template.

    Resource Metadata is passed through to every generated resource, so a checkov
    skip on a function also covers the role SAM generates for it.
    """
    ArnGenerator.BOTO_SESSION_REGION_NAME = REGION
    point_artifacts_at_s3(template)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=REGION),
    )
    cfn: dict[str, Any] = translator.translate(
        template,
        parameter_values={},
        passthrough_metadata=True,
        get_managed_policy_map=offline_managed_policy_map,
    )
    return cfn


def main(argv: list[str]) -> int:
    source = Path(argv[1] if len(argv) > 1 else "template.yaml")
    target = Path(argv[2] if len(argv) > 2 else "build/template.cfn.json")
    template = yaml_parse(source.read_text(encoding="utf-8"))
    try:
        cfn = translate(template)
    except InvalidDocumentException as exc:
        for cause in exc.causes:
            print(f"{source}: {cause.message}")
        return 1
    problems = unresolved_managed_policies(cfn)
    for problem in problems:
        print(f"{source}: {problem}")
    if problems:
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(cfn, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
