"""OpenID Connect client registrations: secret hashes, redirect URIs, scopes and client credentials."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from oauthlib.common import Request
from pydantic import ValidationError

from hireproof.oidc import clients
from hireproof.oidc.clients import (
    ClientRegistration,
    TokenEndpointAuthMethod,
    check_redirect_uri,
    hash_secret,
    new_client_id,
    new_client_secret,
    verify_secret,
)
from hireproof.oidc.validator import client_credentials

SECRET = "s3cr3t-value_for-tests"


def registration(**overrides: Any) -> ClientRegistration:
    fields: dict[str, Any] = {
        "client_id": "client-1",
        "name": "Access gateway",
        "secret_hash": "scrypt$16384$8$1$AAAA$AAAA",
        "redirect_uris": ("https://team.example.test/cdn-cgi/access/callback",),
        "allowed_scopes": ("openid", "email"),
        "token_endpoint_auth_method": "client_secret_basic",
        "created_at": "2026-12-01T00:00:00Z",
        "updated_at": "2026-12-01T00:00:00Z",
    }
    fields.update(overrides)
    return ClientRegistration(**fields)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# ----------------------------------------------------------------- secret hashes
def test_hash_secret_verifies_same_secret() -> None:
    encoded = hash_secret(SECRET)

    assert verify_secret(SECRET, encoded)


def test_verify_secret_rejects_other_secret() -> None:
    encoded = hash_secret(SECRET)

    assert not verify_secret(SECRET + "x", encoded)
    assert not verify_secret("", encoded)


def test_hash_secret_stores_parameters_and_new_salt() -> None:
    first, second = hash_secret(SECRET), hash_secret(SECRET)

    assert first != second
    assert first.startswith(f"scrypt${clients.SCRYPT_N}${clients.SCRYPT_R}${clients.SCRYPT_P}$")
    assert SECRET not in first


def test_verify_secret_reads_cost_from_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hash made with other parameters still verifies after the defaults change.
    monkeypatch.setattr(clients, "SCRYPT_N", 2**10)
    old = hash_secret(SECRET)
    monkeypatch.undo()

    assert old.startswith("scrypt$1024$")
    assert verify_secret(SECRET, old)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$AAAA",
        "scrypt$3$8$1$AA$AA",
    ],
)
def test_verify_secret_rejects_malformed_hash(encoded: str) -> None:
    assert not verify_secret(SECRET, encoded)


def test_new_ids_and_secrets_are_url_safe() -> None:
    ids = {new_client_id() for _ in range(20)}
    secrets = {new_client_secret() for _ in range(20)}

    assert len(ids) == 20
    assert len(secrets) == 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", value) for value in secrets)


# ----------------------------------------------------------------- registrations
@pytest.mark.parametrize(
    "uri",
    ["https://rp.example.test/callback", "https://rp.example.test/cb?tenant=1", "http://127.0.0.1:8080/cb"],
)
def test_check_redirect_uri_accepts(uri: str) -> None:
    assert check_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://rp.example.test/cb", "must use https"),
        ("https://rp.example.test/cb#frag", "fragment"),
        ("https://rp.example.test/cb#", "fragment"),
        ("/relative/cb", "not an absolute URI"),
        ("custom-scheme:/cb", "not an absolute URI"),
    ],
)
def test_check_redirect_uri_rejects(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_redirect_uri(uri)


def test_registration_requires_openid_scope() -> None:
    with pytest.raises(ValidationError, match="must include openid"):
        registration(allowed_scopes=("email",))


def test_registration_rejects_unknown_scope() -> None:
    with pytest.raises(ValidationError, match="unsupported scopes"):
        registration(allowed_scopes=("openid", "offline_access"))


def test_registration_orders_scopes() -> None:
    assert registration(allowed_scopes=("groups", "openid", "email")).allowed_scopes == (
        "openid",
        "email",
        "groups",
    )


def test_registration_rejects_duplicate_redirect_uri() -> None:
    uri = "https://rp.example.test/cb"
    with pytest.raises(ValidationError, match="duplicate"):
        registration(redirect_uris=(uri, uri))


def test_registration_rejects_unknown_auth_method() -> None:
    with pytest.raises(ValidationError):
        registration(token_endpoint_auth_method="private_key_jwt")


# ----------------------------------------------------------------- token endpoint credentials
def token_request(
    *, body: str = "grant_type=authorization_code", authorization: str | None = None
) -> Request:
    headers = {"Authorization": authorization} if authorization else {}
    return Request("https://idp.example.test/oauth2/token", "POST", body, headers)


def test_client_credentials_basic() -> None:
    request = token_request(authorization=basic("client-1", SECRET))

    assert client_credentials(request) == ("client-1", SECRET, TokenEndpointAuthMethod.CLIENT_SECRET_BASIC)


def test_client_credentials_basic_parts_are_form_decoded() -> None:
    # RFC 6749 section 2.3.1: the id and secret are form-encoded before base64.
    request = token_request(authorization=basic("client%3A1", "a+b%2Fc"))

    assert client_credentials(request) == ("client:1", "a b/c", TokenEndpointAuthMethod.CLIENT_SECRET_BASIC)


def test_client_credentials_post() -> None:
    request = token_request(body=f"grant_type=authorization_code&client_id=client-1&client_secret={SECRET}")

    assert client_credentials(request) == ("client-1", SECRET, TokenEndpointAuthMethod.CLIENT_SECRET_POST)


def test_client_credentials_basic_with_matching_body_id() -> None:
    request = token_request(body="client_id=client-1", authorization=basic("client-1", SECRET))

    assert client_credentials(request) == ("client-1", SECRET, TokenEndpointAuthMethod.CLIENT_SECRET_BASIC)


@pytest.mark.parametrize(
    ("body", "authorization"),
    [
        pytest.param(
            f"client_id=client-1&client_secret={SECRET}", basic("client-1", SECRET), id="two-methods"
        ),
        pytest.param("client_id=client-2", basic("client-1", SECRET), id="other-body-id"),
        pytest.param("", "Basic not-base64!", id="malformed-base64"),
        pytest.param("", "Basic " + base64.b64encode(b"no-colon").decode(), id="no-colon"),
        pytest.param("", "Bearer abc", id="bearer-scheme"),
        pytest.param("client_id=client-1", None, id="no-secret"),
        pytest.param("", None, id="nothing"),
    ],
)
def test_client_credentials_rejects(body: str, authorization: str | None) -> None:
    assert client_credentials(token_request(body=body, authorization=authorization)) is None
