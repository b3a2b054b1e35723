"""Signing of the decisions that an external evaluation endpoint returns to the access gateway.

The gateway accepts a decision only when it is a compact RS256 JWT whose header `kid` names
a key published at the keys URL. `jwks()` returns that key set, and `decision_token()` builds
and signs the claims `success`, `nonce`, `iat` and `exp`.

Two signers keep the private key in different places:

- `KmsDecisionSigner` (the default) signs with an asymmetric AWS KMS key, so the private key
  never leaves KMS. Each decision costs one KMS `Sign` request, which is billed per request
  and adds a network round trip. An estimate, not measured here: 10 to 30 ms from a Lambda
  function in the key's region.
- `SecretDecisionSigner` signs in the Lambda function with a PEM private key from Secrets
  Manager. Signing takes well under a millisecond and costs nothing per decision, but the
  private key lives in the function's memory, where a code or dependency compromise can read it.

Rotation publishes the new key before it signs. With KMS, deploy `ACCESS_SIGNING_KEY_IDS=old,new`
(old signs, both are published), wait until the gateway has fetched the keys URL again, then
deploy `new,old`. With a secret, store `{"current": old, "previous": new}`, wait for every
function instance to reload it (`cache_seconds`) and for the gateway to fetch the keys, then
swap the two. A key id in the JWKS is the key's RFC 7638 thumbprint, so it never depends on
where the key is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jwt
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof import aws
from hireproof.errors import ConfigurationError, TransientError

logger = Logger(child=True)

ALGORITHM = "RS256"
KMS_SIGNING_ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256"
# KMS signs RAW messages of at most 4096 bytes, and a decision token is a few hundred bytes.
KMS_MAX_RAW_MESSAGE_BYTES = 4096
MIN_RSA_KEY_BITS = 2048
DECISION_TTL_SECONDS = 60
KEY_IDS_VARIABLE = "ACCESS_SIGNING_KEY_IDS"
SECRET_ARN_VARIABLE = "ACCESS_SIGNING_SECRET_ARN"  # noqa: S105 (a variable name, not a secret)
RESERVED_DECISION_CLAIMS = frozenset({"success", "nonce", "iat", "exp"})
# Throttling and outages on the AWS side, where a retry may succeed. Other errors need a fixed deployment.
_TRANSIENT_AWS_ERRORS = frozenset(
    {
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
        "InternalServiceError",
        "InternalServiceErrorException",
        "ServiceUnavailableException",
    }
)


class DecisionSigner(Protocol):
    """Signs decision claims and publishes the public keys that verify them."""

    def sign(self, claims: dict[str, Any]) -> str:
        """Return the claims as a compact RS256 JWT whose header carries the signing key's kid."""
        ...

    def jwks(self) -> dict[str, Any]:
        """Return `{"keys": [...]}` with every published RSA public JWK (kid, alg RS256, use sig)."""
        ...


