"""Decision signers against moto's KMS and Secrets Manager: tokens verify with the published JWKS.

moto 5.2 signs with real RSA keys for KMS `Sign` (MessageType RAW) and returns the real public
key from `GetPublicKey`, so a token verifies here exactly as the gateway would verify it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from hireproof import aws
from hireproof.access.signing import (
    KmsDecisionSigner,
    SecretDecisionSigner,
    decision_token,
    jwk_thumbprint,
    public_jwk,
    signer_from_env,
)
from hireproof.errors import ConfigurationError

NOW = 1_796_115_600
NONCE = "nonce-7f3a+/=ü"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("ACCESS_SIGNING_KEY_IDS", raising=False)
    monkeypatch.delenv("ACCESS_SIGNING_SECRET_ARN", raising=False)
    aws.reset_clients()
    with mock_aws():
        yield
    aws.reset_clients()


def create_kms_key(key_spec: str = "RSA_2048", usage: str = "SIGN_VERIFY") -> str:
    return str(boto3.client("kms").create_key(KeySpec=key_spec, KeyUsage=usage)["KeyMetadata"]["KeyId"])


def kms_public_key(key_id: str) -> rsa.RSAPublicKey:
    der = boto3.client("kms").get_public_key(KeyId=key_id)["PublicKey"]
    key = serialization.load_der_public_key(der)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def verify(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a decision as the gateway does (key by kid, RS256 only) and return (header, claims)."""
    header = jwt.get_unverified_header(token)
    [jwk] = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], options={"verify_exp": False})
    return header, claims


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# ----------------------------------------------------------------- JWK helpers
def test_thumbprint_matches_rfc_7638_example() -> None:
    # The RSA key and thumbprint of RFC 7638, section 3.1.
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
            "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
            "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
            "kEgU8awapJzKnqDKgw"
        ),
    }

    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_public_jwk_round_trips_through_pyjwt() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    jwk = public_jwk(key.public_key())

    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert (jwk["alg"], jwk["use"], jwk["kty"]) == ("RS256", "sig", "RSA")
    assert jwt.PyJWK(jwk).key.public_numbers() == key.public_key().public_numbers()


# ----------------------------------------------------------------- KMS
def test_kms_token_verifies_with_published_jwk(aws_env: None) -> None:
    key_id = create_kms_key()
    signer = KmsDecisionSigner([key_id])

    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)
    header, claims = verify(token, signer.jwks())

    assert header["alg"] == "RS256"
    assert header["kid"] == signer.current_kid
    assert claims == {"success": True, "nonce": NONCE, "iat": NOW, "exp": NOW + 60}


def test_kms_kid_is_thumbprint_of_kms_key(aws_env: None) -> None:
    key_id = create_kms_key()
    signer = KmsDecisionSigner([key_id])

    [jwk] = signer.jwks()["keys"]

    expected = public_jwk(kms_public_key(key_id))
    assert jwk == expected
    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}


def test_kms_denial_keeps_nonce_and_ttl(aws_env: None) -> None:
    signer = KmsDecisionSigner([create_kms_key()])

    token = decision_token(signer, success=False, nonce=NONCE, now=NOW, extra={"reasons": ["not_verified"]})
    _, claims = verify(token, signer.jwks())

    assert claims["success"] is False
    assert claims["nonce"] == NONCE
    assert claims["exp"] - claims["iat"] == 60
    assert claims["reasons"] == ["not_verified"]


def test_kms_rotation_publishes_both_signs_current(aws_env: None) -> None:
    current, previous = create_kms_key(), create_kms_key()
    signer = KmsDecisionSigner([current, previous])

    jwks = signer.jwks()
    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)
    header, _ = verify(token, jwks)

    kids = [jwk["kid"] for jwk in jwks["keys"]]
    assert kids == [public_jwk(kms_public_key(current))["kid"], public_jwk(kms_public_key(previous))["kid"]]
    assert header["kid"] == kids[0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(jwks["keys"][1]).key, algorithms=["RS256"], options={"verify_exp": False})


def test_kms_public_keys_fetched_once(aws_env: None) -> None:
    client = boto3.client("kms")
    calls: list[str] = []
    client.meta.events.register("before-call.kms.GetPublicKey", lambda **_: calls.append("GetPublicKey"))
    signer = KmsDecisionSigner([create_kms_key(), create_kms_key()], client=client)

    for _ in range(3):
        decision_token(signer, success=True, nonce=NONCE, now=NOW)
        signer.jwks()

    assert calls == ["GetPublicKey", "GetPublicKey"]


