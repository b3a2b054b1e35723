"""Validation of the token an access gateway sends to an external evaluation endpoint.

Cloudflare Access posts `{"token": "<JWT>"}` to the evaluate URL after the user has logged in.
The JWT is RS256, signed with the account's Access key, whose public half is listed at
`https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`. Its claims carry `iss`, `aud`,
`exp`, `iat`, a per-request `nonce` that the signed decision must echo, and `identity`, the
user's e-mail, groups, device and location data.

Every failure raises GatewayTokenInvalidError with a short machine `reason`:

- `malformed`: not a JWT, a header without kid, or a claim of the wrong type.
- `bad_algorithm`: any `alg` other than RS256, rejected before any key lookup.
- `unknown_kid`: the gateway's key set has no key with the token's kid.
- `bad_signature`: the signature does not verify with that key.
- `wrong_issuer`, `wrong_audience`: `iss` differs from the configured issuer, or `aud`
  (a string or a list) does not contain the configured audience.
- `expired`, `not_yet_valid`, `issued_in_future`: `exp`, `nbf` or `iat` is outside the
  leeway, which is at most 30 seconds.
- `missing_claim`: `iss`, `aud`, `exp`, `iat`, `nonce`, `identity` or `identity.email` is absent.

An unreachable key set raises JwksUnavailableError instead, because the token may be valid.
Messages name the failed check and never contain token contents or e-mail addresses.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hireproof.errors import ConfigurationError, GatewayTokenInvalidError, SigningKeyNotFoundError
from hireproof.jwks import ALGORITHM, JwksCache, check_jwks_url

MAX_LEEWAY_SECONDS = 30
MAX_TOKEN_CHARS = 32 * 1024
MAX_NONCE_CHARS = 512
MAX_KID_CHARS = 256


class GatewaySettings(BaseModel):
    """Settings of one access gateway: its certs URL and the `iss` and `aud` its tokens must carry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certs_url: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    leeway_seconds: float = Field(default=MAX_LEEWAY_SECONDS, ge=0, le=MAX_LEEWAY_SECONDS)

    @field_validator("certs_url")
    @classmethod
    def _secure_certs_url(cls, value: str) -> str:
        try:
            check_jwks_url(value)
        except ConfigurationError as exc:
            raise ValueError(exc.message) from exc
        return value


def validate_gateway_token(
    token: str, *, settings: GatewaySettings, jwks: JwksCache, now: float | None = None
) -> dict[str, Any]:
    """Verify a gateway request token's signature and claims, and return the claims.

    `jwks` must be the cache of `settings.certs_url`. `now` is Unix time in seconds and
    defaults to the current time.
    """
    if jwks.url != settings.certs_url:
        raise ConfigurationError("the JWKS cache is not the one of the gateway's certs URL")
    key = _signing_key(token, jwks)
    claims = _verified_claims(token, key)
    current = time.time() if now is None else now
    _check_issuer_and_audience(claims, settings)
    _check_times(claims, current, settings.leeway_seconds)
    _check_request_claims(claims)
    return claims


def _invalid(reason: str, message: str, field: str | None = None) -> GatewayTokenInvalidError:
    return GatewayTokenInvalidError(message, reason=reason, field=field)


def _signing_key(token: str, jwks: JwksCache) -> jwt.PyJWK:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise _invalid("malformed", f"the gateway token is empty or longer than {MAX_TOKEN_CHARS} characters")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise _invalid("malformed", "the gateway token is not a JWT") from exc

    # The algorithm is checked before any key lookup, so "none", HS256 with the public key
    # as the secret and every other algorithm fail without touching the key set.
    if header.get("alg") != ALGORITHM:
        raise _invalid("bad_algorithm", "the gateway token's algorithm is not RS256", "alg")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_CHARS:
        raise _invalid("malformed", "the gateway token's header has no valid kid", "kid")
    try:
        return jwks.key_for(kid)
    except SigningKeyNotFoundError as exc:
        raise _invalid("unknown_kid", "no key of the gateway has the token's kid", "kid") from exc


def _verified_claims(token: str, key: jwt.PyJWK) -> dict[str, Any]:
    # PyJWT checks the signature only: it cannot take `now`, so the claims are checked below.
    options: dict[str, Any] = {
        "verify_signature": True,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
        "require": [],
    }
    try:
        claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=[ALGORITHM], options=options)  # type: ignore[arg-type]
    except jwt.InvalidSignatureError as exc:
        raise _invalid("bad_signature", "the gateway token's signature does not verify") from exc
    except jwt.InvalidTokenError as exc:
        raise _invalid("malformed", "the gateway token cannot be decoded") from exc
    return claims


def _check_issuer_and_audience(claims: dict[str, Any], settings: GatewaySettings) -> None:
    if "iss" not in claims:
        raise _invalid("missing_claim", "the gateway token has no iss claim", "iss")
    if claims["iss"] != settings.issuer:
        raise _invalid("wrong_issuer", "the gateway token's issuer is not the configured one", "iss")

    if "aud" not in claims:
        raise _invalid("missing_claim", "the gateway token has no aud claim", "aud")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not all(isinstance(audience, str) for audience in audiences):
        raise _invalid(
            "malformed", "the gateway token's aud claim is not a string or a list of strings", "aud"
        )
    if settings.audience not in audiences:
        raise _invalid("wrong_audience", "the gateway token is not for the configured audience", "aud")


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    expires_at = _timestamp(claims, "exp", required=True)
    # NOTE: Cloudflare documents iat on its application tokens but lists no complete claim set for
    # the external evaluation token. If a real request token lacks iat, it fails with missing_claim.
    issued_at = _timestamp(claims, "iat", required=True)
    not_before = _timestamp(claims, "nbf", required=False)
    if expires_at is not None and expires_at <= now - leeway:
        raise _invalid("expired", "the gateway token has expired", "exp")
    if issued_at is not None and issued_at > now + leeway:
        raise _invalid("issued_in_future", "the gateway token's iat is in the future", "iat")
    if not_before is not None and not_before > now + leeway:
        raise _invalid("not_yet_valid", "the gateway token is not valid yet (nbf)", "nbf")


def _timestamp(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    if name not in claims:
        if required:
            raise _invalid("missing_claim", f"the gateway token has no {name} claim", name)
        return None
    value = claims[name]
    # bool is an int in Python, but `true` is no NumericDate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("malformed", f"the gateway token's {name} claim is not a number", name)
    return float(value)


def _check_request_claims(claims: dict[str, Any]) -> None:
    nonce = claims.get("nonce")
    if nonce is None or nonce == "":
        raise _invalid("missing_claim", "the gateway token has no nonce claim", "nonce")
    if not isinstance(nonce, str) or len(nonce) > MAX_NONCE_CHARS:
        raise _invalid(
            "malformed",
            f"the gateway token's nonce is not a string of at most {MAX_NONCE_CHARS} characters",
            "nonce",
        )

    identity = claims.get("identity")
    if identity is None:
        raise _invalid("missing_claim", "the gateway token has no identity claim", "identity")
    if not isinstance(identity, dict):
        raise _invalid("malformed", "the gateway token's identity claim is not an object", "identity")
    email = identity.get("email")
    if not isinstance(email, str) or not email:
        raise _invalid(
            "missing_claim", "the gateway token's identity has no e-mail address", "identity.email"
        )