# ----------------------------------------------------------------- JWK helpers
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unsigned_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an RSA JWK, base64url without padding."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """Return the public JWK of an RSA key with its thumbprint as kid, alg RS256 and use sig."""
    numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "n": _b64url(_unsigned_bytes(numbers.n)), "e": _b64url(_unsigned_bytes(numbers.e))}
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


def _check_rsa_key_size(key_size: int, where: str) -> None:
    if key_size < MIN_RSA_KEY_BITS:
        raise ConfigurationError(f"the RSA key {where} has {key_size} bits; use at least {MIN_RSA_KEY_BITS}")


def _aws_failure(exc: ClientError | BotoCoreError, action: str) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in _TRANSIENT_AWS_ERRORS:
            return ConfigurationError(
                f"{action} failed with {code}; check the key and the function's IAM policy"
            )
    return TransientError(f"{action} failed; a retry may succeed")


# ----------------------------------------------------------------- KMS
class KmsDecisionSigner:
    """Signs with the first of several asymmetric KMS keys and publishes them all.

    Every key must be an RSA key (at least 2048 bits) with key usage SIGN_VERIFY. The public
    keys are read with `GetPublicKey` once and kept in memory. The private keys stay in KMS.
    """

    def __init__(self, key_ids: Sequence[str], *, client: Any = None) -> None:
        ids = [key_id.strip() for key_id in key_ids if key_id.strip()]
        if not ids:
            raise ConfigurationError("KmsDecisionSigner needs at least one KMS key id")
        if len(set(ids)) != len(ids):
            raise ConfigurationError("the KMS key ids for decision signing contain a duplicate")
        self.key_ids: tuple[str, ...] = tuple(ids)
        self._client = client
        self._lock = threading.Lock()
        self._jwks: list[dict[str, str]] | None = None

    @property
    def client(self) -> Any:
        """The KMS client, created on first use so that importing a handler makes no AWS call."""
        if self._client is None:
            self._client = aws.client("kms")
        return self._client

    @property
    def current_kid(self) -> str:
        """The kid of the key that signs, the first of `key_ids`."""
        return self._public_jwks()[0]["kid"]

    def jwks(self) -> dict[str, Any]:
        """Return `{"keys": [...]}` with the public JWK of every listed KMS key."""
        return {"keys": [dict(jwk) for jwk in self._public_jwks()]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign the claims with the first KMS key (RSASSA-PKCS1-v1_5 SHA-256) and return the JWT."""
        header = {"alg": ALGORITHM, "kid": self.current_kid, "typ": "JWT"}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
        ).encode("ascii")
        if len(signing_input) > KMS_MAX_RAW_MESSAGE_BYTES:
            raise ValueError(
                f"the decision token is {len(signing_input)} bytes before signing; "
                f"KMS signs at most {KMS_MAX_RAW_MESSAGE_BYTES}"
            )
        try:
            response = self.client.sign(
                KeyId=self.key_ids[0],
                Message=signing_input,
                MessageType="RAW",
                SigningAlgorithm=KMS_SIGNING_ALGORITHM,
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "kms sign failed", extra={"kms_key_id": self.key_ids[0], "error": type(exc).__name__}
            )
            raise _aws_failure(exc, "KMS Sign") from exc
        return f"{signing_input.decode('ascii')}.{_b64url(response['Signature'])}"

    def _public_jwks(self) -> list[dict[str, str]]:
        with self._lock:
            if self._jwks is None:
                self._jwks = [self._load_public_jwk(key_id) for key_id in self.key_ids]
            return self._jwks

    def _load_public_jwk(self, key_id: str) -> dict[str, str]:
        try:
            response = self.client.get_public_key(KeyId=key_id)
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "kms get public key failed", extra={"kms_key_id": key_id, "error": type(exc).__name__}
            )
            raise _aws_failure(exc, f"KMS GetPublicKey for {key_id}") from exc
        if response.get("KeyUsage") != "SIGN_VERIFY" or KMS_SIGNING_ALGORITHM not in response.get(
            "SigningAlgorithms", []
        ):
            raise ConfigurationError(f"the KMS key {key_id} is not an RSA SIGN_VERIFY key")
        public_key = serialization.load_der_public_key(response["PublicKey"])
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ConfigurationError(f"the KMS key {key_id} is not an RSA key")
        _check_rsa_key_size(public_key.key_size, f"in KMS key {key_id}")
        return public_jwk(public_key)


