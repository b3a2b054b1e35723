"""A cache of the RSA signing keys that a remote JSON Web Key Set (RFC 7517) publishes.

`JwksCache.key_for(kid)` serves keys from memory. It fetches the set again when a token
names an unknown kid, which is how a rotation shows up, but at most once per cool-down
window, so a caller who sends random kids cannot make it fetch on every request. It also
fetches again when the keys are older than `max_age_seconds`. A failed or garbled fetch
keeps the last good keys, so a short outage of the key server does not reject tokens
signed with a key already known.

Only RSA keys for RS256 signatures are kept: `kty` RSA, `use` absent or "sig", `alg` absent
or RS256, and a modulus of at least 2048 bits. Other members of the document (Cloudflare
Access adds `public_cert` and `public_certs`) and other keys are ignored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import jwt
import requests
from aws_lambda_powertools import Logger
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof.errors import ConfigurationError, JwksUnavailableError, SigningKeyNotFoundError

logger = Logger(child=True)

ALGORITHM = "RS256"
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DOCUMENT_BYTES = 256 * 1024
MIN_RSA_KEY_BITS = 2048
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


def check_jwks_url(url: str) -> None:
    """Raise ConfigurationError unless `url` is https, or http on 127.0.0.1 or localhost."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigurationError("the JWKS URL has no host", field="jwks_url")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ConfigurationError(
        "the JWKS URL must use https (http only for 127.0.0.1 or localhost)", field="jwks_url"
    )


def fetch_url(url: str, *, ca_bundle: str | None = None) -> bytes:
    """GET `url` and return the body, raising OSError or ValueError on any failure.

    Connecting and each read time out after 3 seconds, and reading the body stops once 3 seconds
    have passed since the request started. It follows no redirects and reads at most 256 KiB.
    `ca_bundle` is a PEM file of trusted CAs, for a key server with a private CA.
    """
    deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
    with requests.get(
        url,
        timeout=FETCH_TIMEOUT_SECONDS,
        verify=ca_bundle or True,
        allow_redirects=False,
        stream=True,
        headers={"Accept": "application/json"},
    ) as response:
        if response.status_code != 200:
            raise ValueError(f"the JWKS URL returned HTTP {response.status_code}")
        # iter_content wraps urllib3's read errors in requests' exceptions, which are OSErrors.
        body = bytearray()
        for chunk in response.iter_content(chunk_size=16 * 1024):
            # requests' timeout bounds each read, so a server that sends a byte at a time needs this.
            if time.monotonic() > deadline:
                raise TimeoutError(f"the JWKS download took longer than {FETCH_TIMEOUT_SECONDS} seconds")
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"the JWKS document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return bytes(body)


def parse_jwks(document: bytes) -> dict[str, jwt.PyJWK]:
    """Return the usable RS256 keys of a JWKS document by kid, or raise ValueError when there are none."""
    try:
        parsed = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("the JWKS document is not JSON") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("keys"), list):
        raise ValueError("the JWKS document has no keys array")

    keys: dict[str, jwt.PyJWK] = {}
    for entry in parsed["keys"]:
        key = _usable_key(entry)
        if key is not None and key.key_id is not None:
            keys[key.key_id] = key
    if not keys:
        raise ValueError("the JWKS document has no RSA signing key with a kid")
    return keys


def _usable_key(entry: object) -> jwt.PyJWK | None:
    if not isinstance(entry, Mapping):
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
        return None
    if entry.get("alg", ALGORITHM) != ALGORITHM:
        return None
    try:
        key = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    public_key = key.key
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < MIN_RSA_KEY_BITS:
        return None
    return key


class JwksCache:
    """The RS256 keys of one JWKS URL, fetched lazily and shared between threads.

    `fetch(url)` returns the document's bytes and raises OSError or ValueError on failure.
    The default GETs the URL over TLS with `ca_bundle` (see `fetch_url`). `clock` returns
    seconds and only needs to be monotonic. `fetch_count` counts fetch attempts, failed
    ones included.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], bytes] | None = None,
        refetch_cooldown_seconds: float = 60,
        max_age_seconds: float = 3600,
        clock: Callable[[], float] = time.monotonic,
        ca_bundle: str | None = None,
    ) -> None:
        check_jwks_url(url)
        if refetch_cooldown_seconds < 0 or max_age_seconds <= 0:
            raise ConfigurationError("JWKS cache durations must be positive", field="jwks_cache")
        self.url = url
        self.refetch_cooldown_seconds = refetch_cooldown_seconds
        self.max_age_seconds = max_age_seconds
        self.fetch_count = 0
        self._fetch = fetch if fetch is not None else self._default_fetch
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_attempt_failed = False

    def key_for(self, kid: str) -> jwt.PyJWK:
        """Return the key with this kid, fetching the set when it is stale or lacks the kid.

        Raises SigningKeyNotFoundError when the set, fetched within the cool-down window, has
        no such key, and JwksUnavailableError when the kid is unknown and the latest fetch
        failed, because then the key may exist.
        """
        with self._lock:
            now = self._clock()
            refreshed = False
            if self._is_stale(now) and self._may_fetch(now):
                self._refresh(now)
                refreshed = True

            key = self._keys.get(kid)
            if key is not None:
                return key
            if not refreshed and self._may_fetch(now):
                self._refresh(now)
                key = self._keys.get(kid)
                if key is not None:
                    return key

            if self._last_attempt_failed:
                raise JwksUnavailableError("the JWKS could not be fetched and no cached key matches the kid")
            raise SigningKeyNotFoundError("no key in the JWKS has the token's kid", field="kid")

    def _is_stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self.max_age_seconds

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.refetch_cooldown_seconds

    def _refresh(self, now: float) -> None:
        # Called with the lock held, so concurrent callers wait for this one fetch.
        self._attempted_at = now
        self.fetch_count += 1
        try:
            keys = parse_jwks(self._fetch(self.url))
        except (OSError, ValueError) as exc:
            self._last_attempt_failed = True
            logger.warning(
                "jwks fetch failed",
                extra={
                    "jwks_host": urlsplit(self.url).hostname,
                    "error": type(exc).__name__,
                    "cached_key_count": len(self._keys),
                },
            )
            return
        self._keys = keys
        self._fetched_at = now
        self._last_attempt_failed = False
        logger.debug(
            "jwks refreshed", extra={"jwks_host": urlsplit(self.url).hostname, "key_count": len(keys)}
        )

    def _default_fetch(self, url: str) -> bytes:
        return fetch_url(url, ca_bundle=self._ca_bundle)
