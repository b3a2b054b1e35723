"""identity_provider_from_env: adapter selection, the secret read and its errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities import parameters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from hireproof import aws
from hireproof.errors import ConfigurationError
from hireproof.identity import StagedUser
from hireproof.identity.entra import EntraProvider
from hireproof.identity.factory import identity_provider_from_env, reset_identity_provider_cache
from hireproof.identity.identity_center import IdentityCenterProvider
from hireproof.identity.okta import OktaProvider
from hireproof.local.fakes.entra import FakeEntra
from hireproof.local.fakes.okta import FakeOkta

ENV_NAMES = (
    "IDENTITY_PROVIDER",
    "IDENTITY_STORE_ID",
    "IDENTITY_PROVIDER_URL",
    "IDENTITY_PROVIDER_SECRET_ARN",
    "IDENTITY_PROVIDER_CA_BUNDLE",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        aws.reset_clients()
        parameters.clear_caches()
        reset_identity_provider_cache()
        yield monkeypatch
    aws.reset_clients()
    parameters.clear_caches()
    reset_identity_provider_cache()


def store_secret(value: Any) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    text = value if isinstance(value, str) else json.dumps(value)
    return str(client.create_secret(Name="idp", SecretString=text)["ARN"])


def rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_factory_requires_provider(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="IDENTITY_PROVIDER is not set"):
        identity_provider_from_env()


def test_factory_rejects_unknown_provider(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "ldap")

    with pytest.raises(ConfigurationError, match="must be one of identity_center, okta, entra"):
        identity_provider_from_env()


def test_factory_builds_identity_center(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "identity_center")
    env.setenv("IDENTITY_STORE_ID", "d-1234567890")
    env.setenv("IDENTITY_PROVIDER_URL", "https://d-1234567890.awsapps.com/start")

    provider = identity_provider_from_env()

    assert isinstance(provider, IdentityCenterProvider)
    assert provider is identity_provider_from_env()
    assert provider.find_user_by_email("nobody@example.com") is None


def test_factory_identity_center_needs_store_id(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "identity_center")

    with pytest.raises(ConfigurationError, match="IDENTITY_STORE_ID"):
        identity_provider_from_env()


def test_factory_builds_okta_from_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "okta")
    env.setenv("IDENTITY_PROVIDER_URL", "https://example.okta.com")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN",
        store_secret(
            {"client_id": "0oa1", "private_key": rsa_private_pem(), "scopes": "okta.users.manage"}
        ),
    )

    provider = identity_provider_from_env()

    assert isinstance(provider, OktaProvider)
    assert provider is identity_provider_from_env()


def test_factory_okta_rejects_client_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "okta")
    env.setenv("IDENTITY_PROVIDER_URL", "https://example.okta.com")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN",
        store_secret({"client_id": "0oa1", "client_secret": "s3cr3t-value-123"}),
    )

    with pytest.raises(ConfigurationError, match="private_key_jwt") as raised:
        identity_provider_from_env()

    assert "s3cr3t-value-123" not in str(raised.value)


def test_factory_okta_rejects_bad_private_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "okta")
    env.setenv("IDENTITY_PROVIDER_URL", "https://example.okta.com")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN",
        store_secret({"client_id": "0oa1", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA"}),
    )

    with pytest.raises(ConfigurationError, match="not a PEM or JWK RSA private key") as raised:
        identity_provider_from_env()

    assert "AAAA" not in str(raised.value)


def test_factory_okta_accepts_jwk_private_key(env: pytest.MonkeyPatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk["kid"] = "key-1"
    env.setenv("IDENTITY_PROVIDER", "okta")
    env.setenv("IDENTITY_PROVIDER_URL", "https://example.okta.com")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN", store_secret({"client_id": "0oa1", "private_key": jwk})
    )

    provider = identity_provider_from_env()

    assert isinstance(provider, OktaProvider)


def test_factory_builds_entra_with_defaults(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "entra")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN",
        store_secret({"client_id": "app", "client_secret": "s3cr3t", "tenant_id": "contoso"}),
    )

    provider = identity_provider_from_env()

    assert isinstance(provider, EntraProvider)
    assert provider._graph_url == "https://graph.microsoft.com/v1.0"
    assert provider._api.token_url == "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"


def test_factory_entra_needs_tenant_or_token_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "entra")
    env.setenv(
        "IDENTITY_PROVIDER_SECRET_ARN",
        store_secret({"client_id": "app", "client_secret": "s3cr3t"}),
    )

    with pytest.raises(ConfigurationError, match="tenant_id or token_url"):
        identity_provider_from_env()


def test_factory_rejects_non_json_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "entra")
    env.setenv("IDENTITY_PROVIDER_SECRET_ARN", store_secret("plain-text-secret-value"))

    with pytest.raises(ConfigurationError, match="not JSON") as raised:
        identity_provider_from_env()

    assert "plain-text-secret-value" not in str(raised.value)


def test_factory_needs_secret_arn(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "okta")
    env.setenv("IDENTITY_PROVIDER_URL", "https://example.okta.com")

    with pytest.raises(ConfigurationError, match="IDENTITY_PROVIDER_SECRET_ARN"):
        identity_provider_from_env()


def test_factory_reads_secret_once_per_max_age(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDENTITY_PROVIDER", "entra")
    arn = store_secret({"client_id": "app", "client_secret": "one", "tenant_id": "contoso"})
    env.setenv("IDENTITY_PROVIDER_SECRET_ARN", arn)
    first = identity_provider_from_env()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=arn,
        SecretString=json.dumps(
            {"client_id": "app", "client_secret": "two", "tenant_id": "contoso"}
        ),
    )

    assert identity_provider_from_env() is first
    parameters.clear_caches()
    assert identity_provider_from_env() is not first


# Template parameter of each fake override, and the environment variable it becomes.
PARAMETER_ENV = {
    "IdentityProvider": "IDENTITY_PROVIDER",
    "IdentityProviderUrl": "IDENTITY_PROVIDER_URL",
    "IdentityProviderCaBundle": "IDENTITY_PROVIDER_CA_BUNDLE",
}


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("fake_class", [FakeOkta, FakeEntra])
def test_factory_uses_fake_as_service(
    env: pytest.MonkeyPatch, fake_class: type[FakeOkta] | type[FakeEntra]
) -> None:
    fake = fake_class()
    overrides = fake.start()
    try:
        for parameter, value in overrides.items():
            env.setenv(PARAMETER_ENV[parameter], value)
        env.setenv("IDENTITY_PROVIDER_SECRET_ARN", store_secret(fake.secret_value()))
        staged = StagedUser(
            user_name="jane.doe@example.com",
            given_name="Jane",
            family_name="Doe",
            display_name="Jane Doe",
            work_email="jane.doe@example.com",
        )

        provider = identity_provider_from_env()
        user_id = provider.stage_user(staged)
        provider.activate_user(user_id)

        assert provider.name == overrides["IdentityProvider"]
        assert provider.find_user_by_email(staged.user_name) == user_id
        assert user_id in fake.users
    finally:
        fake.stop()
