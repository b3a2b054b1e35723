"""A local access gateway in the role of Cloudflare Access calling an external evaluation endpoint.

Over HTTPS on 127.0.0.1 (see `_service`) it serves `/cdn-cgi/access/certs`: its public RSA keys
as a JWKS, plus `public_cert` and `public_certs` (self-signed X.509 certificates of the same
keys) as Cloudflare's certs endpoint adds them. Its issuer is its own base URL, because a
`https://<team>.cloudflareaccess.com` name would not resolve to the fake.

`mint()` signs request tokens (RS256, 2048-bit keys generated at start-up) with `aud`, `iss`,
`iat`, `nbf`, `exp`, `nonce` and an `identity` object modeled on the identity in Cloudflare's API
schema (`access_identity`): email, groups, idp, geo, ip, device posture and session flags.
`accept()` checks a decision token as Access does: RS256,
signed by a key from the keys URL (RSA keys only) chosen by kid, unexpired, with the request's
nonce. `rotate()` starts signing with a new key and keeps publishing the old ones.

NOTE: Cloudflare documents neither the complete claim set of the request token nor the shape of a
group entry. The fake's groups are `{"id", "name"}` objects, and its tokens carry iat and nbf.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

CERTS_PATH = "/cdn-cgi/access/certs"
DEFAULT_TOKEN_LIFETIME_SECONDS = 60
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


class DecisionRejectedError(AssertionError):
    """The fake gateway rejected a decision token, and `reason` names the failed check.

    It is an AssertionError so that pytest reports a rejected decision as a failed check.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class _GatewayKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str

    def public_jwk(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "kid": self.kid,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "e": jwk["e"],
            "n": jwk["n"],
        }


def _new_key() -> _GatewayKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Access kids are 64 hex characters, the form of a SHA-256 hex digest of the public key.
    kid = hashlib.sha256(der).hexdigest()
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HireProof local access gateway")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(private_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return _GatewayKey(kid=kid, private_key=private_key, certificate_pem=pem)