def test_kms_signs_with_raw_message_type(aws_env: None) -> None:
    client = boto3.client("kms")
    requests: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.kms.Sign", lambda params, **_: requests.append(params))
    key_id = create_kms_key()
    signer = KmsDecisionSigner([key_id], client=client)

    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)

    [request] = requests
    assert request["KeyId"] == key_id
    assert request["MessageType"] == "RAW"
    assert request["SigningAlgorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"
    assert request["Message"] == token.rsplit(".", 1)[0].encode()


@pytest.mark.parametrize(
    ("key_spec", "usage"), [("ECC_NIST_P256", "SIGN_VERIFY"), ("SYMMETRIC_DEFAULT", None)]
)
def test_kms_non_rsa_key_rejected(aws_env: None, key_spec: str, usage: str | None) -> None:
    client = boto3.client("kms")
    arguments = {"KeySpec": key_spec, **({"KeyUsage": usage} if usage else {})}
    key_id = client.create_key(**arguments)["KeyMetadata"]["KeyId"]
    signer = KmsDecisionSigner([key_id])

    with pytest.raises(ConfigurationError, match=key_id):
        signer.jwks()


def test_kms_unknown_key_is_configuration_error(aws_env: None) -> None:
    signer = KmsDecisionSigner(
        ["arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"]
    )

    with pytest.raises(ConfigurationError, match="GetPublicKey"):
        decision_token(signer, success=True, nonce=NONCE, now=NOW)


def test_kms_oversized_claims_rejected(aws_env: None) -> None:
    signer = KmsDecisionSigner([create_kms_key()])

    with pytest.raises(ValueError, match="4096"):
        decision_token(signer, success=True, nonce=NONCE, now=NOW, extra={"padding": "x" * 4000})


@pytest.mark.parametrize("key_ids", [[], ["", " "], ["key-a", "key-a"]])
def test_kms_signer_needs_distinct_key_ids(key_ids: list[str]) -> None:
    with pytest.raises(ConfigurationError):
        KmsDecisionSigner(key_ids)


# ----------------------------------------------------------------- Secrets Manager
@pytest.fixture
def signing_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def create_secret(document: Any) -> str:
    value = document if isinstance(document, str) else json.dumps(document)
    return str(boto3.client("secretsmanager").create_secret(Name="access-signing", SecretString=value)["ARN"])


def test_secret_token_verifies_with_published_jwk(
    aws_env: None, signing_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, _ = signing_keys
    signer = SecretDecisionSigner(create_secret({"current": private_pem(current)}))

    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)
    header, claims = verify(token, signer.jwks())

    assert header["alg"] == "RS256"
    assert header["kid"] == public_jwk(current.public_key())["kid"]
    assert claims == {"success": True, "nonce": NONCE, "iat": NOW, "exp": NOW + 60}
    assert len(signer.jwks()["keys"]) == 1


def test_secret_rotation_publishes_both_signs_current(
    aws_env: None, signing_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, previous = signing_keys
    arn = create_secret({"current": private_pem(current), "previous": private_pem(previous)})
    signer = SecretDecisionSigner(arn)

    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)
    header, _ = verify(token, signer.jwks())

    kids = [jwk["kid"] for jwk in signer.jwks()["keys"]]
    assert kids == [public_jwk(current.public_key())["kid"], public_jwk(previous.public_key())["kid"]]
    assert header["kid"] == kids[0]
    assert all("d" not in jwk for jwk in signer.jwks()["keys"]), "no private member is published"


def test_secret_read_once_within_cache_time(
    aws_env: None, signing_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, replacement = signing_keys
    arn = create_secret({"current": private_pem(current)})
    now = [0.0]
    signer = SecretDecisionSigner(arn, cache_seconds=300, clock=lambda: now[0])
    first_kid = signer.current_kid
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"current": private_pem(replacement)})
    )

    now[0] = 299.0
    cached_kid = signer.current_kid
    now[0] = 300.0
    reloaded_kid = signer.current_kid

    assert cached_kid == first_kid
    assert reloaded_kid == public_jwk(replacement.public_key())["kid"]


def test_secret_failed_reload_keeps_keys(
    aws_env: None, signing_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, _ = signing_keys
    arn = create_secret({"current": private_pem(current)})
    now = [0.0]
    signer = SecretDecisionSigner(arn, cache_seconds=300, clock=lambda: now[0])
    first_kid = signer.current_kid
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="broken")
    now[0] = 300.0

    token = decision_token(signer, success=True, nonce=NONCE, now=NOW)
    header, _ = verify(token, signer.jwks())

    assert header["kid"] == first_kid


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        {"previous": "x"},
        {"current": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
        {"current": 42},
    ],
)
def test_secret_invalid_document_rejected(aws_env: None, document: Any) -> None:
    signer = SecretDecisionSigner(create_secret(document))

    with pytest.raises(ConfigurationError) as caught:
        signer.jwks()
    assert "AAAA" not in caught.value.message


def test_secret_small_rsa_key_rejected(aws_env: None) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (must be rejected)
    signer = SecretDecisionSigner(create_secret({"current": private_pem(weak)}))

    with pytest.raises(ConfigurationError, match="2048"):
        signer.jwks()


def test_secret_missing_is_configuration_error(aws_env: None) -> None:
    signer = SecretDecisionSigner("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf")

    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        signer.jwks()


# ----------------------------------------------------------------- selection and claims
def test_signer_from_env_prefers_kms(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    current, previous = create_kms_key(), create_kms_key()
    monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", f" {current} , {previous} ,")
    monkeypatch.setenv("ACCESS_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")

    signer = signer_from_env()

    assert isinstance(signer, KmsDecisionSigner)
    assert signer.key_ids == (current, previous)


def test_signer_from_env_falls_back_to_secret(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", " ")
    monkeypatch.setenv("ACCESS_SIGNING_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")

    signer = signer_from_env()

    assert isinstance(signer, SecretDecisionSigner)
    assert signer.secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"


def test_signer_from_env_error_names_variables(aws_env: None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signer_from_env()

    assert "ACCESS_SIGNING_KEY_IDS" in caught.value.message
    assert "ACCESS_SIGNING_SECRET_ARN" in caught.value.message


@pytest.mark.parametrize("claim", ["success", "nonce", "iat", "exp"])
def test_decision_extra_cannot_replace_claims(aws_env: None, claim: str) -> None:
    signer = KmsDecisionSigner([create_kms_key()])

    with pytest.raises(ValueError, match=claim):
        decision_token(signer, success=False, nonce=NONCE, now=NOW, extra={claim: True})


def test_decision_ttl_must_be_positive(aws_env: None) -> None:
    signer = KmsDecisionSigner([create_kms_key()])

    with pytest.raises(ValueError, match="ttl"):
        decision_token(signer, success=True, nonce=NONCE, now=NOW, ttl=0)
