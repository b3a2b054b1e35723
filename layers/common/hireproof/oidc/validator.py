"""The oauthlib request validator behind HireProof's OpenID Connect provider.

oauthlib (4.0.1) runs the protocol: parameter checks, PKCE, error responses and token
responses. This class answers its questions from OidcTable and signs the ID token:

- Clients are confidential and must authenticate at the token endpoint with the one method
  their registration names. A client with a missing, unknown or wrong secret gets
  `invalid_client`.
- `redirect_uri` is required (OpenID Connect Core, section 3.1.2.1) and must equal one of the
  client's registered URIs exactly, as a string.
- PKCE is required for every client, with S256 only (`hireproof.oidc.server` removes `plain`).
- A code is redeemed with one conditional write in `validate_code`, before oauthlib checks the
  code verifier and redirect URI. So a redemption that fails those checks uses the code up too,
  and the client must start a new authorization.
- No login session exists, so `prompt=none` always gets the error `login_required`.

Values that oauthlib passes between its calls travel as attributes of its request object,
named by the `*_ATTRIBUTE` constants below.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from oauthlib.openid.connect.core.request_validator import RequestValidator

from hireproof.access.signing import DecisionSigner
from hireproof.errors import ConfigurationError
from hireproof.oidc.claims import VerifiedLogin, id_token_claims, identity_claims, subject_for
from hireproof.oidc.clients import (
    OPENID_SCOPE,
    ClientRegistration,
    TokenEndpointAuthMethod,
    unknown_client_hash,
    verify_secret,
)
from hireproof.oidc.store import (
    ACCESS_TOKEN_TTL_SECONDS,
    CODE_TTL_SECONDS,
    CodeRecord,
    OidcStore,
    PendingRequest,
    TokenRecord,
    sha256_hex,
)

logger = Logger(child=True)

LOGIN_ATTRIBUTE = "hireproof_login"
PENDING_ATTRIBUTE = "hireproof_pending"
CODE_ATTRIBUTE = "hireproof_code"
IDENTITY_ATTRIBUTE = "hireproof_identity"
TOKEN_ATTRIBUTE = "hireproof_token"  # noqa: S105 (an attribute name, not a token)
AUTHORIZATION_CODE_GRANT = "authorization_code"
_MAX_LOGGED_ID_CHARS = 128

Credentials = tuple[str, str, TokenEndpointAuthMethod]


def client_credentials(request: Any) -> Credentials | None:
    """Return (client id, secret, method) from a token request, or None when they are unusable.

    HTTP Basic credentials are form-encoded before base64 (RFC 6749, section 2.3.1), so both
    parts are decoded again. A request that carries a secret both ways, or a body client_id that
    differs from the Basic one, is rejected: a client must use exactly one method.
    """
    body = dict(request.decoded_body or [])
    body_id, body_secret = body.get("client_id"), body.get("client_secret")
    authorization = request.headers.get("Authorization")
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or body_secret is not None:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        raw_id, separator, raw_secret = decoded.partition(":")
        if not separator:
            return None
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if body_id is not None and body_id != client_id:
            return None
        return client_id, secret, TokenEndpointAuthMethod.CLIENT_SECRET_BASIC
    if body_id and body_secret:
        return body_id, body_secret, TokenEndpointAuthMethod.CLIENT_SECRET_POST
    return None


class ProviderRequestValidator(RequestValidator):  # type: ignore[misc]
    """The oauthlib validator for one issuer, backed by OidcTable.

    `signer` signs ID tokens and `subject` maps a person id to `sub`. The token endpoint alone
    needs them, so the authorization steps can run without them.
    """

    def __init__(
        self,
        store: OidcStore,
        *,
        issuer: str,
        signer: DecisionSigner | None = None,
        subject: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.issuer = issuer
        self._signer = signer
        self._subject = subject or subject_for

    # ------------------------------------------------------------- clients
    def _active_client(self, client_id: str | None) -> ClientRegistration | None:
        client = self.store.get_client(client_id or "")
        if client is None or client.disabled:
            return None
        return client

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        """Accept a registered client that is not disabled, and put it on the request."""
        client = self._active_client(client_id)
        if client is None:
            logger.info("authorization request for unknown client", extra={"client_id": _short(client_id)})
            return False
        request.client = client
        return True

    def validate_redirect_uri(
        self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Accept only a redirect URI that equals a registered one character for character."""
        client = self._active_client(client_id)
        return client is not None and redirect_uri in client.redirect_uris

    def get_default_redirect_uri(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> str | None:
        """Return None: OpenID Connect requires redirect_uri, so there is no default."""
        return None

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Accept the authorization code flow only."""
        return bool(response_type == "code")

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        """Return no scopes, so a request without a scope fails with invalid_scope."""
        return []

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Require openid and only scopes that the client's registration allows."""
        allowed = set(client.allowed_scopes) if isinstance(client, ClientRegistration) else set()
        return OPENID_SCOPE in scopes and set(scopes) <= allowed

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        """Require PKCE from every client."""
        return True

    # ------------------------------------------------------------- no session, so no silent login
    def validate_silent_login(self, request: Any) -> bool:
        """Return False: without a session, `prompt=none` ends with login_required."""
        return False

    def validate_silent_authorization(self, request: Any) -> bool:
        """Return False; oauthlib calls this only after validate_silent_login returned True."""
        return False

    def validate_user_match(
        self, id_token_hint: str | None, scopes: list[str], claims: Any, request: Any
    ) -> bool:
        """Accept any id_token_hint: the person is identified by the new verification, not a session."""
        return True

    # ------------------------------------------------------------- authorization codes
    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Store the code's hash with the client, redirect URI, scopes, nonce, PKCE challenge and login."""
        login = getattr(request, LOGIN_ATTRIBUTE, None)
        pending = getattr(request, PENDING_ATTRIBUTE, None)
        if not isinstance(login, VerifiedLogin) or not isinstance(pending, PendingRequest):
            raise ValueError("an authorization code needs a verified login and its pending request")
        now = self.store.now()
        self.store.save_code(
            CodeRecord(
                code_hash=sha256_hex(code["code"]),
                client_id=client_id,
                issuer=self.issuer,
                redirect_uri=request.redirect_uri,
                scopes=tuple(request.scopes),
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                login=login,
                request_id=pending.request_id,
                created_at=now,
                expires_at=now + CODE_TTL_SECONDS,
            )
        )
        logger.info(
            "authorization code issued", extra={"client_id": client_id, "request_id": pending.request_id}
        )

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        """Return True: every client is confidential."""
        return True

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        """Check the client's secret, sent by the one method its registration names."""
        credentials = client_credentials(request)
        if credentials is None:
            logger.info("client authentication failed", extra={"reason": "missing_or_malformed"})
            return False
        client_id, secret, method = credentials
        client = self._active_client(client_id)
        # An unknown client costs one scrypt check too, so timing does not reveal which ids exist.
        matches = verify_secret(secret, client.secret_hash if client else unknown_client_hash())
        if client is None or not matches:
            logger.info(
                "client authentication failed", extra={"client_id": _short(client_id), "reason": "secret"}
            )
            return False
        if client.token_endpoint_auth_method != method:
            logger.info(
                "client authentication failed",
                extra={"client_id": client_id, "reason": "method", "method": method.value},
            )
            return False
        request.client = client
        return True

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        """Return False: there are no public clients."""
        return False

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Accept the authorization_code grant only; no refresh tokens are issued."""
        return bool(grant_type == AUTHORIZATION_CODE_GRANT)

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Redeem the code for this client with one conditional write; False if unknown, expired or used."""
        record = self.store.redeem_code(code, client_id)
        if record is None:
            logger.info("authorization code rejected", extra={"client_id": client_id})
            return False
        setattr(request, CODE_ATTRIBUTE, record)
        request.user = record.login.person_id
        request.scopes = list(record.scopes)
        request.code_challenge = record.code_challenge
        request.code_challenge_method = record.code_challenge_method
        return True

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        """Return the PKCE challenge stored with the code that validate_code redeemed."""
        record = getattr(request, CODE_ATTRIBUTE, None)
        return record.code_challenge if isinstance(record, CodeRecord) else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        """Return the stored challenge method, always S256 because plain is refused."""
        record = getattr(request, CODE_ATTRIBUTE, None)
        return record.code_challenge_method if isinstance(record, CodeRecord) else None

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Require the redirect URI of the authorization request; a mismatch is invalid_grant.

        oauthlib would return invalid_request, but RFC 6749 (section 5.2) names invalid_grant
        for a redirect URI that does not match the one the code was issued to.
        """
        record = getattr(request, CODE_ATTRIBUTE, None)
        if not isinstance(record, CodeRecord) or redirect_uri != record.redirect_uri:
            raise InvalidGrantError(
                description="redirect_uri does not match the authorization request", request=request
            )
        return True

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        """Return the scopes of an unexpired code without redeeming it, or no scopes."""
        record = self.store.get_code(code)
        return list(record.scopes) if record is not None else []

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> str | None:
        """Return the nonce of the authorization request, stored with the redeemed code."""
        record = getattr(request, CODE_ATTRIBUTE, None)
        return record.nonce if isinstance(record, CodeRecord) else None

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Do nothing: validate_code already marked the code used."""

    # ------------------------------------------------------------- tokens
    def _identity(self, request: Any) -> dict[str, Any]:
        identity = getattr(request, IDENTITY_ATTRIBUTE, None)
        if identity is None:
            record: CodeRecord = getattr(request, CODE_ATTRIBUTE)
            subject = self._subject(record.login.person_id)
            identity = identity_claims(record.login, subject=subject, scopes=record.scopes)
            setattr(request, IDENTITY_ATTRIBUTE, identity)
        return dict(identity)

    def finalize_id_token(
        self, id_token: dict[str, Any], token: dict[str, Any], token_handler: Any, request: Any
    ) -> str:
        """Build the ID token's claims on oauthlib's aud, iat, nonce and at_hash, and sign it."""
        if self._signer is None:
            raise ConfigurationError("the OpenID Connect provider has no ID token signer")
        record: CodeRecord = getattr(request, CODE_ATTRIBUTE)
        claims = id_token_claims(
            record.login,
            identity=self._identity(request),
            issuer=record.issuer,
            audience=record.client_id,
            nonce=record.nonce,
            now=self.store.now(),
            at_hash=id_token.get("at_hash"),
        )
        return self._signer.sign(claims)

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        """Store the access token's hash with the userinfo claims, and link it to its code.

        If the code was presented again meanwhile, the token is deleted at once and the
        response is invalid_grant, so a reused code never yields a working token.
        """
        record: CodeRecord = getattr(request, CODE_ATTRIBUTE)
        token_hash = sha256_hex(token["access_token"])
        now = self.store.now()
        self.store.save_access_token(
            TokenRecord(
                token_hash=token_hash,
                client_id=record.client_id,
                scopes=record.scopes,
                claims=self._identity(request),
                code_hash=record.code_hash,
                created_at=now,
                expires_at=now + ACCESS_TOKEN_TTL_SECONDS,
            )
        )
        if not self.store.attach_access_token(record.code_hash, token_hash):
            self.store.delete_access_token(token_hash)
            raise InvalidGrantError(
                description="the authorization code was used more than once", request=request
            )
        logger.info("tokens issued", extra={"client_id": record.client_id, "request_id": record.request_id})

    def validate_bearer_token(self, token: str | None, scopes: list[str] | None, request: Any) -> bool:
        """Accept an unexpired access token whose scopes include the requested ones."""
        record = self.store.get_access_token(token) if token else None
        if record is None:
            logger.info("access token rejected")
            return False
        setattr(request, TOKEN_ATTRIBUTE, record)
        request.client_id = record.client_id
        request.scopes = list(record.scopes)
        return set(scopes or []) <= set(record.scopes)

    def get_userinfo_claims(self, request: Any) -> dict[str, Any]:
        """Return the claims stored with the access token: the ID token's identity claims."""
        record: TokenRecord = getattr(request, TOKEN_ATTRIBUTE)
        return dict(record.claims)


def _short(value: str | None) -> str | None:
    # Client ids come from the request, so a logged one is cut to a sane length.
    return value[:_MAX_LOGGED_ID_CHARS] if value else value
