"""oauthlib's OpenID Connect endpoints, configured for HireProof: the code flow with S256 PKCE only.

`oauthlib.openid.Server` also enables the implicit, hybrid, password, client credentials,
refresh token and device grants. `CodeFlowServer` composes the same oauthlib endpoint and grant
classes with the OpenID Connect authorization code grant alone, so the other flows do not
exist here rather than being refused one by one. Its responses are oauthlib's.

`discovery_document` builds the OpenID Connect Discovery 1.0 metadata with oauthlib's
MetadataEndpoint, so the advertised response types, grant types and PKCE methods are read
from the configured server.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.endpoints import AuthorizationEndpoint, MetadataEndpoint, TokenEndpoint
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant

from hireproof.i18n import SUPPORTED_LOCALES
from hireproof.oidc.claims import (
    ACR_VALUES,
    EVIDENCE_TYPE,
    IDA_DOCUMENT_TYPES,
    SCOPE_CLAIMS,
    TRUST_FRAMEWORK,
    VERIFIED_NAME_CLAIMS,
)
from hireproof.oidc.clients import SUPPORTED_SCOPES, TokenEndpointAuthMethod
from hireproof.oidc.signing import ALGORITHM
from hireproof.oidc.store import ACCESS_TOKEN_TTL_SECONDS
from hireproof.oidc.validator import ProviderRequestValidator

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)
USERINFO_PATH = "/oauth2/userinfo"
JWKS_PATH = "/oauth2/jwks"
DISCOVERY_PATH = "/.well-known/openid-configuration"
ACCESS_TOKEN_BYTES = 32
# Parameters of OpenID Connect Core, section 6, which this provider does not support.
_UNSUPPORTED_PARAMETERS = {
    "request": "request_not_supported",
    "request_uri": "request_uri_not_supported",
    "registration": "registration_not_supported",
}


def _access_token(request: Any) -> str:
    return secrets.token_urlsafe(ACCESS_TOKEN_BYTES)


def _check_parameters(request: Any) -> dict[str, Any]:
    """Reject what oauthlib would let through: other response types and modes, repeats, bad max_age.

    It runs after oauthlib has validated client_id and redirect_uri, so every error it raises is
    redirected to the client with the request's state.
    """
    repeated = sorted(set(request.duplicate_params))
    if repeated:
        raise oauth_errors.InvalidRequestError(
            description=f"parameters sent more than once: {', '.join(repeated)}", request=request
        )
    if request.response_type != "code":
        raise oauth_errors.UnsupportedResponseTypeError(
            description="only response_type=code is supported", request=request
        )
    if request.response_mode not in (None, "query"):
        raise oauth_errors.InvalidRequestError(
            description="only response_mode=query is supported", request=request
        )
    parameters = {name for name, _ in [*request.uri_query_params, *(request.decoded_body or [])]}
    for name, error in _UNSUPPORTED_PARAMETERS.items():
        if name in parameters:
            raise oauth_errors.CustomOAuth2Error(
                error, description=f"the {name} parameter is not supported", request=request
            )
    if request.max_age is not None and not str(request.max_age).isdigit():
        raise oauth_errors.InvalidRequestError(
            description="max_age must be a whole number of seconds", request=request
        )
    return {}


class CodeFlowServer(AuthorizationEndpoint, TokenEndpoint, UserInfoEndpoint):  # type: ignore[misc]
    """The authorization, token and userinfo endpoints around one OpenID Connect code grant.

    The authorization response carries `iss` (RFC 9207), which lets a client that talks to
    several providers detect a response from the wrong one.
    """

    def __init__(self, validator: ProviderRequestValidator) -> None:
        grant = AuthorizationCodeGrant(validator, refresh_token=False)
        # A missing code_challenge_method means plain (RFC 7636), so it is refused as well.
        grant.proxy_target._code_challenge_methods = {"S256": code_challenge_method_s256}
        grant.custom_validators.pre_auth.append(_check_parameters)
        grant.register_code_modifier(
            lambda code, token_handler, request: {**code, "iss": validator.issuer}
        )
        bearer = BearerToken(validator, token_generator=_access_token, expires_in=ACCESS_TOKEN_TTL_SECONDS)
        self.code_grant = grant
        AuthorizationEndpoint.__init__(
            self, default_response_type="code", response_types={"code": grant}, default_token_type=bearer
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={"authorization_code": grant},
            default_token_type=bearer,
        )
        UserInfoEndpoint.__init__(self, validator)


def is_loopback_http(url: str) -> bool:
    """Return whether `url` is http on 127.0.0.1 or localhost, which only the local stack serves."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


def discovery_document(server: CodeFlowServer, issuer: str) -> dict[str, Any]:
    """Return the OpenID Connect Discovery 1.0 metadata of `server` under `issuer`."""
    claims_supported = sorted(
        {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "verified_claims"}
        | {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
    )
    metadata: Mapping[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{AUTHORIZE_PATH}",
        "token_endpoint": f"{issuer}{TOKEN_PATH}",
        "userinfo_endpoint": f"{issuer}{USERINFO_PATH}",
        "jwks_uri": f"{issuer}{JWKS_PATH}",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": [method.value for method in TokenEndpointAuthMethod],
        "claims_supported": claims_supported,
        "acr_values_supported": list(ACR_VALUES),
        "ui_locales_supported": list(SUPPORTED_LOCALES),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        # OpenID Connect for Identity Assurance 1.0 metadata.
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": [EVIDENCE_TYPE],
        "documents_supported": sorted(set(IDA_DOCUMENT_TYPES.values())),
        "claims_in_verified_claims_supported": list(VERIFIED_NAME_CLAIMS),
    }
    # oauthlib raises for an issuer that is not https unless raise_errors is off; the local stack serves http.
    endpoint = MetadataEndpoint([server], claims=dict(metadata), raise_errors=not is_loopback_http(issuer))
    return dict(endpoint.claims)
