"""Build the identity provider adapter that the Lambda environment selects.

Environment variables (template.yaml sets them):

- IDENTITY_PROVIDER: `identity_center`, `okta` or `entra`. Required.
- IDENTITY_STORE_ID: identity store id (d-xxxxxxxxxx or its ARN). Required for identity_center.
- IDENTITY_PROVIDER_URL: the provider's base URL.
  - okta: the org URL, such as https://example.okta.com. Required.
  - entra: the Microsoft Graph base URL. Default https://graph.microsoft.com/v1.0.
  - identity_center: the AWS access portal URL handed to the hire. Optional.
- IDENTITY_PROVIDER_SECRET_ARN: Secrets Manager secret with the API credentials as a JSON
  object. Required for okta and entra, unused by identity_center, which authenticates with
  the function's IAM role.
- IDENTITY_PROVIDER_CA_BUNDLE: optional path of a PEM file of CA certificates trusted for
  the provider's TLS certificate instead of the system store; the local fakes need it.

Secret fields for okta: `client_id`, `private_key` (the service app's RSA private key, PEM
or JWK), optional `key_id` (the key's kid in Okta), `token_url` (default
`{IDENTITY_PROVIDER_URL}/oauth2/v1/token`) and `scopes` (list or space-separated string,
default okta.users.manage okta.groups.manage). A `client_secret` is not accepted, because
Okta service apps that call Okta APIs must use private_key_jwt.

Secret fields for entra: `client_id`, `client_secret`, and `tenant_id` or `token_url`;
optional `tap_lifetime_minutes` (default 60).

The secret is read with Powertools parameters, which caches it for SECRET_MAX_AGE_SECONDS;
the adapter built from one secret value is reused, so its access token survives across warm
invocations until the secret changes.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities import parameters

from hireproof import aws
from hireproof.config import optional_env, require_env
from hireproof.errors import ConfigurationError
from hireproof.identity.base import IdentityProvider
from hireproof.identity.entra import DEFAULT_GRAPH_URL, DEFAULT_TAP_LIFETIME_MINUTES, EntraProvider
from hireproof.identity.identity_center import IdentityCenterProvider
from hireproof.identity.okta import OktaProvider

SECRET_MAX_AGE_SECONDS = 300
PROVIDER_NAMES = ("identity_center", "okta", "entra")


def identity_provider_from_env() -> IdentityProvider:
    """Return the adapter named by IDENTITY_PROVIDER, configured from the environment."""
    provider = require_env("IDENTITY_PROVIDER")
    if provider not in PROVIDER_NAMES:
        raise ConfigurationError(
            f"environment variable IDENTITY_PROVIDER must be one of {', '.join(PROVIDER_NAMES)}, "
            f"got {provider!r}"
        )
    url = optional_env("IDENTITY_PROVIDER_URL")
    ca_bundle = optional_env("IDENTITY_PROVIDER_CA_BUNDLE")

    if provider == "identity_center":
        return _identity_center(require_env("IDENTITY_STORE_ID"), url)

    secret_text = _secret_text(require_env("IDENTITY_PROVIDER_SECRET_ARN"))
    if provider == "okta":
        return _okta(require_env("IDENTITY_PROVIDER_URL"), ca_bundle, secret_text)
    return _entra(url or DEFAULT_GRAPH_URL, ca_bundle, secret_text)


def reset_identity_provider_cache() -> None:
    """Forget the adapters built so far, for a test or a local stack that changes settings."""
    _identity_center.cache_clear()
    _okta.cache_clear()
    _entra.cache_clear()


def _secret_text(secret_arn: str) -> str:
    value = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


@lru_cache(maxsize=4)
def _identity_center(identity_store_id: str, portal_url: str) -> IdentityCenterProvider:
    return IdentityCenterProvider(
        client=aws.client("identitystore"),
        identity_store_id=identity_store_id,
        portal_url=portal_url,
    )


@lru_cache(maxsize=4)
def _okta(org_url: str, ca_bundle: str, secret_text: str) -> OktaProvider:
    secret = _secret_fields(secret_text, "okta")
    if "private_key" not in secret:
        raise ConfigurationError(
            "okta secret needs private_key: Okta service apps authenticate with private_key_jwt, "
            "not with a client secret"
        )
    private_key = secret["private_key"]
    if isinstance(private_key, dict):
        private_key = json.dumps(private_key)
    return OktaProvider(
        org_url=org_url,
        client_id=_required_field(secret, "client_id", "okta"),
        private_key=str(private_key),
        key_id=secret.get("key_id"),
        token_url=secret.get("token_url"),
        scopes=_scopes(secret.get("scopes")),
        verify=ca_bundle or True,
    )


@lru_cache(maxsize=4)
def _entra(graph_url: str, ca_bundle: str, secret_text: str) -> EntraProvider:
    secret = _secret_fields(secret_text, "entra")
    return EntraProvider(
        client_id=_required_field(secret, "client_id", "entra"),
        client_secret=_required_field(secret, "client_secret", "entra"),
        tenant_id=secret.get("tenant_id"),
        token_url=secret.get("token_url"),
        graph_url=graph_url,
        tap_lifetime_minutes=int(
            secret.get("tap_lifetime_minutes") or DEFAULT_TAP_LIFETIME_MINUTES
        ),
        verify=ca_bundle or True,
    )


def _secret_fields(secret_text: str, provider: str) -> dict[str, Any]:
    try:
        secret = json.loads(secret_text)
    except ValueError as exc:
        raise ConfigurationError(f"{provider} secret is not JSON; store a JSON object") from exc
    if not isinstance(secret, dict):
        raise ConfigurationError(f"{provider} secret is not a JSON object")
    return secret


def _required_field(secret: dict[str, Any], field: str, provider: str) -> str:
    value = secret.get(field)
    if not value:
        raise ConfigurationError(f"{provider} secret has no {field}")
    return str(value)


def _scopes(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.split()
    return [str(scope) for scope in value]
