"""Record Decision's metrics: one Decisions count by purpose and outcome, one DecisionReasons per reason.

The dashboard's SEARCH expressions select these dimension sets, so a change here must change
template.yaml's OperationsDashboard too.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from sessions_support import load_handler


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "hireproof")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HireProof")
    return load_handler("record_decision")


def _emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def _metric(document: dict[str, Any]) -> tuple[str, list[str]]:
    (definition,) = document["_aws"]["CloudWatchMetrics"]
    (dimensions,) = definition["Dimensions"]
    assert definition["Namespace"] == "HireProof"
    return definition["Metrics"][0]["Name"], sorted(dimensions)


def test_decision_counted_by_purpose_and_outcome(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    handler._count_decision("onboarding", "NEEDS_REVIEW", ["document_expired", "shipping_address_reused"])
    handler.metrics.flush_metrics()

    documents = _emf_lines(capsys.readouterr().out)
    decisions = [d for d in documents if _metric(d)[0] == "Decisions"]
    reasons = [d for d in documents if _metric(d)[0] == "DecisionReasons"]
    assert len(decisions) == 1
    assert _metric(decisions[0])[1] == ["outcome", "purpose", "service"]
    assert (decisions[0]["purpose"], decisions[0]["outcome"], decisions[0]["Decisions"]) == (
        "onboarding",
        "NEEDS_REVIEW",
        [1.0],
    )
    assert sorted(d["reason"] for d in reasons) == ["document_expired", "shipping_address_reused"]
    assert {tuple(_metric(d)[1]) for d in reasons} == {("reason", "service")}


def test_passed_decision_has_no_reason_metrics(
    handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    handler._count_decision("device_recipient", "PASSED", [])
    handler.metrics.flush_metrics()

    documents = _emf_lines(capsys.readouterr().out)
    assert [_metric(d)[0] for d in documents] == ["Decisions"]
    assert documents[0]["purpose"] == "device_recipient"
