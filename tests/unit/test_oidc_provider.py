"""The OpenID Connect provider's steps on template.yaml's OidcTable and OidcSigningKey in moto.

oauthlib runs the protocol, and these tests drive it through `OidcProvider` as the OIDC function
does. They check what a relying party would receive: redirects, token responses, ID tokens that
verify against the published JWKS, and the errors of RFC 6749 and OpenID Connect Core.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from hireproof import aws
from hireproof.access.signing import KmsDecisionSigner
from hireproof.errors import (
    AuthorizationBrowserMismatchError,
    AuthorizationClientRejectedError,
    AuthorizationRequestExpiredError,
    AuthorizationRequestNotFoundError,
    AuthorizationRequestUsedError,
    ConfigurationError,
    StaleVerificationError,
)
from hireproof.oidc.claims import ACR_DOCUMENT_LIVENESS, VerifiedLogin
from hireproof.oidc.clients import ClientRegistration, hash_secret, new_client_id, new_client_secret
from hireproof.oidc.flow import EndpointResponse, ErrorPage, ErrorRedirect, OidcProvider, PendingAuthorization
from hireproof.oidc.store import OidcStore, sha256_hex
from template_resources import StackResources, mocked_stack

ISSUER = "https://idp.example.test"
REDIRECT_URI = "https://rp.example.test/callback"
START = 1_796_000_000.0


@dataclass
class Clock:
    """A clock the test moves: Unix seconds."""

    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Client:
    client_id: str
    secret: str
    method: str


@dataclass
class AuthorizationRequest:
    """One authorization request a relying party makes, with its PKCE verifier."""

    client: Client
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def parameters(self, **overrides: str | None) -> dict[str, str]:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=")
        parameters: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email profile groups",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
        parameters.update(overrides)
        return {name: value for name, value in parameters.items() if value is not None}

    def uri(self, **overrides: str | None) -> str:
        return f"{ISSUER}/oauth2/authorize?{urlencode(self.parameters(**overrides))}"


class Harness:
    """A provider over the mocked stack, with helpers for each protocol step."""

    def __init__(self, stack: StackResources) -> None:
        self.clock = Clock()
        self.store = OidcStore(aws.table(stack.name("OidcTable")), clock=self.clock)
        self.signer = KmsDecisionSigner([stack.name("OidcSigningKey")])
        self.provider = OidcProvider(
            self.store, signer=self.signer, subject=lambda person_id: f"sub-of-{person_id}", issuer_url=ISSUER
        )

    def register(
        self,
        *,
        method: str = "client_secret_basic",
        scopes: tuple[str, ...] = ("openid", "email", "profile", "groups"),
    ) -> Client:
        client = Client(new_client_id(), new_client_secret(), method)
        self.store.create_client(
            ClientRegistration(
                client_id=client.client_id,
                name="Test gateway",
                secret_hash=hash_secret(client.secret),
                redirect_uris=(REDIRECT_URI, "https://rp.example.test/other"),
                allowed_scopes=scopes,
                token_endpoint_auth_method=method,
                created_at="2026-12-01T00:00:00Z",
                updated_at="2026-12-01T00:00:00Z",
            )
        )
        return client

    def begin(self, request: AuthorizationRequest, **overrides: str | None) -> PendingAuthorization:
        start = self.provider.begin_authorization(request.uri(**overrides))
        assert isinstance(start, PendingAuthorization), start
        return start

    def login(self, **overrides: Any) -> VerifiedLogin:
        fields: dict[str, Any] = {
            "person_id": "generic-E-1001",
            "email": "ada.lovelace@example.com",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "groups": ["engineering"],
            "auth_time": dt.datetime.fromtimestamp(self.clock.now + 30, dt.UTC),
            "document_type": "passport",
            "issuing_country": "GBR",
            "verification_method": "document_and_liveness",
        }
        fields.update(overrides)
        return VerifiedLogin(**fields)

    def code_for(self, request: AuthorizationRequest) -> str:
        pending = self.begin(request)
        location = self.provider.complete_authorization(pending.request_id, self.login())
        return query(location)["code"]

    def redeem(
        self,
        request: AuthorizationRequest,
        code: str,
        *,
        verifier: str | None = None,
        redirect_uri: str = REDIRECT_URI,
        client: Client | None = None,
        secret: str | None = None,
        method: str | None = None,
    ) -> EndpointResponse:
        client = client or request.client
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier if verifier is not None else request.verifier,
        }
        if not form["code_verifier"]:
            del form["code_verifier"]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if (method or client.method) == "client_secret_basic":
            credentials = f"{client.client_id}:{secret or client.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        else:
            form.update(client_id=client.client_id, client_secret=secret or client.secret)
        return self.provider.token_response(f"{ISSUER}/oauth2/token", "POST", urlencode(form), headers)

    def userinfo(self, access_token: str) -> EndpointResponse:
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.provider.userinfo_response(f"{ISSUER}/oauth2/userinfo", "GET", None, headers)


def query(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def body(response: EndpointResponse) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(response.body)
    return document


def verify_id_token(harness: Harness, token: str, *, audience: str) -> dict[str, Any]:
    """Verify an ID token as a relying party does: signature by kid, iss, aud and exp."""
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [key for key in harness.provider.jwks()["keys"] if key["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=ISSUER,
        options={"verify_iat": False, "verify_exp": False},
    )
    return claims


@pytest.fixture
def harness() -> Iterator[Harness]:
    with mocked_stack() as stack:
        yield Harness(stack)


@pytest.fixture
def request_(harness: Harness) -> AuthorizationRequest:
    return AuthorizationRequest(harness.register())


# ----------------------------------------------------------------- authorization requests
def test_authorize_stores_pending_request(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_, ui_locales="ja en", login_hint="ada@example.com")

    stored = harness.store.get_pending(pending.request_id)
    assert stored is not None
    assert pending.client_id == request_.client.client_id
    assert pending.client_name == "Test gateway"
    assert pending.ui_locales == ("ja", "en")
    assert pending.login_hint == "ada@example.com"
    assert pending.issuer == ISSUER
    assert pending.expires_at == int(START) + 600
    assert stored.browser_secret_hash == sha256_hex(pending.browser_secret)
    assert pending.browser_secret not in json.dumps(stored.to_item())


def test_authorize_by_post_form(harness: Harness, request_: AuthorizationRequest) -> None:
    form = urlencode(request_.parameters())

    start = harness.provider.begin_authorization(f"{ISSUER}/oauth2/authorize", "POST", form, {})

    assert isinstance(start, PendingAuthorization)
    location = harness.provider.complete_authorization(start.request_id, harness.login())
    assert query(location)["state"] == request_.state


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"client_id": "no-such-client"}, id="unknown-client"),
        pytest.param({"client_id": None}, id="missing-client"),
        pytest.param({"redirect_uri": "https://attacker.example.test/cb"}, id="unregistered-redirect"),
        pytest.param({"redirect_uri": REDIRECT_URI + "/"}, id="redirect-differs-by-slash"),
        pytest.param({"redirect_uri": None}, id="missing-redirect"),
    ],
)
def test_authorize_bad_client_or_redirect_shows_page(
    harness: Harness, request_: AuthorizationRequest, overrides: dict[str, str | None]
) -> None:
    start = harness.provider.begin_authorization(request_.uri(**overrides))

    assert isinstance(start, ErrorPage)
    assert start.status == 400
    assert start.error == "invalid_request"


def test_authorize_disabled_client_shows_page(harness: Harness, request_: AuthorizationRequest) -> None:
    harness.store.update_client(request_.client.client_id, {"disabled": True})

    assert isinstance(harness.provider.begin_authorization(request_.uri()), ErrorPage)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({"scope": "openid offline_access"}, "invalid_scope", id="unknown-scope"),
        pytest.param({"scope": "email"}, "invalid_scope", id="no-openid"),
        pytest.param({"scope": None}, "invalid_scope", id="no-scope"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="token"),
        pytest.param({"response_type": "code id_token"}, "unsupported_response_type", id="hybrid"),
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="plain-pkce"),
        pytest.param({"code_challenge_method": None}, "invalid_request", id="default-plain-pkce"),
        pytest.param(
            {"code_challenge": None, "code_challenge_method": None}, "invalid_request", id="no-pkce"
        ),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none"),
        pytest.param({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", id="request-object"),
        pytest.param(
            {"request_uri": "https://rp.example.test/r"}, "request_uri_not_supported", id="request-uri"
        ),
        pytest.param({"max_age": "an hour"}, "invalid_request", id="bad-max-age"),
    ],
)
def test_authorize_error_redirects_with_state(
    harness: Harness, request_: AuthorizationRequest, overrides: dict[str, str | None], error: str
) -> None:
    start = harness.provider.begin_authorization(request_.uri(**overrides))

    assert isinstance(start, ErrorRedirect)
    assert start.location.startswith(REDIRECT_URI + "?")
    parameters = query(start.location)
    assert parameters["error"] == error
    assert parameters["state"] == request_.state
    assert parameters["iss"] == ISSUER
    assert "code" not in parameters


def test_authorize_scope_beyond_registration_redirects(harness: Harness) -> None:
    request = AuthorizationRequest(harness.register(scopes=("openid", "email")))

    start = harness.provider.begin_authorization(request.uri(scope="openid email groups"))

    assert isinstance(start, ErrorRedirect)
    assert query(start.location)["error"] == "invalid_scope"


def test_authorize_repeated_parameter_redirects(harness: Harness, request_: AuthorizationRequest) -> None:
    uri = request_.uri() + "&nonce=second"

    start = harness.provider.begin_authorization(uri)

    assert isinstance(start, ErrorRedirect)
    assert query(start.location)["error"] == "invalid_request"


def test_authorize_accepts_prompt_login_and_max_age(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_, prompt="login", max_age="0")

    location = harness.provider.complete_authorization(pending.request_id, harness.login())

    assert "code" in query(location)


# ----------------------------------------------------------------- pending requests
def test_load_pending_needs_the_browser_secret(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)

    assert harness.provider.load_pending(pending.request_id, pending.browser_secret) == pending
    with pytest.raises(AuthorizationBrowserMismatchError):
        harness.provider.load_pending(pending.request_id, "another-browser")
    with pytest.raises(AuthorizationBrowserMismatchError):
        harness.provider.load_pending(pending.request_id, None)


def test_load_pending_unknown_request(harness: Harness) -> None:
    with pytest.raises(AuthorizationRequestNotFoundError):
        harness.provider.load_pending("no-such-request", "secret")


def test_load_pending_expires_after_ten_minutes(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)
    harness.clock.now += 600

    with pytest.raises(AuthorizationRequestExpiredError):
        harness.provider.load_pending(pending.request_id, pending.browser_secret)
    with pytest.raises(AuthorizationRequestExpiredError):
        harness.provider.complete_authorization(
            pending.request_id, harness.login(auth_time=dt.datetime.now(dt.UTC))
        )


def test_load_pending_after_completion_is_used(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)
    harness.provider.complete_authorization(pending.request_id, harness.login())

    with pytest.raises(AuthorizationRequestUsedError):
        harness.provider.load_pending(pending.request_id, pending.browser_secret)


# ----------------------------------------------------------------- completion and denial
def test_complete_redirects_with_code_state_and_issuer(
    harness: Harness, request_: AuthorizationRequest
) -> None:
    pending = harness.begin(request_)

    location = harness.provider.complete_authorization(pending.request_id, harness.login())

    assert location.startswith(REDIRECT_URI + "?")
    parameters = query(location)
    assert parameters["state"] == request_.state
    assert parameters["iss"] == ISSUER
    stored = harness.store.get_code(parameters["code"])
    assert stored is not None
    assert stored.nonce == request_.nonce
    assert stored.code_challenge_method == "S256"
    assert stored.expires_at == int(START) + 60


def test_complete_gives_one_code_per_request(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)
    harness.provider.complete_authorization(pending.request_id, harness.login())

    with pytest.raises(AuthorizationRequestUsedError):
        harness.provider.complete_authorization(pending.request_id, harness.login())


def test_complete_rejects_verification_older_than_request(
    harness: Harness, request_: AuthorizationRequest
) -> None:
    pending = harness.begin(request_)
    earlier = dt.datetime.fromtimestamp(START - 3600, dt.UTC)

    with pytest.raises(StaleVerificationError):
        harness.provider.complete_authorization(pending.request_id, harness.login(auth_time=earlier))
    # The request stays usable for a new verification.
    assert "code" in query(harness.provider.complete_authorization(pending.request_id, harness.login()))


def test_complete_after_client_disabled_is_rejected(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)
    harness.store.update_client(request_.client.client_id, {"disabled": True})

    with pytest.raises(AuthorizationClientRejectedError):
        harness.provider.complete_authorization(pending.request_id, harness.login())


def test_deny_redirects_with_error_and_state(harness: Harness, request_: AuthorizationRequest) -> None:
    pending = harness.begin(request_)

    location = harness.provider.deny_authorization(pending.request_id, "access_denied", "Not verified")

    parameters = query(location)
    assert parameters == {
        "error": "access_denied",
        "error_description": "Not verified",
        "state": request_.state,
        "iss": ISSUER,
    }
    with pytest.raises(AuthorizationRequestUsedError):
        harness.provider.complete_authorization(pending.request_id, harness.login())


@pytest.mark.parametrize(
    ("error", "description"),
    [("invalid_grant", "Not verified"), ("access_denied", 'say "no"'), ("access_denied", "non-ASCII é")],
)
def test_deny_rejects_bad_error_or_description(
    harness: Harness, request_: AuthorizationRequest, error: str, description: str
) -> None:
    pending = harness.begin(request_)

    with pytest.raises(ValueError, match=r"(error|description) must be"):
        harness.provider.deny_authorization(pending.request_id, error, description)
    assert harness.provider.load_pending(pending.request_id, pending.browser_secret) == pending


# ----------------------------------------------------------------- token endpoint
def test_token_returns_verifiable_id_token(harness: Harness, request_: AuthorizationRequest) -> None:
    response = harness.redeem(request_, harness.code_for(request_))

    assert response.status == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    tokens = body(response)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert "refresh_token" not in tokens
    claims = verify_id_token(harness, tokens["id_token"], audience=request_.client.client_id)
    assert claims["nonce"] == request_.nonce
    assert claims["sub"] == "sub-of-generic-E-1001"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["acr"] == ACR_DOCUMENT_LIVENESS
    assert claims["amr"] == ["face", "user"]
    assert claims["email"] == "ada.lovelace@example.com"
    assert claims["groups"] == ["engineering"]
    document = claims["verified_claims"]["verification"]["evidence"][0]["document_details"]
    assert document == {"type": "passport", "issuer": {"country_code": "GBR"}}
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_token_with_client_secret_post(harness: Harness) -> None:
    request = AuthorizationRequest(harness.register(method="client_secret_post"))

    response = harness.redeem(request, harness.code_for(request))

    assert response.status == 200, response.body


@pytest.mark.parametrize(
    ("registered", "used"),
    [("client_secret_basic", "client_secret_post"), ("client_secret_post", "client_secret_basic")],
)
def test_token_other_auth_method_is_invalid_client(harness: Harness, registered: str, used: str) -> None:
    request = AuthorizationRequest(harness.register(method=registered))

    response = harness.redeem(request, harness.code_for(request), method=used)

    assert response.status == 401
    assert body(response)["error"] == "invalid_client"


def test_token_wrong_secret_is_invalid_client(harness: Harness, request_: AuthorizationRequest) -> None:
    response = harness.redeem(request_, harness.code_for(request_), secret="wrong-secret")

    assert response.status == 401
    assert body(response)["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith(f'Basic realm="{ISSUER}"')
    assert response.headers["Cache-Control"] == "no-store"


def test_token_unknown_client_is_invalid_client(harness: Harness, request_: AuthorizationRequest) -> None:
    stranger = Client("no-such-client", "secret", "client_secret_basic")

    response = harness.redeem(request_, harness.code_for(request_), client=stranger)

    assert response.status == 401
    assert body(response)["error"] == "invalid_client"


def test_token_code_reuse_fails_and_revokes_token(harness: Harness, request_: AuthorizationRequest) -> None:
    code = harness.code_for(request_)
    first = harness.redeem(request_, code)
    access_token = body(first)["access_token"]
    assert harness.userinfo(access_token).status == 200

    second = harness.redeem(request_, code)

    assert second.status == 400
    assert body(second)["error"] == "invalid_grant"
    assert harness.userinfo(access_token).status == 401


def test_token_wrong_verifier_is_invalid_grant(harness: Harness, request_: AuthorizationRequest) -> None:
    response = harness.redeem(request_, harness.code_for(request_), verifier=secrets.token_urlsafe(48))

    assert response.status == 400
    assert body(response)["error"] == "invalid_grant"


def test_token_missing_verifier_is_invalid_request(harness: Harness, request_: AuthorizationRequest) -> None:
    response = harness.redeem(request_, harness.code_for(request_), verifier="")

    assert response.status == 400
    assert body(response)["error"] == "invalid_request"


def test_token_wrong_redirect_uri_is_invalid_grant(harness: Harness, request_: AuthorizationRequest) -> None:
    # The other URI is registered too, but the code was issued to REDIRECT_URI.
    response = harness.redeem(
        request_, harness.code_for(request_), redirect_uri="https://rp.example.test/other"
    )

    assert response.status == 400
    assert body(response)["error"] == "invalid_grant"


def test_token_expired_code_is_invalid_grant(harness: Harness, request_: AuthorizationRequest) -> None:
    code = harness.code_for(request_)
    harness.clock.now += 61

    response = harness.redeem(request_, code)

    assert response.status == 400
    assert body(response)["error"] == "invalid_grant"


def test_token_code_of_other_client_is_invalid_grant(
    harness: Harness, request_: AuthorizationRequest
) -> None:
    code = harness.code_for(request_)
    other = harness.register()

    refused = harness.redeem(request_, code, client=other)
    accepted = harness.redeem(request_, code)

    assert refused.status == 400
    assert body(refused)["error"] == "invalid_grant"
    assert accepted.status == 200, accepted.body


def test_token_other_grant_type_is_unsupported(harness: Harness, request_: AuthorizationRequest) -> None:
    credentials = base64.b64encode(f"{request_.client.client_id}:{request_.client.secret}".encode()).decode()
    form = urlencode({"grant_type": "client_credentials"})

    response = harness.provider.token_response(
        f"{ISSUER}/oauth2/token", "POST", form, {"Authorization": f"Basic {credentials}"}
    )

    assert response.status == 400
    assert body(response)["error"] == "unsupported_grant_type"


# ----------------------------------------------------------------- userinfo and metadata
def test_userinfo_returns_identity_claims(harness: Harness, request_: AuthorizationRequest) -> None:
    tokens = body(harness.redeem(request_, harness.code_for(request_)))

    by_header = harness.userinfo(tokens["access_token"])
    by_form = harness.provider.userinfo_response(
        f"{ISSUER}/oauth2/userinfo", "POST", urlencode({"access_token": tokens["access_token"]}), {}
    )

    assert by_header.status == 200
    claims = body(by_header)
    assert claims["sub"] == "sub-of-generic-E-1001"
    assert claims["email"] == "ada.lovelace@example.com"
    assert claims["verified_claims"]["claims"] == {"given_name": "Ada", "family_name": "Lovelace"}
    assert "nonce" not in claims
    assert body(by_form) == claims


def test_userinfo_rejects_expired_or_missing_token(harness: Harness, request_: AuthorizationRequest) -> None:
    tokens = body(harness.redeem(request_, harness.code_for(request_)))
    harness.clock.now += 3600

    expired = harness.userinfo(tokens["access_token"])
    missing = harness.provider.userinfo_response(f"{ISSUER}/oauth2/userinfo", "GET", None, {})

    for response in (expired, missing):
        assert response.status == 401
        assert body(response)["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_discovery_names_endpoints_and_s256_only(harness: Harness) -> None:
    document = harness.provider.discovery(f"{ISSUER}/.well-known/openid-configuration")

    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == f"{ISSUER}/oauth2/token"
    assert document["jwks_uri"] == f"{ISSUER}/oauth2/jwks"
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == ["authorization_code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }


def test_issuer_comes_from_request_without_setting(harness: Harness) -> None:
    provider = OidcProvider(harness.store, signer=harness.signer)

    document = provider.discovery(
        "https://abc123.execute-api.us-east-1.amazonaws.com/.well-known/openid-configuration"
    )

    assert document["issuer"] == "https://abc123.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize("issuer", ["http://idp.example.test", "https://idp.example.test/?x=1"])
def test_issuer_must_be_https_without_query(harness: Harness, issuer: str) -> None:
    with pytest.raises(ConfigurationError):
        OidcProvider(harness.store, issuer_url=issuer)
