"""validate_gateway_token and JwksCache with keys built in-process and an injected JWKS fetch.

No socket is opened: `KeyServer` plays the gateway's certs URL, serving a JWKS document that a
test can change, break or make fail, and counting how often the cache requests it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from hireproof.access.tokens import GatewaySettings, validate_gateway_token
from hireproof.errors import (
    ConfigurationError,
    GatewayTokenInvalidError,
    JwksUnavailableError,
    SigningKeyNotFoundError,
)
from hireproof.jwks import JwksCache, parse_jwks

ISSUER = "https://hireproof-test.cloudflareaccess.com"
CERTS_URL = f"{ISSUER}/cdn-cgi/access/certs"
AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
EMAIL = "renee.dubois@example.com"
NOW = 1_796_115_600
SETTINGS = GatewaySettings(certs_url=CERTS_URL, issuer=ISSUER, audience=AUDIENCE)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


KEY = _rsa_key()
KID = "kid-current"
OTHER_KEY = _rsa_key()


def public_jwk(key: rsa.RSAPrivateKey, kid: str, **members: Any) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"], "kid": kid, "alg": "RS256", "use": "sig", **members}


class KeyServer:
    """The gateway's certs URL as a function: serves `document`, or raises `failure` when set."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.document: bytes = json.dumps({"keys": list(keys)}).encode()
        self.failure: Exception | None = None
        self.urls: list[str] = []

    def publish(self, *keys: dict[str, Any]) -> None:
        self.document = json.dumps({"keys": list(keys)}).encode()

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if self.failure is not None:
            raise self.failure
        return self.document


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> KeyServer:
    return KeyServer(public_jwk(KEY, KID))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(server: KeyServer, clock: Clock) -> JwksCache:
    return JwksCache(CERTS_URL, fetch=server, clock=clock)


def claims(**changes: Any) -> dict[str, Any]:
    """Return request token claims shaped like Access's, where a change to None removes the claim."""
    values: dict[str, Any] = {
        "aud": [AUDIENCE],
        "iss": ISSUER,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 60,
        "nonce": "nonce-4b1c9e",
        "identity": {
            "email": EMAIL,
            "groups": [{"id": "g1", "name": "engineering"}],
            "geo": {"country": "FR"},
        },
    }
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def token(payload: dict[str, Any] | None = None, *, key: Any = KEY, kid: str | None = KID) -> str:
    """Sign request token claims with RS256, leaving the kid out of the header when kid is None."""
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload if payload is not None else claims(), key, algorithm="RS256", headers=headers)


def hand_made_token(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64url(sign(signing_input.encode()))}"


def rejection(raw: str, cache: JwksCache, settings: GatewaySettings = SETTINGS) -> GatewayTokenInvalidError:
    with pytest.raises(GatewayTokenInvalidError) as caught:
        validate_gateway_token(raw, settings=settings, jwks=cache, now=NOW)
    error = caught.value
    assert EMAIL not in str(error), "messages must not contain e-mail addresses"
    for segment in raw.split("."):
        if len(segment) > 8:
            assert segment not in str(error), "messages must not contain token contents"
    return error


# ----------------------------------------------------------------- accepted tokens
def test_valid_token_returns_claims(cache: JwksCache, server: KeyServer) -> None:
    result = validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)

    assert result["nonce"] == "nonce-4b1c9e"
    assert result["identity"]["email"] == EMAIL
    assert result["aud"] == [AUDIENCE]
    assert cache.fetch_count == 1
    assert server.urls == [CERTS_URL]


def test_audience_as_string_accepted(cache: JwksCache) -> None:
    result = validate_gateway_token(token(claims(aud=AUDIENCE)), settings=SETTINGS, jwks=cache, now=NOW)

    assert result["aud"] == AUDIENCE


def test_audience_list_containing_audience_accepted(cache: JwksCache) -> None:
    payload = claims(aud=["another-application", AUDIENCE])

    result = validate_gateway_token(token(payload), settings=SETTINGS, jwks=cache, now=NOW)

    assert result["aud"] == ["another-application", AUDIENCE]


def test_keys_cached_between_tokens(cache: JwksCache) -> None:
    for _ in range(3):
        validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)

    assert cache.fetch_count == 1


