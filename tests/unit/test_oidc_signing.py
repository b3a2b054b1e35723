"""ID token signing keys: the OIDC variables pick KMS keys apart from the access gateway's, with rotation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from hireproof import aws
from hireproof.access.signing import KmsDecisionSigner, SecretDecisionSigner, jwk_thumbprint
from hireproof.errors import ConfigurationError
from hireproof.oidc import signing

CLAIMS = {"iss": "https://idp.example.test", "sub": "sub-1", "aud": "client-1", "iat": 1, "exp": 2}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in (
        "ACCESS_SIGNING_KEY_IDS",
        "ACCESS_SIGNING_SECRET_ARN",
        "OIDC_SIGNING_KEY_IDS",
        "OIDC_SIGNING_SECRET_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    aws.reset_clients()
    with mock_aws():
        yield
    aws.reset_clients()


def create_kms_key() -> str:
    kms = boto3.client("kms")
    return str(kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"])


def thumbprint_of(key_id: str) -> str:
    """RFC 7638 thumbprint of a KMS key, from its public key as KMS returns it."""
    der = boto3.client("kms").get_public_key(KeyId=key_id)["PublicKey"]
    public = serialization.load_der_public_key(der)
    assert isinstance(public, rsa.RSAPublicKey)
    return jwk_thumbprint(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)))


def test_signer_uses_oidc_variables_not_access_ones(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    access_key, oidc_key = create_kms_key(), create_kms_key()
    monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", access_key)
    monkeypatch.setenv("OIDC_SIGNING_KEY_IDS", oidc_key)

    signer = signing.signer_from_env()

    assert isinstance(signer, KmsDecisionSigner)
    assert signer.key_ids == (oidc_key,)
    assert [key["kid"] for key in signer.jwks()["keys"]] == [thumbprint_of(oidc_key)]


def test_rotation_publishes_both_keys_and_first_signs(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = create_kms_key(), create_kms_key()
    monkeypatch.setenv("OIDC_SIGNING_KEY_IDS", f"{old},{new}")
    signer = signing.signer_from_env()

    token = signer.sign(CLAIMS)
    keys = {key["kid"]: key for key in signer.jwks()["keys"]}
    header = jwt.get_unverified_header(token)

    assert set(keys) == {thumbprint_of(old), thumbprint_of(new)}
    assert header["kid"] == thumbprint_of(old)
    assert header["alg"] == "RS256"
    verified = jwt.decode(
        token,
        jwt.PyJWK(keys[header["kid"]]).key,
        algorithms=["RS256"],
        audience="client-1",
        options={"verify_exp": False},
    )
    assert verified["sub"] == "sub-1"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            jwt.PyJWK(keys[thumbprint_of(new)]).key,
            algorithms=["RS256"],
            options={"verify_aud": False},
        )


def test_signer_falls_back_to_oidc_secret(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", create_kms_key())
    monkeypatch.setenv("OIDC_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc")

    signer = signing.signer_from_env()

    assert isinstance(signer, SecretDecisionSigner)
    assert signer.secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc"


def test_missing_keys_error_names_oidc_variables(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", create_kms_key())

    with pytest.raises(ConfigurationError) as caught:
        signing.signer_from_env()

    assert "OIDC_SIGNING_KEY_IDS" in caught.value.message
    assert "OIDC_SIGNING_SECRET_ARN" in caught.value.message
    assert "ID tokens" in caught.value.message