# ----------------------------------------------------------------- Secrets Manager
class SecretDecisionSigner:
    """Signs in memory with a PEM RSA private key kept in a Secrets Manager secret.

    The secret is JSON `{"current": "<PEM>", "previous": "<PEM>"}`, where `previous` is
    optional: `current` signs and both are published. The secret is read once and kept in
    memory for `cache_seconds`, so that a rotation reaches every warm function instance. A failed
    reload keeps the keys already loaded.
    """

    def __init__(
        self,
        secret_arn: str,
        *,
        client: Any = None,
        cache_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not secret_arn.strip():
            raise ConfigurationError("SecretDecisionSigner needs a secret ARN")
        self.secret_arn = secret_arn.strip()
        self.cache_seconds = cache_seconds
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._signing_key: rsa.RSAPrivateKey | None = None
        self._kid = ""
        self._jwks: list[dict[str, str]] = []

    @property
    def client(self) -> Any:
        """The Secrets Manager client, created on first use."""
        if self._client is None:
            self._client = aws.client("secretsmanager")
        return self._client

    @property
    def current_kid(self) -> str:
        """The kid of the `current` key, which signs."""
        return self._keys()[1]

    def jwks(self) -> dict[str, Any]:
        """Return `{"keys": [...]}` with the public JWKs of the `current` and `previous` keys."""
        return {"keys": [dict(jwk) for jwk in self._keys()[2]]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign the claims with the `current` key and return the compact JWT."""
        private_key, kid, _ = self._keys()
        return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})

    def _keys(self) -> tuple[rsa.RSAPrivateKey, str, list[dict[str, str]]]:
        with self._lock:
            now = self._clock()
            expired = self._loaded_at is None or now - self._loaded_at >= self.cache_seconds
            if self._signing_key is None or expired:
                self._reload(now)
            if self._signing_key is None:
                raise ConfigurationError("the signing secret has not been loaded")
            return self._signing_key, self._kid, self._jwks

    def _reload(self, now: float) -> None:
        try:
            self._signing_key, self._jwks = self._load()
        except (ConfigurationError, TransientError) as exc:
            if self._signing_key is None:
                raise
            # A failed reload keeps the keys already in memory until the next reload is due.
            logger.warning(
                "signing secret reload failed; keeping the loaded keys",
                extra={"secret_arn": self.secret_arn, "error": type(exc).__name__},
            )
        self._kid = self._jwks[0]["kid"]
        self._loaded_at = now

    def _load(self) -> tuple[rsa.RSAPrivateKey, list[dict[str, str]]]:
        try:
            response = self.client.get_secret_value(SecretId=self.secret_arn)
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "signing secret read failed",
                extra={"secret_arn": self.secret_arn, "error": type(exc).__name__},
            )
            raise _aws_failure(exc, f"reading the signing secret {self.secret_arn}") from exc
        expected = 'store {"current": "<PEM>", "previous": "<PEM>"} with "previous" optional'
        try:
            document = json.loads(response.get("SecretString") or "")
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"the signing secret {self.secret_arn} is not JSON; {expected}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("current"), str):
            raise ConfigurationError(f'the signing secret {self.secret_arn} has no "current" key; {expected}')

        current = _private_key(document["current"], "current")
        keys = [public_jwk(current.public_key())]
        previous = document.get("previous")
        if previous is not None:
            if not isinstance(previous, str):
                raise ConfigurationError(
                    f'the "previous" key in the signing secret is not a string; {expected}'
                )
            previous_jwk = public_jwk(_private_key(previous, "previous").public_key())
            if previous_jwk["kid"] != keys[0]["kid"]:
                keys.append(previous_jwk)
        return current, keys


def _private_key(pem: str, name: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The exception text could quote key material, so it is not chained.
        raise ConfigurationError(
            f'the "{name}" key in the signing secret is not an unencrypted PEM key'
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f'the "{name}" key in the signing secret is not an RSA key')
    _check_rsa_key_size(key.key_size, f'"{name}" in the signing secret')
    return key


# ----------------------------------------------------------------- selection and tokens
def signer_from_env(
    *,
    key_ids_variable: str = KEY_IDS_VARIABLE,
    secret_arn_variable: str = SECRET_ARN_VARIABLE,
    purpose: str = "sign access decisions",
) -> DecisionSigner:
    """Return the signer the environment selects: KMS keys first, else a Secrets Manager secret.

    `ACCESS_SIGNING_KEY_IDS` is a comma-separated list of KMS key ids or ARNs, the signing key
    first. `ACCESS_SIGNING_SECRET_ARN` is the ARN of a secret for SecretDecisionSigner. Other
    signers (the OpenID Connect provider's ID tokens) pass their own variable names, and
    `purpose` completes the error message when neither variable is set.
    """
    key_ids = [key_id.strip() for key_id in os.environ.get(key_ids_variable, "").split(",") if key_id.strip()]
    if key_ids:
        return KmsDecisionSigner(key_ids)
    secret_arn = os.environ.get(secret_arn_variable, "").strip()
    if secret_arn:
        return SecretDecisionSigner(secret_arn)
    raise ConfigurationError(
        f"set {key_ids_variable} (comma-separated KMS key ids) or {secret_arn_variable} "
        f"(a Secrets Manager secret with PEM keys) to {purpose}"
    )


def decision_token(
    signer: DecisionSigner,
    *,
    success: bool,
    nonce: str,
    now: int,
    ttl: int = DECISION_TTL_SECONDS,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Sign a decision: `success`, the request's `nonce` unchanged, `iat` = now, `exp` = now + ttl.

    `now` is Unix time in whole seconds. `extra` adds claims and may not replace those four.
    """
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    reserved = RESERVED_DECISION_CLAIMS.intersection(extra or {})
    if reserved:
        raise ValueError(f"extra claims may not replace {sorted(reserved)}")
    claims: dict[str, Any] = {
        **(extra or {}),
        "success": success,
        "nonce": nonce,
        "iat": now,
        "exp": now + ttl,
    }
    return signer.sign(claims)