@pytest.mark.parametrize(
    ("claim", "value"),
    [("exp", NOW - 29), ("iat", NOW + 29), ("nbf", NOW + 29)],
)
def test_times_within_leeway_accepted(cache: JwksCache, claim: str, value: int) -> None:
    validate_gateway_token(token(claims(**{claim: value})), settings=SETTINGS, jwks=cache, now=NOW)


def test_nbf_is_optional(cache: JwksCache) -> None:
    result = validate_gateway_token(token(claims(nbf=None)), settings=SETTINGS, jwks=cache, now=NOW)

    assert "nbf" not in result


# ----------------------------------------------------------------- algorithm attacks
def test_alg_none_rejected_before_key_lookup(cache: JwksCache) -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": KID})

    error = rejection(unsigned, cache)

    assert error.reason == "bad_algorithm"
    assert cache.fetch_count == 0


def test_hs256_with_public_key_secret_rejected(cache: JwksCache) -> None:
    # The classic key confusion: the public key's PEM, which anyone can fetch, as an HMAC secret.
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = hand_made_token(
        {"alg": "HS256", "typ": "JWT", "kid": KID},
        claims(),
        lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
    )

    error = rejection(forged, cache)

    assert error.reason == "bad_algorithm"
    assert cache.fetch_count == 0


@pytest.mark.parametrize("algorithm", ["RS512", "PS256", "RS384"])
def test_other_rsa_algorithms_rejected(cache: JwksCache, algorithm: str) -> None:
    other = jwt.encode(claims(), KEY, algorithm=algorithm, headers={"kid": KID})

    error = rejection(other, cache)

    assert error.reason == "bad_algorithm"
    assert cache.fetch_count == 0


def test_es256_rejected(cache: JwksCache) -> None:
    ec_token = jwt.encode(
        claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": KID}
    )

    assert rejection(ec_token, cache).reason == "bad_algorithm"


# ----------------------------------------------------------------- signature and key
def test_signature_from_other_key_rejected(cache: JwksCache) -> None:
    forged = token(key=OTHER_KEY)

    error = rejection(forged, cache)

    assert error.reason == "bad_signature"


def test_tampered_payload_rejected(cache: JwksCache) -> None:
    header, _, signature = token().split(".")
    payload = _b64url(json.dumps(claims(identity={"email": "mallory@example.com"})).encode())

    error = rejection(f"{header}.{payload}.{signature}", cache)

    assert error.reason == "bad_signature"


def test_header_without_kid_rejected(cache: JwksCache) -> None:
    error = rejection(token(kid=None), cache)

    assert error.reason == "malformed"
    assert error.field == "kid"
    assert cache.fetch_count == 0


def test_unknown_kid_refetches_once_per_cooldown(cache: JwksCache, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    clock.now += 61

    first = rejection(token(kid="random-kid-1"), cache)
    fetches_after_first = cache.fetch_count
    clock.now += 5
    second = rejection(token(kid="random-kid-2"), cache)

    assert first.reason == "unknown_kid"
    assert second.reason == "unknown_kid"
    assert fetches_after_first == 2
    assert cache.fetch_count == 2, "a second unknown kid within the cool-down must not refetch"


def test_unknown_kid_after_cooldown_refetches(cache: JwksCache, clock: Clock) -> None:
    rejection(token(kid="random-kid-1"), cache)
    clock.now += 60

    rejection(token(kid="random-kid-2"), cache)

    assert cache.fetch_count == 2


def test_rotated_key_found_by_refetch(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    server.publish(public_jwk(KEY, KID), public_jwk(OTHER_KEY, "kid-next"))
    clock.now += 60

    result = validate_gateway_token(
        token(key=OTHER_KEY, kid="kid-next"), settings=SETTINGS, jwks=cache, now=NOW
    )

    assert result["nonce"] == "nonce-4b1c9e"
    assert cache.fetch_count == 2


# ----------------------------------------------------------------- issuer and audience
@pytest.mark.parametrize("issuer", [f"{ISSUER}/", "https://attacker.cloudflareaccess.com", ISSUER.upper()])
def test_wrong_issuer_rejected(cache: JwksCache, issuer: str) -> None:
    error = rejection(token(claims(iss=issuer)), cache)

    assert error.reason == "wrong_issuer"
    assert error.field == "iss"


@pytest.mark.parametrize("audience", ["another-application", ["another-application"], []])
def test_wrong_audience_rejected(cache: JwksCache, audience: Any) -> None:
    error = rejection(token(claims(aud=audience)), cache)

    assert error.reason == "wrong_audience"


def test_audience_of_wrong_type_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(aud=[AUDIENCE, 7])), cache)

    assert error.reason == "malformed"
    assert error.field == "aud"


