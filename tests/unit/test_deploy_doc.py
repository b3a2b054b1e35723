"""docs/deploy.md keeps up with template.yaml: every parameter and every alarm is described."""

from __future__ import annotations

import pytest

from template_resources import ROOT, load_template

DEPLOY_GUIDE = ROOT / "docs" / "deploy.md"
TEMPLATE = load_template()


@pytest.mark.parametrize("parameter", sorted(TEMPLATE.document["Parameters"]))
def test_deploy_guide_describes_parameter(parameter: str) -> None:
    assert f"`{parameter}`" in DEPLOY_GUIDE.read_text(encoding="utf-8"), (
        f"docs/deploy.md does not describe the template parameter {parameter}; add it to a parameter table"
    )


@pytest.mark.parametrize(
    "alarm", sorted(r.logical_id for r in TEMPLATE.resources_of_type("AWS::CloudWatch::Alarm"))
)
def test_deploy_guide_names_alarm(alarm: str) -> None:
    assert f"`{alarm}`" in DEPLOY_GUIDE.read_text(encoding="utf-8"), (
        f"docs/deploy.md does not name the alarm {alarm}; add it to the alarm table"
    )
