"""A local identity verification provider that speaks OpenID Connect, as Nametag and its peers do.

It serves, over HTTPS on 127.0.0.1 (see `_service`):

- `/.well-known/openid-configuration`: the discovery document;
- `/jwks`: the public keys, every key published so far unless retired, so that a test can
  rotate keys the way a provider does;
- `/authorize`: approves at once for its one configured person (the hire has "verified" with
  the provider) and redirects to the registered redirect URI with `code` and `state`;
- `/token`: the authorization code grant with client_secret_basic and PKCE S256 only. A code
  works once and for two minutes; a wrong verifier, client, redirect URI or code gets the
  RFC 6749 error `invalid_grant` or `invalid_client`.

ID tokens are real JWTs signed with generated RSA (RS256) or EC P-256 (ES256) keys, with iss,
sub, aud, exp, iat, auth_time, nonce, at_hash and the person's claims. Tests change them through
`claim_overrides` (a value of None removes the claim) and `header_overrides`, and switch the
signing key with `rotate_key`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

DEFAULT_REDIRECT_URI = "https://verify.example.test/verify/oidc/callback"
DEFAULT_PERSON: dict[str, Any] = {
    "given_name": "Renée",
    "middle_name": "Claire",
    "family_name": "Dubois",
    "birthdate": "1990-05-14",
    "govtid_expired": False,
}
CODE_LIFETIME_SECONDS = 120
SUPPORTED_ALGORITHMS = ("RS256", "ES256", "RS512")
"""RS512 lets a test check that the verifier refuses algorithms other than RS256 and ES256."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def left_half_hash(algorithm: str, value: str) -> str:
    """Return the OIDC at_hash / c_hash of a value for a JWS algorithm (OIDC Core 3.1.3.6)."""
    digest = jwt.get_algorithm_by_name(algorithm).compute_hash_digest(value.encode("ascii"))
    return _b64url(digest[: len(digest) // 2])


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    algorithm: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    published: bool

    def public_jwk(self) -> dict[str, Any]:
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    expires_at: float


def _oauth_error(status: int, error: str, description: str, **headers: str) -> FakeResponse:
    return FakeResponse(status, {"error": error, "error_description": description}, dict(headers))


class FakeOidcProvider(FakeHttpsService):
    """An OpenID provider of identity verification on 127.0.0.1 with one client and one person."""

    def __init__(
        self,
        *,
        client_id: str = "hireproof-verifier",
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        person: Mapping[str, Any] | None = None,
        algorithm: str = "RS256",
        token_lifetime_seconds: int = 300,
    ) -> None:
        super().__init__()
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {SUPPORTED_ALGORITHMS}")
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(32)
        self.redirect_uri = redirect_uri
        self.person: dict[str, Any] = dict(DEFAULT_PERSON if person is None else person)
        self.subject = f"person-{secrets.token_hex(8)}"
        self.algorithm = algorithm
        self.advertised_algorithms: tuple[str, ...] = (algorithm,)
        self.token_lifetime_seconds = token_lifetime_seconds
        self.claim_overrides: dict[str, Any] = {}
        self.header_overrides: dict[str, Any] = {}
        self.approve = True
        self.tokens_issued: list[dict[str, Any]] = []
        self._keys: list[_SigningKey] = []
        self._codes: dict[str, _Grant] = {}
        self.rotate_key()

    # ------------------------------------------------------------------ configuration
    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that would point a stack at this provider."""
        return {"OidcVerifierIssuer": self.base_url, "OidcVerifierCaBundle": self.ca_bundle_path}

    @property
    def issuer(self) -> str:
        """Return the issuer identifier, which is also the discovery document's base URL."""
        return self.base_url

    @property
    def signing_kid(self) -> str:
        """Return the kid of the key that signs new ID tokens."""
        return self._keys[-1].kid

    def rotate_key(self, *, publish: bool = True, retire_previous: bool = False) -> str:
        """Sign new ID tokens with a new key and return its kid.

        `publish=False` signs with a key the JWKS never lists, as a forged or misconfigured
        token would be. `retire_previous=True` removes the earlier keys from the JWKS.
        """
        if self.algorithm == "ES256":
            private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = ec.generate_private_key(
                ec.SECP256R1()
            )
        else:
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = _SigningKey(f"key-{secrets.token_hex(6)}", self.algorithm, private_key, publish)
        with self._lock:
            if retire_previous:
                self._keys = [
                    _SigningKey(old.kid, old.algorithm, old.private_key, False) for old in self._keys
                ]
            self._keys.append(key)
        return key.kid

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Route one request to discovery, JWKS, authorize or token."""
        routes = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return FakeResponse(404, {"error": "not_found"})
        return route(request)

    def _discovery(self, _request: FakeRequest) -> FakeResponse:
        return FakeResponse(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": list(self.advertised_algorithms),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "profile"],
                "claims_supported": ["sub", *sorted(self.person)],
            },
        )

    def _jwks(self, _request: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"keys": [key.public_jwk() for key in self._keys if key.published]})

    def _authorize(self, request: FakeRequest) -> FakeResponse:
        query = request.query
        # An unknown client or redirect URI gets an error page, never a redirect (RFC 6749 4.1.2.1).
        if query.get("client_id") != self.client_id or query.get("redirect_uri") != self.redirect_uri:
            return _oauth_error(400, "invalid_request", "unknown client_id or redirect_uri")
        state = query.get("state")
        error: tuple[str, str] | None = None
        if query.get("response_type") != "code":
            error = ("unsupported_response_type", "only the code flow is supported")
        elif "openid" not in query.get("scope", "").split():
            error = ("invalid_scope", "the openid scope is required")
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            error = ("invalid_request", "PKCE with S256 is required")
        elif not self.approve:
            error = ("access_denied", "the person did not complete the verification")
        if error is not None:
            return self._redirect({"error": error[0], "error_description": error[1], "state": state})
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            code_challenge=query["code_challenge"],
            nonce=query.get("nonce"),
            scope=query.get("scope", ""),
            expires_at=time.time() + CODE_LIFETIME_SECONDS,
        )
        return self._redirect({"code": code, "state": state})

    def _redirect(self, parameters: Mapping[str, str | None]) -> FakeResponse:
        kept = {name: value for name, value in parameters.items() if value is not None}
        return FakeResponse(302, None, {"Location": f"{self.redirect_uri}?{urlencode(kept)}"})

    def _client_authenticated(self, request: FakeRequest) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, client_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # RFC 6749 2.3.1: both parts are form-urlencoded before they are joined.
        return unquote_plus(client_id) == self.client_id and hmac.compare_digest(
            unquote_plus(client_secret), self.client_secret
        )

    def _token(self, request: FakeRequest) -> FakeResponse:
        if not self._client_authenticated(request):
            return _oauth_error(
                401, "invalid_client", "client authentication failed", **{"WWW-Authenticate": "Basic"}
            )
        form = request.form()
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "only authorization_code is supported")
        # The code is spent by this request whatever happens next (RFC 6749 4.1.2).
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time():
            return _oauth_error(400, "invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != grant.redirect_uri or grant.client_id != self.client_id:
            return _oauth_error(400, "invalid_grant", "the redirect_uri or client does not match the code")
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if not verifier or not hmac.compare_digest(challenge, grant.code_challenge):
            return _oauth_error(400, "invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(32)
        return FakeResponse(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds,
                "scope": grant.scope,
                "id_token": self._id_token(grant, access_token),
            },
            {"Cache-Control": "no-store"},
        )

    def _id_token(self, grant: _Grant, access_token: str) -> str:
        key = self._keys[-1]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.client_id,
            "iat": now,
            "exp": now + self.token_lifetime_seconds,
            "auth_time": now,
            "at_hash": left_half_hash(key.algorithm, access_token),
            **self.person,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.claim_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        headers = {"kid": key.kid, "typ": "JWT", **self.header_overrides}
        self.tokens_issued.append(claims)
        return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)
