"""FakeAccessGateway over a real 127.0.0.1 socket, with JwksCache's default HTTPS fetch.

The gateway's tokens are validated as the evaluate endpoint validates them, through a JwksCache
that trusts the fakes' throwaway CA. Decisions signed by KmsDecisionSigner under moto go back
through `accept()`, which checks them as Access does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hireproof.access.settings import gateway_from_env
from hireproof.access.signing import KmsDecisionSigner, decision_token
from hireproof.access.tokens import GatewaySettings, validate_gateway_token
from hireproof.errors import GatewayTokenInvalidError, JwksUnavailableError
from hireproof.jwks import MAX_DOCUMENT_BYTES, JwksCache
from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse
from hireproof.local.fakes.access_gateway import CERTS_PATH, DecisionRejectedError, FakeAccessGateway
from hireproof.local.stack import LocalStack

pytestmark = pytest.mark.workflow

EMAIL = "renee.dubois@example.com"
SignerFactory = Callable[..., KmsDecisionSigner]


@pytest.fixture
def gateway() -> Iterator[FakeAccessGateway]:
    fake = FakeAccessGateway()
    fake.start()
    yield fake
    fake.stop()


def settings_for(gateway: FakeAccessGateway) -> GatewaySettings:
    return GatewaySettings(certs_url=gateway.certs_url, issuer=gateway.issuer, audience=gateway.audience)


def cache_for(gateway: FakeAccessGateway, **options: Any) -> JwksCache:
    return JwksCache(gateway.certs_url, ca_bundle=gateway.ca_bundle_path, **options)


@pytest.fixture
def kms(local_stack: LocalStack) -> SignerFactory:
    """Return a factory of KMS signers whose keys live in the local stack's moto server.

    A `mock_aws()` here would reset moto's backends, which the session's local stacks share.
    """
    client = local_stack.client("kms")

    def kms_signer(*, keys: int = 1) -> KmsDecisionSigner:
        ids = [
            client.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
            for _ in range(keys)
        ]
        return KmsDecisionSigner(ids, client=client)

    return kms_signer


class KeysEndpoint(FakeHttpsService):
    """HireProof's keys URL in miniature: serves one JWKS document at /access/keys."""

    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__()
        self.document = document

    def parameter_overrides(self) -> dict[str, str]:
        return {}

    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.path != "/access/keys":
            return FakeResponse(404, {"error": "not found"})
        return FakeResponse(200, self.document)


# ----------------------------------------------------------------- the certs URL
def test_certs_url_serves_rsa_jwks(gateway: FakeAccessGateway) -> None:
    response = requests.get(gateway.certs_url, verify=gateway.ca_bundle_path, timeout=5)

    assert response.status_code == 200
    document = response.json()
    [key] = document["keys"]
    assert key["kid"] == gateway.signing_kid
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key
    assert document["public_cert"]["kid"] == gateway.signing_kid
    assert document["public_cert"]["cert"].startswith("-----BEGIN CERTIFICATE-----")


def test_certs_url_rejects_other_paths(gateway: FakeAccessGateway) -> None:
    missing = requests.get(
        f"{gateway.base_url}/cdn-cgi/access/get-identity", verify=gateway.ca_bundle_path, timeout=5
    )
    posted = requests.post(gateway.certs_url, verify=gateway.ca_bundle_path, timeout=5)

    assert missing.status_code == 404
    assert posted.status_code == 405