# ----------------------------------------------------------------- times
def test_expired_token_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(exp=NOW - 31)), cache)

    assert error.reason == "expired"


def test_iat_far_in_future_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(iat=NOW + 31, nbf=None)), cache)

    assert error.reason == "issued_in_future"


def test_nbf_in_future_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(nbf=NOW + 31)), cache)

    assert error.reason == "not_yet_valid"


def test_smaller_leeway_applies(cache: JwksCache) -> None:
    strict = SETTINGS.model_copy(update={"leeway_seconds": 0})

    error = rejection(token(claims(exp=NOW)), cache, strict)

    assert error.reason == "expired"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud"])
def test_missing_required_claim_rejected(cache: JwksCache, claim: str) -> None:
    error = rejection(token(claims(**{claim: None})), cache)

    assert error.reason == "missing_claim"
    assert error.field == claim


@pytest.mark.parametrize("value", ["1796115660", True, {"at": 1}])
def test_exp_of_wrong_type_rejected(cache: JwksCache, value: Any) -> None:
    error = rejection(token(claims(exp=value)), cache)

    assert error.reason == "malformed"
    assert error.field == "exp"


def test_leeway_over_thirty_seconds_rejected() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(certs_url=CERTS_URL, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=31)


# ----------------------------------------------------------------- request claims
@pytest.mark.parametrize("nonce", [None, ""])
def test_missing_nonce_rejected(cache: JwksCache, nonce: str | None) -> None:
    payload = claims()
    if nonce is None:
        del payload["nonce"]
    else:
        payload["nonce"] = nonce

    error = rejection(token(payload), cache)

    assert error.reason == "missing_claim"
    assert error.field == "nonce"


@pytest.mark.parametrize("nonce", [12345, "n" * 513, ["nonce"]])
def test_invalid_nonce_rejected(cache: JwksCache, nonce: Any) -> None:
    error = rejection(token(claims(nonce=nonce)), cache)

    assert error.reason == "malformed"
    assert error.field == "nonce"


@pytest.mark.parametrize("identity", [{"groups": []}, {"email": ""}, {"email": 42}])
def test_identity_without_email_rejected(cache: JwksCache, identity: dict[str, Any]) -> None:
    error = rejection(token(claims(identity=identity)), cache)

    assert error.reason == "missing_claim"
    assert error.field == "identity.email"


def test_missing_identity_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(identity=None)), cache)

    assert error.reason == "missing_claim"
    assert error.field == "identity"


def test_identity_not_object_rejected(cache: JwksCache) -> None:
    error = rejection(token(claims(identity=EMAIL)), cache)

    assert error.reason == "malformed"
    assert error.field == "identity"


# ----------------------------------------------------------------- garbage
@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9",
        f"{_b64url(b'[1, 2]')}.{_b64url(b'{}')}.c2ln",
        "x" * 40_000,
    ],
)
def test_garbage_token_rejected(cache: JwksCache, raw: str) -> None:
    error = rejection(raw, cache)

    assert error.reason == "malformed"
    assert cache.fetch_count == 0


def test_payload_not_json_object_rejected(cache: JwksCache) -> None:
    header = _b64url(json.dumps({"alg": "RS256", "kid": KID}).encode())
    signing_input = f"{header}.{_b64url(b'[1]')}"
    signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), KEY)

    error = rejection(f"{signing_input}.{_b64url(signature)}", cache)

    assert error.reason == "malformed"


# ----------------------------------------------------------------- the key cache
def test_fetch_failure_keeps_last_good_keys(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    server.failure = ConnectionError("connection refused")
    clock.now += 3600

    result = validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)

    assert result["nonce"] == "nonce-4b1c9e"
    assert cache.fetch_count == 2, "the max-age refresh was attempted"


def test_garbage_jwks_keeps_last_good_keys(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    server.document = b"<html>maintenance</html>"
    clock.now += 3600

    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)

    assert cache.fetch_count == 2


