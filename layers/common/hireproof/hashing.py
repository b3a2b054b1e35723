"""Keyed hashes of personal values that must be compared later but never read back.

Addresses and document numbers have little entropy, so a plain hash could be
reversed by guessing. An HMAC with a key kept in Secrets Manager cannot be.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from aws_lambda_powertools.utilities import parameters

from hireproof.config import require_env

_KEY_CACHE_SECONDS = 300


def _key() -> bytes:
    secret = parameters.get_secret(require_env("HASH_KEY_SECRET_ARN"), max_age=_KEY_CACHE_SECONDS)
    return str(secret).encode()


def normalize_text(value: str) -> str:
    """Fold case, accents, punctuation and spacing so equal values hash equally."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() else " " for ch in stripped.casefold())
    return " ".join(kept.split())


def keyed_hash(purpose: str, value: str, *, key: bytes | None = None) -> str:
    """Return the hex HMAC-SHA256 of a normalized value, separated by purpose."""
    message = f"{purpose}:{normalize_text(value)}".encode()
    return hmac.new(key if key is not None else _key(), message, hashlib.sha256).hexdigest()