def test_parameter_overrides_match_gateway_settings(
    gateway: FakeAccessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = gateway.parameter_overrides()
    monkeypatch.setenv("ACCESS_TEAM_DOMAIN", overrides["AccessTeamDomain"])
    monkeypatch.setenv("ACCESS_AUDIENCE", overrides["AccessAudience"])
    monkeypatch.setenv("ACCESS_CA_BUNDLE", overrides["AccessCaBundle"])

    settings, ca_bundle = gateway_from_env()

    assert settings.issuer == gateway.issuer
    assert settings.certs_url == gateway.certs_url
    assert settings.audience == gateway.audience
    assert ca_bundle == gateway.ca_bundle_path


# ----------------------------------------------------------------- request tokens through JwksCache
def test_cache_validates_minted_token(gateway: FakeAccessGateway) -> None:
    cache = cache_for(gateway)
    token, nonce = gateway.mint(EMAIL, groups=["engineering"], country="FR", ip="203.0.113.7")

    claims = validate_gateway_token(token, settings=settings_for(gateway), jwks=cache)

    assert claims["nonce"] == nonce
    identity = claims["identity"]
    assert identity["email"] == EMAIL
    assert [group["name"] for group in identity["groups"]] == ["engineering"]
    assert identity["geo"] == {"country": "FR"}
    assert identity["ip"] == "203.0.113.7"
    assert claims["aud"] == [gateway.audience]
    assert claims["exp"] - claims["iat"] == 60
    assert len(gateway.calls_to("GET", CERTS_PATH)) == 1


def test_cache_follows_gateway_rotation(gateway: FakeAccessGateway) -> None:
    cache = cache_for(gateway, refetch_cooldown_seconds=0)
    settings = settings_for(gateway)
    old_token, _ = gateway.mint(EMAIL)
    validate_gateway_token(old_token, settings=settings, jwks=cache)

    gateway.rotate()
    new_token, nonce = gateway.mint(EMAIL)
    claims = validate_gateway_token(new_token, settings=settings, jwks=cache)
    validate_gateway_token(old_token, settings=settings, jwks=cache)

    assert claims["nonce"] == nonce
    assert jwt.get_unverified_header(new_token)["kid"] == gateway.signing_kid
    assert len(gateway.calls_to("GET", CERTS_PATH)) == 2


def test_forged_token_rejected(gateway: FakeAccessGateway) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token, _ = gateway.mint(EMAIL, key=forger)

    with pytest.raises(GatewayTokenInvalidError) as caught:
        validate_gateway_token(token, settings=settings_for(gateway), jwks=cache_for(gateway))

    assert caught.value.reason == "bad_signature"


def test_minted_overrides_and_headers_apply(gateway: FakeAccessGateway) -> None:
    token, _ = gateway.mint(EMAIL, overrides={"nbf": None, "aud": "single"}, headers={"kid": "chosen"})

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["kid"] == "chosen"
    assert "nbf" not in claims
    assert claims["aud"] == "single"


def test_untrusted_certificate_unavailable(gateway: FakeAccessGateway) -> None:
    cache = JwksCache(gateway.certs_url)

    with pytest.raises(JwksUnavailableError):
        cache.key_for(gateway.signing_kid)
    assert cache.fetch_count == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"error": "internal"}), (302, None), (200, b"x" * (MAX_DOCUMENT_BYTES + 1)), (200, b"not json")],
)
def test_bad_certs_response_unavailable(gateway: FakeAccessGateway, status: int, body: Any) -> None:
    gateway.inject_fault(status=status, body=body, path_prefix=CERTS_PATH)
    cache = cache_for(gateway)

    with pytest.raises(JwksUnavailableError):
        cache.key_for(gateway.signing_kid)


def test_slow_certs_url_times_out(gateway: FakeAccessGateway) -> None:
    gateway.inject_fault(delay_seconds=3.5, path_prefix=CERTS_PATH)
    cache = cache_for(gateway)
    started = time.monotonic()

    with pytest.raises(JwksUnavailableError):
        cache.key_for(gateway.signing_kid)

    assert time.monotonic() - started < 3.5, "the 3 s timeout must end the request before the delay"


# ----------------------------------------------------------------- decisions through accept()
def test_accept_round_trips_kms_decision(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer = kms()
    request_token, nonce = gateway.mint(EMAIL)
    claims = validate_gateway_token(request_token, settings=settings_for(gateway), jwks=cache_for(gateway))
    now = int(time.time())

    answer = decision_token(signer, success=True, nonce=claims["nonce"], now=now)
    accepted = gateway.accept(answer, nonce, signer.jwks())

    assert accepted["success"] is True
    assert accepted["nonce"] == nonce
    assert accepted["exp"] == now + 60
    assert gateway.decisions == [accepted]


def test_accept_fetches_keys_url(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer = kms(keys=2)
    endpoint = KeysEndpoint(signer.jwks())
    endpoint.start()
    try:
        denial = decision_token(signer, success=False, nonce="n-1", now=int(time.time()))
        accepted = gateway.accept(
            denial, "n-1", f"{endpoint.base_url}/access/keys", verify=endpoint.ca_bundle_path
        )
    finally:
        endpoint.stop()

    assert accepted["success"] is False
    assert len(endpoint.calls_to("GET", "/access/keys")) == 1


def test_accept_rejects_wrong_nonce(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer = kms()
    answer = decision_token(signer, success=True, nonce="nonce-a", now=int(time.time()))

    with pytest.raises(DecisionRejectedError) as caught:
        gateway.accept(answer, "nonce-b", signer.jwks())

    assert caught.value.reason == "nonce_mismatch"


def test_accept_rejects_expired_decision(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer = kms()
    now = int(time.time())
    answer = decision_token(signer, success=True, nonce="nonce-a", now=now)

    with pytest.raises(DecisionRejectedError) as caught:
        gateway.accept(answer, "nonce-a", signer.jwks(), now=now + 60)

    assert caught.value.reason == "expired"


def test_accept_rejects_unpublished_key(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer, other = kms(), kms()
    answer = decision_token(signer, success=True, nonce="nonce-a", now=int(time.time()))

    with pytest.raises(DecisionRejectedError) as caught:
        gateway.accept(answer, "nonce-a", other.jwks())

    assert caught.value.reason == "unknown_kid"


def test_accept_rejects_non_rsa_key_set(gateway: FakeAccessGateway, kms: SignerFactory) -> None:
    signer = kms()
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(
        ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True
    )
    jwks = {"keys": [*signer.jwks()["keys"], {**ec_jwk, "kid": "ec"}]}
    answer = decision_token(signer, success=True, nonce="nonce-a", now=int(time.time()))

    with pytest.raises(DecisionRejectedError) as caught:
        gateway.accept(answer, "nonce-a", jwks)

    assert caught.value.reason == "keys_not_rsa"


def test_accept_rejects_keys_url_off_loopback(gateway: FakeAccessGateway) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        gateway.accept("a.b.c", "nonce-a", "https://keys.example.com/access/keys")