def test_unknown_kid_during_outage_unavailable(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    server.failure = TimeoutError("timed out")
    clock.now += 60

    with pytest.raises(JwksUnavailableError):
        validate_gateway_token(token(kid="kid-next"), settings=SETTINGS, jwks=cache, now=NOW)


def test_first_fetch_failure_unavailable(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    server.failure = OSError("network unreachable")

    with pytest.raises(JwksUnavailableError):
        cache.key_for(KID)
    clock.now += 10
    with pytest.raises(JwksUnavailableError):
        cache.key_for(KID)

    assert cache.fetch_count == 1, "a failed fetch is retried only after the cool-down"


def test_fetch_retried_after_cooldown(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    server.failure = OSError("network unreachable")
    with pytest.raises(JwksUnavailableError):
        cache.key_for(KID)
    server.failure = None
    clock.now += 60

    key = cache.key_for(KID)

    assert key.key_id == KID
    assert cache.fetch_count == 2


def test_max_age_refresh_drops_removed_keys(cache: JwksCache, server: KeyServer, clock: Clock) -> None:
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    server.publish(public_jwk(OTHER_KEY, "kid-next"))
    clock.now += 3599
    validate_gateway_token(token(), settings=SETTINGS, jwks=cache, now=NOW)
    assert cache.fetch_count == 1, "keys younger than max age are served from memory"
    clock.now += 1

    error = rejection(token(), cache)

    assert error.reason == "unknown_kid"
    assert cache.fetch_count == 2


def test_unknown_kid_is_key_not_found(cache: JwksCache) -> None:
    with pytest.raises(SigningKeyNotFoundError):
        cache.key_for("nobody")


def test_concurrent_unknown_kids_fetch_once(server: KeyServer) -> None:
    def slow_fetch(url: str) -> bytes:
        time.sleep(0.02)
        return server(url)

    cache = JwksCache(CERTS_URL, fetch=slow_fetch)
    errors: list[Exception] = []

    def look_up(kid: str) -> None:
        try:
            cache.key_for(kid)
        except SigningKeyNotFoundError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=look_up, args=(f"random-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert len(errors) == 8
    assert cache.fetch_count == 1


def test_parse_jwks_keeps_rsa_signing_keys_only() -> None:
    weak = _rsa_key(1024)
    private_members = jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY, as_dict=True)
    document = {
        "keys": [
            public_jwk(KEY, "good"),
            public_jwk(KEY, "no-use-member", use=None),
            public_jwk(OTHER_KEY, "encryption", use="enc"),
            public_jwk(OTHER_KEY, "rs512", alg="RS512"),
            public_jwk(weak, "weak"),
            {**private_members, "kid": "private"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"},
            {"kty": "RSA", "n": "AQAB"},
            "not-an-object",
        ],
        "public_cert": {"kid": "good", "cert": "-----BEGIN CERTIFICATE-----"},
    }
    document["keys"][1].pop("use")

    keys = parse_jwks(json.dumps(document).encode())

    assert sorted(keys) == ["good", "no-use-member"]


@pytest.mark.parametrize("document", [b"", b"{}", b'{"keys": {}}', b'{"keys": []}', b"\xff\xfe"])
def test_parse_jwks_rejects_unusable_documents(document: bytes) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        parse_jwks(document)


@pytest.mark.parametrize(
    "url", ["http://keys.example.com/certs", "ftp://127.0.0.1/certs", "https:///certs", "file:///etc/keys"]
)
def test_cache_rejects_insecure_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        JwksCache(url, fetch=lambda _: b"")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/keys", "http://localhost/keys", CERTS_URL])
def test_cache_accepts_https_and_loopback_http(url: str) -> None:
    assert JwksCache(url, fetch=lambda _: b"").url == url


def test_settings_reject_http_certs_url() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(certs_url="http://keys.example.com/certs", issuer=ISSUER, audience=AUDIENCE)


def test_cache_of_other_url_rejected(server: KeyServer) -> None:
    other = JwksCache("https://elsewhere.example.com/certs", fetch=server)

    with pytest.raises(ConfigurationError):
        validate_gateway_token(token(), settings=SETTINGS, jwks=other, now=NOW)
    assert other.fetch_count == 0
