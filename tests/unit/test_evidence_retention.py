"""The evidence bucket's retention and read rules in template.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hireproof.local.template import load_document

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_document(TEMPLATE)["Resources"]
    return resources


def test_evidence_expires_after_one_day() -> None:
    rules = _resources()["EvidenceBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    assert [rule["ExpirationInDays"] for rule in rules if rule["Status"] == "Enabled"] == [1]


def test_evidence_readable_only_by_verification_role() -> None:
    statements = _resources()["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny" and s["Action"] == "s3:GetObject"]

    assert len(denies) == 1
    assert denies[0]["Principal"] == "*"
    condition = denies[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert condition == {"Fn::GetAtt": ["VerificationApiFunctionRole", "Arn"]}
