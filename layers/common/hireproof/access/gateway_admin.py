"""Session revocation at the access gateway, so that a suspended person's open sessions end.

Cloudflare Access revokes every Access token of one user with
`POST {base_url}/client/v4/accounts/{account_id}/access/organizations/revoke_user` and the JSON
body `{"email": ...}`, authenticated with an API token (`Authorization: Bearer ...`) that has the
"Access: Organizations, Identity Providers, and Groups Write" permission. The API returns
Cloudflare's v4 envelope `{"success", "errors": [{"code", "message"}], "messages", "result"}`.
After a revocation the user cannot sign in again for up to a minute, and then signs in anew,
which runs the external evaluation again.

`gateway_admin_from_env()` reads GATEWAY_ADMIN_SECRET_ARN, a Secrets Manager secret holding the
JSON object `{"account_id", "api_token", "base_url"?}`. An unset variable or an empty object
means that no gateway is administered: `NoGatewayAdmin` then logs a warning on each revocation
and the caller records `gateway_revocation_skipped`. GATEWAY_ADMIN_CA_BUNDLE optionally names a
PEM file of CA certificates to trust instead of the system store; only the local fake needs it.

Status mapping: 2xx with `success` true succeeds. 429, 5xx, timeouts and connection errors raise
TransientError, so the caller's retry repeats the call. Other statuses and a 2xx with `success`
false raise GatewayAdminError. Messages carry Cloudflare's numeric error codes only, never the
e-mail address or the token.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from pydantic import SecretStr

from hireproof.config import optional_env
from hireproof.errors import ConfigurationError, GatewayAdminError, TransientError

logger = Logger(child=True)

SECRET_ENV = "GATEWAY_ADMIN_SECRET_ARN"  # noqa: S105 - an environment variable name
CA_BUNDLE_ENV = "GATEWAY_ADMIN_CA_BUNDLE"
DEFAULT_BASE_URL = "https://api.cloudflare.com"
SECRET_MAX_AGE_SECONDS = 300
# (connect, read) timeouts in seconds; the risk event's retry repeats a timed-out call.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 15.0)
_RETRYABLE_STATUSES = frozenset({408, 429})


@runtime_checkable
class GatewayAdmin(Protocol):
    """An access gateway's administration API, as far as HireProof uses it."""

    name: str

    def revoke_user(self, email: str) -> None:
        """End every gateway session of the user with this e-mail address.

        Safe to repeat: revoking a user without sessions succeeds.
        """
        ...


class NoGatewayAdmin:
    """The GatewayAdmin of a deployment without gateway credentials: revokes nothing."""

    name = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def revoke_user(self, email: str) -> None:
        """Log that gateway sessions stay open until they expire; make no call."""
        logger.warning("gateway session revocation skipped", extra={"reason": self.reason})


class CloudflareAccessAdmin:
    """GatewayAdmin for Cloudflare Access (Zero Trust) through the Cloudflare v4 API."""

    name = "cloudflare_access"

    def __init__(
        self,
        account_id: str,
        api_token: str | SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        *,
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if not account_id or not str(account_id).strip():
            raise ConfigurationError("the Cloudflare account id is empty")
        token = api_token if isinstance(api_token, SecretStr) else SecretStr(api_token)
        if not token.get_secret_value().strip():
            raise ConfigurationError("the Cloudflare API token is empty")
        parts = urlsplit(base_url)
        if parts.scheme != "https" or not parts.hostname:
            # The request carries an API token and an e-mail address.
            raise ConfigurationError(f"the Cloudflare API base URL must be an https URL, got {base_url!r}")
        self._url = (
            f"{base_url.rstrip('/')}/client/v4/accounts/{quote(str(account_id).strip(), safe='')}"
            "/access/organizations/revoke_user"
        )
        self._token = token
        self._verify = verify
        self._timeout = timeout
        self._session = session or requests.Session()

    def revoke_user(self, email: str) -> None:
        """Revoke the user's Access tokens in every application of the account."""
        try:
            response = self._session.post(
                self._url,
                json={"email": email},
                headers={
                    "Authorization": f"Bearer {self._token.get_secret_value()}",
                    "Accept": "application/json",
                },
                timeout=self._timeout,
                verify=self._verify,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"Cloudflare revoke_user failed with {type(exc).__name__}; retry") from exc

        body = _json_object(response)
        codes = _error_codes(body)
        if response.status_code in _RETRYABLE_STATUSES or response.status_code >= 500:
            raise TransientError(
                f"Cloudflare revoke_user failed with HTTP {response.status_code} {codes}; retry"
            )
        if not 200 <= response.status_code < 300:
            raise GatewayAdminError(
                f"Cloudflare revoke_user was rejected with HTTP {response.status_code} {codes};"
                " check the account id and the API token's Access permissions"
            )
        if body.get("success") is not True:
            raise GatewayAdminError(f"Cloudflare revoke_user did not succeed {codes}")
        logger.info("gateway sessions revoked", extra={"gateway": self.name})


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_codes(body: dict[str, Any]) -> str:
    """Return Cloudflare's error codes as `[codes 10000, 9109]`; the messages may echo input."""
    errors = body.get("errors")
    codes = [
        str(error.get("code"))
        for error in errors or []
        if isinstance(error, dict) and isinstance(error.get("code"), int)
    ]
    return f"[codes {', '.join(codes)}]" if codes else "[no error code]"


def gateway_admin_from_env() -> GatewayAdmin:
    """Return the gateway administration client that GATEWAY_ADMIN_SECRET_ARN configures.

    Raises ConfigurationError for a secret that is not a JSON object or that has only one of
    account_id and api_token, because a half-configured gateway should be fixed, not skipped.
    """
    secret_arn = optional_env(SECRET_ENV)
    if not secret_arn:
        return NoGatewayAdmin(f"{SECRET_ENV} is not set")
    value = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    text = value.decode() if isinstance(value, bytes) else str(value)
    return _admin_from_secret(text, optional_env(CA_BUNDLE_ENV))


@lru_cache(maxsize=4)
def _admin_from_secret(secret_text: str, ca_bundle: str) -> GatewayAdmin:
    try:
        secret = json.loads(secret_text or "{}")
    except ValueError as exc:
        raise ConfigurationError("the gateway admin secret is not JSON; store a JSON object") from exc
    if not isinstance(secret, dict):
        raise ConfigurationError("the gateway admin secret is not a JSON object")
    account_id, api_token = secret.get("account_id"), secret.get("api_token")
    if not account_id and not api_token:
        return NoGatewayAdmin("the gateway admin secret has no account_id and api_token")
    if not account_id or not api_token:
        raise ConfigurationError("the gateway admin secret needs both account_id and api_token")
    return CloudflareAccessAdmin(
        str(account_id),
        SecretStr(str(api_token)),
        str(secret.get("base_url") or DEFAULT_BASE_URL),
        verify=ca_bundle or True,
    )


def reset_gateway_admin_cache() -> None:
    """Forget the clients built so far, for a test or a local stack that changes settings."""
    _admin_from_secret.cache_clear()
