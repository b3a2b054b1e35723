"""The OpenID Connect provider's steps, as the OIDC function's routes call them.

A login runs in three steps, and the person's browser carries it between them:

1. `begin_authorization` validates GET or POST /oauth2/authorize with oauthlib and stores the
   request for 10 minutes. It returns a `PendingAuthorization` with a random browser secret,
   which the handler sets as a cookie (`browser_cookie_name`), or an error to redirect to the
   client (`ErrorRedirect`) or to show (`ErrorPage`: a bad client_id or redirect_uri is never
   redirected to).
2. The login pages ask for the work e-mail and run a new verification. They call
   `load_pending` with the cookie's value to read the request and make sure that the same
   browser continues it.
3. `complete_authorization` ends the request with a code, or `deny_authorization` with an
   error. Either one returns the Location of the redirect back to the client, and a request
   ends only once.

The client then redeems the code at /oauth2/token (`token_response`), with its secret and PKCE
verifier, for an access token and an ID token, and may call /oauth2/userinfo.

No HireProof login session is kept, so every authorization needs a new verification: `auth_time`
is when that verification finished, which is after the request began (`complete_authorization`
checks it). `max_age` and `prompt=login` are met by construction, and `prompt=none` gets the error
`login_required`.

The issuer is OIDC_ISSUER_URL when set, else the scheme and host of the request URI, as the
handler builds it from the API Gateway request (https and the API's domain).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749.errors import FatalClientError, OAuth2Error
from pydantic import BaseModel, ConfigDict

from hireproof import aws
from hireproof.access.signing import DecisionSigner
from hireproof.config import require_env
from hireproof.errors import (
    AuthorizationBrowserMismatchError,
    AuthorizationClientRejectedError,
    ConfigurationError,
    StaleVerificationError,
)
from hireproof.oidc import signing
from hireproof.oidc.claims import VerifiedLogin
from hireproof.oidc.server import CodeFlowServer, discovery_document, is_loopback_http
from hireproof.oidc.store import PENDING_REQUEST_TTL_SECONDS, OidcStore, PendingRequest
from hireproof.oidc.validator import LOGIN_ATTRIBUTE, PENDING_ATTRIBUTE, ProviderRequestValidator

__all__ = [
    "AuthorizationStart",
    "EndpointResponse",
    "ErrorPage",
    "ErrorRedirect",
    "OidcProvider",
    "PendingAuthorization",
    "VerifiedLogin",
    "begin_authorization",
    "browser_cookie_name",
    "complete_authorization",
    "deny_authorization",
    "load_pending",
]

logger = Logger(child=True)

ISSUER_VARIABLE = "OIDC_ISSUER_URL"
TABLE_VARIABLE = "OIDC_TABLE"
BROWSER_COOKIE_PREFIX = "hireproof_oidc_"
BROWSER_COOKIE_PATH = "/oauth2"
REQUEST_ID_BYTES = 32
BROWSER_SECRET_BYTES = 32
# A verification may finish on another function's clock; this much skew is tolerated.
CLOCK_SKEW_SECONDS = 60
# Errors a denial may send (RFC 6749, section 4.1.2.1, and OpenID Connect Core, section 3.1.2.6).
DENIAL_ERRORS = frozenset(
    {"access_denied", "login_required", "interaction_required", "server_error", "temporarily_unavailable"}
)
# RFC 6749 allows only these characters in error_description: printable ASCII without " and \.
_DESCRIPTION = re.compile(r'^[\x20-\x21\x23-\x5b\x5d-\x7e]+$')
DEFAULT_DENIAL_DESCRIPTION = "The person was not verified"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# ----------------------------------------------------------------- interface models
class PendingAuthorization(BaseModel):
    """A validated authorization request that waits for the person's verification.

    `browser_secret` is the value of the cookie named `browser_cookie_name(request_id)`: the
    handler sets it HttpOnly, SameSite=Lax, Path=/oauth2, Max-Age=600 and Secure (except for
    the local stack's http issuer), and `load_pending` requires it back.
    """

    model_config = ConfigDict(frozen=True)

    request_id: str
    browser_secret: str
    ui_locales: tuple[str, ...] = ()
    client_id: str
    client_name: str
    login_hint: str | None = None
    issuer: str
    expires_at: int


class ErrorRedirect(BaseModel):
    """An authorization error to send back to the client's registered redirect URI with its state."""

    model_config = ConfigDict(frozen=True)

    location: str


class ErrorPage(BaseModel):
    """An authorization error to show to the person, never redirected: bad client_id or redirect_uri."""

    model_config = ConfigDict(frozen=True)

    status: int
    error: str
    description: str


AuthorizationStart = PendingAuthorization | ErrorRedirect | ErrorPage


class EndpointResponse(BaseModel):
    """An HTTP response from the token or userinfo endpoint: status, headers and body."""

    model_config = ConfigDict(frozen=True)

    status: int
    headers: dict[str, str]
    body: str


def browser_cookie_name(request_id: str) -> str:
    """Return the name of the cookie that binds a pending request to the browser that began it.

    Each request has its own cookie, so two logins in two tabs of one browser do not collide.
    """
    return f"{BROWSER_COOKIE_PREFIX}{request_id}"


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        raise ConfigurationError(f"cannot take an issuer from the request URI {uri!r}")
    return f"{parts.scheme}://{parts.netloc}"


def check_issuer(issuer: str) -> str:
    """Return the issuer without a trailing slash, or raise ConfigurationError when it is unusable.

    An issuer is an https URL without query or fragment (OpenID Connect Discovery 1.0), or http
    on 127.0.0.1 or localhost for the local stack.
    """
    value = issuer.rstrip("/")
    parts = urlsplit(value)
    if parts.query or parts.fragment or not parts.hostname:
        raise ConfigurationError(f"the issuer {issuer!r} must be a URL without query or fragment")
    if parts.scheme != "https" and not is_loopback_http(value):
        raise ConfigurationError(
            f"the issuer {issuer!r} must use https (http only for 127.0.0.1 or localhost)"
        )
    return value


# ----------------------------------------------------------------- the provider
class OidcProvider:
    """The provider's steps over one OidcTable store.

    `issuer_url` fixes the issuer (OIDC_ISSUER_URL); when it is empty, each request's URI gives
    it. `signer` and `subject` are needed by the token endpoint only.
    """

    def __init__(
        self,
        store: OidcStore,
        *,
        signer: DecisionSigner | None = None,
        subject: Callable[[str], str] | None = None,
        issuer_url: str = "",
    ) -> None:
        self.store = store
        self.signer = signer
        self._subject = subject
        self._issuer_url = check_issuer(issuer_url) if issuer_url else ""

    def issuer_for(self, uri: str) -> str:
        """Return the issuer that serves a request to `uri`."""
        return self._issuer_url or check_issuer(_origin(uri))

    def _server(self, issuer: str) -> CodeFlowServer:
        validator = ProviderRequestValidator(
            self.store, issuer=issuer, signer=self.signer, subject=self._subject
        )
        return CodeFlowServer(validator)

    # ------------------------------------------------------------- authorization
    def begin_authorization(
        self,
        uri: str,
        http_method: str = "GET",
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AuthorizationStart:
        """Validate an authorization request and store it, or return the error to send.

        `uri` is the full request URI with its query string. A missing, unknown or disabled
        client, or a redirect_uri that is missing or not registered, gives an `ErrorPage`. Every
        other error goes back to the client's redirect URI with `state` and `iss`.
        """
        issuer = self.issuer_for(uri)
        server = self._server(issuer)
        try:
            scopes, info = server.validate_authorization_request(uri, http_method, body, dict(headers or {}))
        except FatalClientError as exc:
            logger.info("authorization request refused", extra={"error": exc.error, "shown_to": "person"})
            return ErrorPage(status=400, error=exc.error, description=exc.description)
        except OAuth2Error as exc:
            logger.info("authorization request refused", extra={"error": exc.error, "shown_to": "client"})
            if not exc.redirect_uri:
                return ErrorPage(status=400, error=exc.error, description=exc.description)
            return ErrorRedirect(location=_error_location(exc, issuer))

        request = info["request"]
        client = request.client
        now = self.store.now()
        request_id = secrets.token_urlsafe(REQUEST_ID_BYTES)
        browser_secret = secrets.token_urlsafe(BROWSER_SECRET_BYTES)
        record = PendingRequest(
            request_id=request_id,
            client_id=client.client_id,
            client_name=client.name,
            issuer=issuer,
            uri=uri,
            http_method=http_method.upper(),
            body=body or None,
            redirect_uri=request.redirect_uri,
            state=request.state,
            nonce=request.nonce,
            scopes=tuple(scopes),
            ui_locales=tuple(info.get("ui_locales") or ()),
            login_hint=request.login_hint,
            max_age=int(request.max_age) if request.max_age is not None else None,
            browser_secret_hash=_secret_hash(browser_secret),
            created_at=now,
            expires_at=now + PENDING_REQUEST_TTL_SECONDS,
        )
        self.store.create_pending(record)
        logger.info(
            "authorization request pending", extra={"client_id": client.client_id, "request_id": request_id}
        )
        return _pending_view(record, browser_secret)

    def load_pending(self, request_id: str, browser_secret: str | None) -> PendingAuthorization:
        """Return a pending request that `browser_secret` (the cookie's value) proves is this browser's.

        Raises AuthorizationRequestNotFoundError, AuthorizationRequestExpiredError,
        AuthorizationRequestUsedError or AuthorizationBrowserMismatchError.
        """
        record = self.store.check_usable(self.store.get_pending(request_id))
        expected = record.browser_secret_hash
        if not browser_secret or not hmac.compare_digest(_secret_hash(browser_secret), expected):
            logger.warning(
                "authorization request continued by another browser", extra={"request_id": request_id}
            )
            raise AuthorizationBrowserMismatchError(
                "this sign-in began in another browser; start again from the application", field="request"
            )
        return _pending_view(record, browser_secret)

    def complete_authorization(self, request_id: str, login: VerifiedLogin) -> str:
        """End a pending request with an authorization code for `login`; return the redirect Location.

        The Location is the client's redirect URI with `code`, `state` and `iss`. The request is
        marked used before the code is made, so it yields at most one code. oauthlib validates
        the stored request again: a client disabled meanwhile raises
        AuthorizationClientRejectedError, and a scope it may no longer request returns an error
        Location instead. StaleVerificationError (raised before the request is used up) means the
        login's verification finished before the request began, and each authorization needs a
        new verification. The errors of `load_pending` apply too.
        """
        pending = self.store.check_usable(self.store.get_pending(request_id))
        auth_time = int(login.auth_time.timestamp())
        if not pending.created_at - CLOCK_SKEW_SECONDS <= auth_time <= self.store.now() + CLOCK_SKEW_SECONDS:
            logger.warning(
                "verification older than the authorization request", extra={"request_id": request_id}
            )
            raise StaleVerificationError(
                "the verification did not happen during this sign-in; verify again", field="auth_time"
            )
        record = self.store.claim_pending(request_id)

        server = self._server(record.issuer)
        try:
            # Validating first turns a now-refused request into an error redirect that carries iss.
            server.validate_authorization_request(record.uri, record.http_method, record.body, {})
            headers, _, _ = server.create_authorization_response(
                record.uri,
                record.http_method,
                record.body,
                {},
                scopes=list(record.scopes),
                credentials={LOGIN_ATTRIBUTE: login, PENDING_ATTRIBUTE: record},
            )
        except FatalClientError as exc:
            logger.warning(
                "client no longer accepts the request", extra={"request_id": request_id, "error": exc.error}
            )
            raise AuthorizationClientRejectedError(
                f"the application's registration no longer allows this sign-in: {exc.description}",
                field="client_id",
            ) from exc
        except OAuth2Error as exc:
            logger.info("authorization request refused", extra={"request_id": request_id, "error": exc.error})
            return _error_location(exc, record.issuer)
        return str(headers["Location"])

    def deny_authorization(
        self, request_id: str, error: str = "access_denied", description: str = DEFAULT_DENIAL_DESCRIPTION
    ) -> str:
        """End a pending request with an error; return the redirect Location.

        The Location is the client's redirect URI with `error`, `error_description`, `state` and
        `iss`. `error` is one of DENIAL_ERRORS, and `description` is printable ASCII without `"`
        or `\\`, as RFC 6749 requires, because the client reads it, not the person.
        """
        if error not in DENIAL_ERRORS:
            raise ValueError(f"error must be one of {sorted(DENIAL_ERRORS)}, got {error!r}")
        if not _DESCRIPTION.match(description):
            raise ValueError('description must be printable ASCII without " or \\')
        record = self.store.claim_pending(request_id)
        parameters = [("error", error), ("error_description", description)]
        if record.state:
            parameters.append(("state", record.state))
        parameters.append(("iss", record.issuer))
        logger.info("authorization request denied", extra={"request_id": request_id, "error": error})
        return str(add_params_to_uri(record.redirect_uri, parameters))

    # ------------------------------------------------------------- token, userinfo, metadata
    def token_response(
        self, uri: str, http_method: str, body: str | None, headers: Mapping[str, str]
    ) -> EndpointResponse:
        """Respond to POST /oauth2/token: tokens, or an RFC 6749 JSON error with its status.

        invalid_client is 401 with a Basic challenge (RFC 6749, section 5.2). Every response
        carries Cache-Control: no-store.
        """
        issuer = self.issuer_for(uri)
        try:
            response_headers, response_body, status = self._server(issuer).create_token_response(
                uri, http_method, body, dict(headers)
            )
        except OAuth2Error as exc:
            # Raised outside oauthlib's own handling, from save_bearer_token after a code reuse.
            response_headers, response_body, status = dict(exc.headers), exc.json, exc.status_code
        merged = {"Content-Type": "application/json", **dict(response_headers), **NO_STORE}
        if status == 401:
            merged["WWW-Authenticate"] = f'Basic realm="{issuer}", charset="UTF-8"'
        return EndpointResponse(status=status, headers=merged, body=str(response_body))

    def userinfo_response(
        self, uri: str, http_method: str, body: str | None, headers: Mapping[str, str]
    ) -> EndpointResponse:
        """Respond to GET or POST /oauth2/userinfo with the token's claims, or an RFC 6750 error."""
        server = self._server(self.issuer_for(uri))
        try:
            response_headers, response_body, status = server.create_userinfo_response(
                uri, http_method, body, dict(headers)
            )
        except OAuth2Error as exc:
            response_headers = {"Content-Type": "application/json", **exc.headers}
            response_body, status = exc.json, exc.status_code
        merged = {**dict(response_headers), **NO_STORE}
        return EndpointResponse(status=status, headers=merged, body=str(response_body))

    def discovery(self, uri: str) -> dict[str, Any]:
        """Return the OpenID Connect Discovery document of the issuer that serves `uri`."""
        issuer = self.issuer_for(uri)
        return discovery_document(self._server(issuer), issuer)

    def jwks(self) -> dict[str, Any]:
        """Return the JWKS of every published ID token signing key."""
        if self.signer is None:
            raise ConfigurationError("the OpenID Connect provider has no ID token signer")
        return self.signer.jwks()


def _pending_view(record: PendingRequest, browser_secret: str) -> PendingAuthorization:
    return PendingAuthorization(
        request_id=record.request_id,
        browser_secret=browser_secret,
        ui_locales=record.ui_locales,
        client_id=record.client_id,
        client_name=record.client_name,
        login_hint=record.login_hint,
        issuer=record.issuer,
        expires_at=record.expires_at,
    )


def _error_location(exc: OAuth2Error, issuer: str) -> str:
    parameters = [*exc.twotuples, ("iss", issuer)]
    return str(add_params_to_uri(exc.redirect_uri, parameters, fragment=exc.response_mode == "fragment"))


# ----------------------------------------------------------------- the function's provider
@cache
def default_provider() -> OidcProvider:
    """Return this function's provider, built once from OIDC_TABLE, the signing keys and OIDC_ISSUER_URL."""
    store = OidcStore(aws.table(require_env(TABLE_VARIABLE)), clock=time.time)
    issuer_url = os.environ.get(ISSUER_VARIABLE, "")
    return OidcProvider(store, signer=signing.signer_from_env(), issuer_url=issuer_url)


def begin_authorization(
    uri: str, http_method: str = "GET", body: str | None = None, headers: Mapping[str, str] | None = None
) -> AuthorizationStart:
    """`OidcProvider.begin_authorization` on the function's provider."""
    return default_provider().begin_authorization(uri, http_method, body, headers)


def load_pending(request_id: str, browser_secret: str | None) -> PendingAuthorization:
    """`OidcProvider.load_pending` on the function's provider."""
    return default_provider().load_pending(request_id, browser_secret)


def complete_authorization(request_id: str, login: VerifiedLogin) -> str:
    """`OidcProvider.complete_authorization` on the function's provider."""
    return default_provider().complete_authorization(request_id, login)


def deny_authorization(
    request_id: str, error: str = "access_denied", description: str = DEFAULT_DENIAL_DESCRIPTION
) -> str:
    """`OidcProvider.deny_authorization` on the function's provider."""
    return default_provider().deny_authorization(request_id, error, description)
