"""Webhook signing keys per HR source, read from Secrets Manager and cached.

The secret named by HR_WEBHOOK_SECRET_ARN contains one JSON object:
``{"bamboohr": "<private key>", "greenhouse": "<secret key>", "generic": "<key>"}``.
An empty or absent key disables that source: its webhooks are rejected with 401.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from hireproof.config import int_env, require_env
from hireproof.errors import ConfigurationError, SignatureInvalidError
from hireproof.models import HireSource

logger = Logger(child=True)

SECRET_ENV = "HR_WEBHOOK_SECRET_ARN"  # noqa: S105 (the variable name, not a secret)
# Five minutes bounds how long a rotated key keeps being accepted by a warm function.
DEFAULT_CACHE_SECONDS = 300


def webhook_key(source: HireSource) -> bytes:
    """Return the signing key of one HR source.

    Raises
    ------
    SignatureInvalidError
        The source has no key configured, so none of its requests can be verified.
    ConfigurationError
        The secret is not a JSON object.
    """
    keys: Any = parameters.get_secret(
        require_env(SECRET_ENV),
        transform="json",
        max_age=int_env("HR_WEBHOOK_SECRET_CACHE_SECONDS", DEFAULT_CACHE_SECONDS),
    )
    if not isinstance(keys, dict):
        raise ConfigurationError(
            f"the secret in {SECRET_ENV} must be a JSON object of keys per HR source"
        )
    key = keys.get(source.value)
    if not isinstance(key, str) or not key:
        logger.warning("HR source has no webhook key configured", extra={"source": source.value})
        raise SignatureInvalidError(
            f"the {source.value} source is disabled: it has no webhook key configured"
        )
    return key.encode("utf-8")
