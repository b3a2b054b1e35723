"""template.yaml: the Cognito identity pool and role behind the browser's Face Liveness stream.

The hire's browser gets guest credentials from the pool, so the role must allow nothing but
starting the video stream, and only identities of this pool may assume it.
"""

from __future__ import annotations

from typing import Any

import pytest

from hireproof.local.template import Template, TemplateError
from template_resources import load_template

LIVENESS_RESOURCES = ("LivenessIdentityPool", "LivenessBrowserRole", "LivenessIdentityPoolRoles")


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template({"VerificationEngine": "rekognition"})


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def test_browser_role_allows_only_stream_start(template: Template) -> None:
    policies = template.resource("LivenessBrowserRole").properties["Policies"]

    statements = [s for policy in policies for s in _statements(policy["PolicyDocument"])]
    assert len(statements) == 1
    assert statements[0]["Effect"] == "Allow"
    assert statements[0]["Action"] == "rekognition:StartFaceLivenessSession"
    assert statements[0]["Resource"] == "*"
    assert "ManagedPolicyArns" not in template.resource("LivenessBrowserRole").properties


def test_browser_role_trusts_pool_guests_only(template: Template) -> None:
    trust = _statements(template.resource("LivenessBrowserRole").properties["AssumeRolePolicyDocument"])

    assert len(trust) == 1
    assert trust[0]["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    assert trust[0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = trust[0]["Condition"]
    assert condition["StringEquals"] == {
        "cognito-identity.amazonaws.com:aud": {"Ref": "LivenessIdentityPool"}
    }
    assert condition["ForAnyValue:StringLike"] == {"cognito-identity.amazonaws.com:amr": "unauthenticated"}


def test_identity_pool_has_guests_and_no_providers(template: Template) -> None:
    properties = template.resource("LivenessIdentityPool").properties

    assert properties["AllowUnauthenticatedIdentities"] is True
    assert properties["AllowClassicFlow"] is False
    for provider in ("CognitoIdentityProviders", "SupportedLoginProviders", "OpenIdConnectProviderARNs"):
        assert provider not in properties


def test_pool_attaches_role_to_guests_only(template: Template) -> None:
    properties = template.resource("LivenessIdentityPoolRoles").properties

    assert properties["IdentityPoolId"] == {"Ref": "LivenessIdentityPool"}
    assert properties["Roles"] == {"unauthenticated": {"Fn::GetAtt": ["LivenessBrowserRole", "Arn"]}}


def test_api_returns_pool_id_to_page(template: Template) -> None:
    variables = template.resource("VerificationApiFunction").properties["Environment"]["Variables"]

    assert variables["LIVENESS_IDENTITY_POOL_ID"] == {
        "Fn::If": ["UsesRekognition", {"Ref": "LivenessIdentityPool"}, ""]
    }


def test_page_function_knows_engine(template: Template) -> None:
    variables = template.resource("VerificationPageFunction").properties["Environment"]["Variables"]

    assert variables["VERIFICATION_ENGINE"] == {"Ref": "VerificationEngine"}


@pytest.mark.parametrize("logical_id", LIVENESS_RESOURCES)
def test_local_engine_omits_liveness_resource(logical_id: str) -> None:
    local = load_template({"VerificationEngine": "local"})

    with pytest.raises(TemplateError):
        local.resource(logical_id)
