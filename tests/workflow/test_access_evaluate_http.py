"""POST /access/evaluate over a real socket: the fake gateway's tokens, HireProof's signed responses.

The stack runs template.yaml with the default fakes, so AccessTeamDomain and AccessAudience point
at the fake gateway and the handler fetches the gateway's keys over HTTPS on 127.0.0.1. Every
response is checked by the fake as the gateway checks it, against GET /access/keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof.local.fakes.access_gateway import FakeAccessGateway
from hireproof.local.stack import LocalStack

pytestmark = pytest.mark.workflow

PERSON_ID = "generic-ACCESS-1"
EMAIL = "access.person@example.com"


@pytest.fixture(scope="module")
def gateway(local_stack: LocalStack) -> FakeAccessGateway:
    return next(s for s in local_stack.services if isinstance(s, FakeAccessGateway))


@pytest.fixture(scope="module")
def active_person(local_stack: LocalStack) -> str:
    """Store an ACTIVE onboarding and its access state, as a finished onboarding leaves them."""
    table = local_stack.resource("dynamodb").Table(local_stack.physical_id("OnboardingTable"))
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    table.put_item(
        Item={
            "pk": PERSON_ID,
            "sk": "HIRE",
            "onboarding_id": PERSON_ID,
            "state": "ACTIVE",
            "work_email": EMAIL,
            "hire": {"locale": "en", "home_address": {"country": "US"}},
            "updated_at": now,
        }
    )
    table.put_item(
        Item={
            "pk": PERSON_ID,
            "sk": "ACCESS",
            "access_status": "ACTIVE",
            "risk_level": "LOW",
            "risk_event_time": "1970-01-01T00:00:00.000+00:00",
            "risk_version": 0,
            "step_up_required": False,
            "verified_at": now,
        }
    )
    return EMAIL


def _post(stack: LocalStack, body: bytes | str) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(
        f"{stack.api_url}/access/evaluate",
        data=data,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decoded_claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_evaluate_allows_active_person_with_signed_answer(
    local_stack: LocalStack, gateway: FakeAccessGateway, active_person: str
) -> None:
    token, nonce = gateway.mint(active_person, country="US")

    response = _post(local_stack, json.dumps({"token": token}))

    assert response.status_code == 200, response.text
    claims = gateway.accept(response.json()["token"], nonce, f"{local_stack.api_url}/access/keys")
    assert claims["success"] is True
    assert claims["nonce"] == nonce
    assert claims["exp"] - claims["iat"] == 60


def test_evaluate_denies_unknown_email_with_signed_answer(
    local_stack: LocalStack, gateway: FakeAccessGateway
) -> None:
    token, nonce = gateway.mint("nobody.here@example.com")

    response = _post(local_stack, json.dumps({"token": token}))

    assert response.status_code == 200, response.text
    claims = gateway.accept(response.json()["token"], nonce, f"{local_stack.api_url}/access/keys")
    assert claims["success"] is False


def _alg_none(gateway: FakeAccessGateway, email: str) -> str:
    token, _ = gateway.mint(email)
    claims = _decoded_claims(token)
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': gateway.signing_kid})}.{_b64(claims)}."


def _hs256_with_public_key(gateway: FakeAccessGateway, email: str) -> str:
    token, _ = gateway.mint(email)
    claims = _decoded_claims(token)
    public = gateway.jwks()["keys"][-1]
    pem = jwt.PyJWK(public).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT refuses a PEM as an HMAC secret, so the forger signs by hand.
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': gateway.signing_kid})}.{_b64(claims)}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


ATTACKS: dict[str, Any] = {
    "alg_none": _alg_none,
    "hs256_signed_with_public_key": _hs256_with_public_key,
    "wrong_audience": lambda g, e: g.mint(e, audience="another-application")[0],
    "wrong_issuer": lambda g, e: g.mint(e, issuer="https://evil.cloudflareaccess.com")[0],
    "expired": lambda g, e: g.mint(e, now=int(time.time()) - 600)[0],
    "issued_far_in_future": lambda g, e: g.mint(e, now=int(time.time()) + 3600)[0],
    "unknown_kid": lambda g, e: g.mint(e, headers={"kid": "never-published"})[0],
    "forged_with_other_key": lambda g, e: g.mint(
        e, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )[0],
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_evaluate_rejects_attack_token_without_a_decision(
    local_stack: LocalStack, gateway: FakeAccessGateway, active_person: str, attack: str
) -> None:
    token = ATTACKS[attack](gateway, active_person)

    response = _post(local_stack, json.dumps({"token": token}))

    assert response.status_code == 401, (attack, response.text)
    document = response.json()
    assert document["error"] == "GatewayTokenInvalidError"
    assert token not in response.text
    assert active_person not in response.text


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"{}", 422, "token"),
        (b"", 422, "body"),
        (json.dumps({"token": "a" * 40_000}).encode(), 413, "body"),
    ],
    ids=["malformed_json", "missing_token", "empty_body", "oversized_body"],
)
def test_evaluate_rejects_bad_body_naming_the_field(
    local_stack: LocalStack, body: bytes, status: int, field: str
) -> None:
    response = _post(local_stack, body)

    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert "Traceback" not in response.text


def test_keys_publish_rsa_jwks(local_stack: LocalStack) -> None:
    response = requests.get(f"{local_stack.api_url}/access/keys", timeout=30)

    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in key