def _group(entry: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return dict(entry)
    return {"id": hashlib.sha256(entry.encode("utf-8")).hexdigest()[:32], "name": entry}


class FakeAccessGateway(FakeHttpsService):
    """An access gateway on 127.0.0.1 that mints request tokens and checks decision tokens."""

    def __init__(self, *, audience: str | None = None, account_id: str | None = None) -> None:
        super().__init__()
        # An Access application's audience (AUD) tag is 64 hex characters.
        self.audience = audience or secrets.token_hex(32)
        self.account_id = account_id or secrets.token_hex(16)
        self.minted: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self._keys: list[_GatewayKey] = []
        self.rotate()

    # ------------------------------------------------------------------ configuration
    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that point the stack at this gateway."""
        return {
            "AccessTeamDomain": urlsplit(self.base_url).netloc,
            "AccessAudience": self.audience,
            "AccessCaBundle": self.ca_bundle_path,
        }

    @property
    def issuer(self) -> str:
        """The `iss` of minted tokens: the fake's https://127.0.0.1:PORT base URL."""
        return self.base_url

    @property
    def certs_url(self) -> str:
        """The URL of the gateway's JWKS."""
        return f"{self.base_url}{CERTS_PATH}"

    @property
    def signing_kid(self) -> str:
        """The kid of the key that signs new tokens."""
        with self._lock:
            return self._keys[-1].kid

    def rotate(self) -> str:
        """Sign new tokens with a new key, keep publishing the earlier ones, and return the new kid."""
        key = _new_key()
        with self._lock:
            self._keys.append(key)
        return key.kid

    def jwks(self) -> dict[str, Any]:
        """Return the document that the certs URL serves."""
        with self._lock:
            keys = list(self._keys)
        return {
            "keys": [key.public_jwk() for key in keys],
            "public_cert": {"kid": keys[-1].kid, "cert": keys[-1].certificate_pem},
            "public_certs": [{"kid": key.kid, "cert": key.certificate_pem} for key in keys],
        }

    # ------------------------------------------------------------------ request tokens
    def mint(
        self,
        email: str,
        *,
        nonce: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        groups: Sequence[str | Mapping[str, Any]] = (),
        country: str | None = None,
        ip: str | None = None,
        device_posture: Mapping[str, Any] | None = None,
        lifetime: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
        overrides: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        key: rsa.RSAPrivateKey | None = None,
        now: int | None = None,
    ) -> tuple[str, str]:
        """Sign a request token for a logged-in user and return (token, nonce).

        `overrides` replaces top-level claims, and a value of None removes the claim.
        `headers` replaces JWT header members, such as `kid` or `alg`. `key` signs in place
        of the gateway's current key, as a forger would. The kid is then the current one
        unless `headers` sets another. `now` is Unix time in seconds.
        """
        issued_at = int(time.time()) if now is None else now
        nonce = nonce if nonce is not None else secrets.token_urlsafe(24)
        identity: dict[str, Any] = {
            "email": email,
            "name": email.partition("@")[0],
            "user_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"access-user:{email}")),
            "account_id": self.account_id,
            "idp": {"id": "local-idp", "type": "oidc"},
            "groups": [_group(entry) for entry in groups],
            "geo": {"country": country} if country is not None else {},
            "ip": ip if ip is not None else "",
            "iat": issued_at,
            "auth_status": "NONE",
            "is_warp": False,
            "is_gateway": False,
            "devicePosture": dict(device_posture or {}),
            "device_sessions": {},
            "version": 2,
        }
        claims: dict[str, Any] = {
            "aud": [audience if audience is not None else self.audience],
            "iss": issuer if issuer is not None else self.issuer,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime,
            "nonce": nonce,
            "identity": identity,
        }
        for name, value in (overrides or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value

        with self._lock:
            current = self._keys[-1]
            self.minted.append(claims)
        header = {"kid": current.kid, **(headers or {})}
        signing_key = key if key is not None else current.private_key
        token = jwt.encode(claims, signing_key, algorithm="RS256", headers=header)
        return token, nonce

    # ------------------------------------------------------------------ decision tokens
    def accept(
        self,
        response_token: str,
        nonce: str,
        keys_url_or_jwks: str | Mapping[str, Any],
        *,
        verify: str | bool = True,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Check a decision token as Access does and return its claims, `success` included.

        `keys_url_or_jwks` is the keys URL, fetched on 127.0.0.1 or localhost only with
        `verify` as requests' TLS setting, or the JWKS document itself. A rejected token
        raises DecisionRejectedError, but a well-signed `success: false` is returned.
        """
        document = (
            self._fetch_keys(keys_url_or_jwks, verify)
            if isinstance(keys_url_or_jwks, str)
            else keys_url_or_jwks
        )
        keys = _rsa_keys(document)
        try:
            header = jwt.get_unverified_header(response_token)
        except jwt.DecodeError as exc:
            raise DecisionRejectedError("malformed", "the decision is not a JWT") from exc
        if header.get("alg") != "RS256":
            raise DecisionRejectedError("bad_algorithm", f"alg is {header.get('alg')!r}, not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in keys:
            raise DecisionRejectedError("unknown_kid", "no key at the keys URL has the decision's kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                response_token,
                keys[kid],
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise DecisionRejectedError("bad_signature", "the signature does not verify") from exc
        except jwt.InvalidTokenError as exc:
            raise DecisionRejectedError("malformed", str(exc)) from exc

        current = time.time() if now is None else now
        expires_at = claims.get("exp")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            raise DecisionRejectedError("missing_claim", "exp is missing or not a number")
        if expires_at <= current:
            raise DecisionRejectedError("expired", "the decision has expired")
        received_nonce = claims.get("nonce")
        if not isinstance(received_nonce, str) or not hmac.compare_digest(received_nonce, nonce):
            raise DecisionRejectedError("nonce_mismatch", "the nonce is not the request's")
        if not isinstance(claims.get("success"), bool):
            raise DecisionRejectedError("missing_claim", "success is missing or not a boolean")
        with self._lock:
            self.decisions.append(claims)
        return claims

    def _fetch_keys(self, url: str, verify: str | bool) -> Any:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError("the fake gateway fetches keys from 127.0.0.1 or localhost only")
        response = requests.get(url, timeout=5, verify=verify, allow_redirects=False)
        if response.status_code != 200:
            raise DecisionRejectedError(
                "keys_unavailable", f"the keys URL returned HTTP {response.status_code}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise DecisionRejectedError("keys_unavailable", "the keys URL did not return JSON") from exc

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Serve the JWKS at the certs path and 404 at every other path."""
        if request.path != CERTS_PATH:
            return FakeResponse(404, {"error": "not found"})
        if request.method != "GET":
            return FakeResponse(405, {"error": "method not allowed"}, {"Allow": "GET"})
        return FakeResponse(200, self.jwks())


def _rsa_keys(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """Return the keys of a decision JWKS by kid, rejecting a set with a non-RSA key or a key without kid."""
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise DecisionRejectedError("keys_unavailable", "the keys URL has no keys array")
    keys: dict[str, rsa.RSAPublicKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
            raise DecisionRejectedError("keys_not_rsa", "the keys URL lists a key that is not RSA")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise DecisionRejectedError("keys_unavailable", "a key at the keys URL has no kid")
        public_key = jwt.algorithms.RSAAlgorithm.from_jwk(dict(entry))
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise DecisionRejectedError("keys_not_rsa", "a key at the keys URL is not an RSA public key")
        keys[kid] = public_key
    return keys
