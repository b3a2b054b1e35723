"""Registrations of the OpenID Connect clients (relying parties) that may log people in.

A client is confidential: it authenticates at the token endpoint with the secret issued at
registration, by HTTP Basic (`client_secret_basic`) or in the form body
(`client_secret_post`), whichever its registration names. Only the secret's scrypt hash is
stored, with its own random salt and the cost parameters, so that the parameters can be raised
later without invalidating stored hashes. The operator command prints the secret once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from enum import StrEnum
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

OPENID_SCOPE = "openid"
# `openid` is required in every request; the others unlock claims (see hireproof.oidc.claims).
SUPPORTED_SCOPES: tuple[str, ...] = ("openid", "email", "profile", "groups")

# scrypt cost parameters: 16 MiB of memory and tens of milliseconds per check (an estimate for
# one Lambda vCPU). Secrets are 256-bit random strings, so the cost only guards against a
# weakness in that assumption, such as a secret that an operator replaced by hand.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
SECRET_BYTES = 32
CLIENT_ID_BYTES = 16
_HASH_SCHEME = "scrypt"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

ClientName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TokenEndpointAuthMethod(StrEnum):
    """Client authentication method at the token endpoint (OpenID Connect Core, section 9)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name, not a secret)
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 (a method name, not a secret)


def check_redirect_uri(uri: str) -> str:
    """Return `uri` unchanged, or raise ValueError unless it is an absolute https URI.

    http is accepted for 127.0.0.1, ::1 and localhost only, for relying parties under test.
    A fragment is rejected, because the authorization response adds its parameters to the query.
    """
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"redirect URI {uri!r} is not an absolute URI")
    if parts.fragment or uri.endswith("#"):
        raise ValueError(f"redirect URI {uri!r} must not have a fragment")
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return uri
    raise ValueError(f"redirect URI {uri!r} must use https (http only for 127.0.0.1 or localhost)")


class ClientRegistration(BaseModel):
    """One registered client: its id, name, secret hash, redirect URIs, scopes and auth method."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    name: ClientName
    secret_hash: Annotated[str, StringConstraints(min_length=1)]
    redirect_uris: tuple[str, ...] = Field(min_length=1)
    allowed_scopes: tuple[str, ...] = Field(min_length=1)
    token_endpoint_auth_method: TokenEndpointAuthMethod
    disabled: bool = False
    created_at: str
    updated_at: str

    @field_validator("redirect_uris")
    @classmethod
    def _redirect_uris_are_absolute(cls, uris: tuple[str, ...]) -> tuple[str, ...]:
        for uri in uris:
            check_redirect_uri(uri)
        if len(set(uris)) != len(uris):
            raise ValueError("redirect URIs contain a duplicate")
        return uris

    @field_validator("allowed_scopes")
    @classmethod
    def _scopes_are_supported(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(scopes) - set(SUPPORTED_SCOPES))
        if unknown:
            raise ValueError(f"unsupported scopes {unknown}; choose from {list(SUPPORTED_SCOPES)}")
        if OPENID_SCOPE not in scopes:
            raise ValueError("allowed scopes must include openid")
        # A fixed order keeps stored registrations and printed listings stable.
        return tuple(scope for scope in SUPPORTED_SCOPES if scope in scopes)


def new_client_id() -> str:
    """Return a new random client id: 32 lower-case hex digits, safe in URLs and Basic auth."""
    return secrets.token_hex(CLIENT_ID_BYTES)


def new_client_secret() -> str:
    """Return a new random client secret: 256 bits, URL-safe base64 without padding."""
    return secrets.token_urlsafe(SECRET_BYTES)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must exceed 128 * n * r bytes, which OpenSSL's 32 MiB default covers for n = 2**14.
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES)


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """Return `scrypt$N$r$p$salt$hash` for a client secret, with a new random salt by default."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"{_HASH_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, encoded: str) -> bool:
    """Return whether `secret` matches a hash from `hash_secret`; a malformed hash never matches."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != _HASH_SCHEME:
        return False
    try:
        n, r, p = (int(value) for value in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
        actual = _scrypt(secret, salt, n, r, p)
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def unknown_client_hash() -> str:
    """Return a hash that no secret matches, checked for unknown client ids.

    Checking it costs what checking a real client's secret costs, so the time of a failed
    authentication does not tell whether a client id exists.
    """
    return hash_secret(new_client_secret())
