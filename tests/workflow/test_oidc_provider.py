"""HireProof's OpenID Connect provider on the local stack's HTTP API, with two relying-party libraries.

A client is registered with the operator command. Each login starts at GET /oauth2/authorize
over the real socket, as the relying party's redirect would. The browser then posts the work
e-mail to /oauth2/login and follows the redirect to the verification page. There the phone
part (`Phone`, the demo's API client) uploads the ID card and a selfie, and the local engine
decides.
The page's next step sends the browser to /oauth2/resume, which redirects to the client.
The person is stored ACTIVE directly, as a finished onboarding leaves them.

requests-oauthlib (what the access gateway uses) and Authlib then redeem the code at
/oauth2/token and check the ID token themselves against /oauth2/jwks: signature, iss, aud,
nonce and exp. The negative cases use plain HTTP requests, so that the status codes and error
bodies are the ones a relying party receives.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as joserfc_jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet
from requests_oauthlib import OAuth2Session

from hireproof.demo.actors import Phone
from hireproof.hr.mapping import hire_from_generic
from hireproof.local.defaults import store_active_person
from hireproof.local.description import run_operator_command, write_description
from hireproof.local.stack import LocalStack
from hireproof.oidc.store import sha256_hex
from onboarding_support import TestHire, new_hire

pytestmark = pytest.mark.workflow

# The relying party's callback is never called: the tests read the redirect's Location instead.
REDIRECT_URI = "https://rp.example.test/cdn-cgi/access/callback"
SCOPES = ["openid", "email", "profile", "groups"]
# Employee numbers of this file's people; other workflow files use other ranges.
PERSON_NUMBERS = itertools.count(901)
HTTP_TIMEOUT = 30


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Provider:
    """The provider's endpoints, read from its discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def provider(local_stack: LocalStack) -> Provider:
    response = requests.get(f"{local_stack.api_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    document = response.json()
    return Provider(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        userinfo_endpoint=document["userinfo_endpoint"],
        jwks_uri=document["jwks_uri"],
    )


@pytest.fixture(scope="module")
def stack_file(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = write_description(local_stack, tmp_path_factory.mktemp("oidc") / "local-stack.json")
    yield path
    path.unlink(missing_ok=True)


def register_client(stack_file: Path, auth_method: str) -> RegisteredClient:
    """Register a client with the operator command in its own process, as an operator would."""
    completed = run_operator_command(
        stack_file,
        "oidc-clients",
        "register",
        "--name",
        f"Relying party ({auth_method})",
        "--redirect-uri",
        REDIRECT_URI,
        "--auth-method",
        auth_method,
        "--json",
    )
    assert completed.returncode == 0, completed.stderr
    record = json.loads(completed.stdout)
    return RegisteredClient(record["client_id"], record["client_secret"])


@pytest.fixture(scope="module")
def basic_client(stack_file: Path) -> RegisteredClient:
    return register_client(stack_file, "client_secret_basic")


@pytest.fixture(scope="module")
def post_client(stack_file: Path) -> RegisteredClient:
    return register_client(stack_file, "client_secret_post")


@pytest.fixture
def insecure_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The local API serves http on 127.0.0.1; both libraries refuse http token URLs otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


# ----------------------------------------------------------------- the browser's part
def browser_authorize(url: str) -> requests.Response:
    """GET the authorization URL as the person's browser would, without following the redirect."""
    return requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)


def pending_request_id(response: requests.Response) -> str:
    """Return the request id from /oauth2/authorize's redirect to the e-mail form, checking the cookie."""
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.startswith("/oauth2/login?request=")
    request_id = parse_qs(urlsplit(location).query)["request"][0]
    assert f"hireproof_oidc_{request_id}" in response.cookies
    return request_id


@dataclass
class Browser:
    """The person's browser: keeps the binding cookie and follows the sign-in's own redirects."""

    api_url: str
    session: requests.Session

    def authorize(self, url: str) -> str:
        """Open the relying party's authorization URL; return the pending request id."""
        response = self.session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        return pending_request_id(response)

    def verify(
        self, request_id: str, email: str, front: bytes, back: bytes, selfie: bytes
    ) -> requests.Response:
        """Enter the e-mail, verify through the page's API, and return /oauth2/resume's response."""
        form = self.session.get(
            f"{self.api_url}/oauth2/login", params={"request": request_id}, timeout=HTTP_TIMEOUT
        )
        assert form.status_code == 200, form.text
        # The form names the registered client that requests the sign-in.
        assert "Relying party (client_secret_" in form.text
        started = self.session.post(
            f"{self.api_url}/oauth2/login",
            params={"request": request_id},
            data={"request": request_id, "email": email},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        assert started.status_code == 303, started.text
        location = started.headers["Location"]
        assert location.startswith("/verify#token=")
        phone = Phone(self.api_url, parse_qs(urlsplit(location).fragment)["token"][0])
        phone.open_session()
        phone.upload("id_front", front)
        phone.upload("id_back", back)
        phone.upload("selfie", selfie)
        decided = phone.submit()
        assert decided.status_code == 200, decided.text
        decision = decided.json()
        assert decision["next_step"] == "continue"
        return self.session.get(
            f"{self.api_url}{decision['continue_url']}", allow_redirects=False, timeout=HTTP_TIMEOUT
        )


@pytest.fixture
def browser(local_stack: LocalStack) -> Iterator[Browser]:
    with requests.Session() as session:
        yield Browser(local_stack.api_url, session)


@pytest.fixture
def person(local_stack: LocalStack) -> TestHire:
    """A new ACTIVE person per test, so no test uses up another's sign-in rate limit."""
    hire = new_hire(next(PERSON_NUMBERS), "Grace", "Hopper", department="Engineering")
    store_active_person(local_stack, hire_from_generic(hire.body, event_id=f"oidc-{hire.number}"))
    return hire


def log_in(browser: Browser, request_id: str, person: TestHire, *, impostor: bool = False) -> str:
    """Verify as `person` (or someone else holding their card); return the redirect to the client."""
    selfie = person.impostor_selfie() if impostor else person.selfie()
    answer = browser.verify(request_id, str(person.body["work_email"]), person.front(), person.back(), selfie)
    assert answer.status_code == 303, answer.text
    return answer.headers["Location"]


def authorize_url(
    provider: Provider, client: RegisteredClient, verifier: str, **overrides: str | None
) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": " ".join(SCOPES),
        "state": "state-" + secrets.token_urlsafe(8),
        "nonce": "nonce-" + secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    parameters.update(overrides)
    query = urlencode({name: value for name, value in parameters.items() if value is not None})
    return f"{provider.authorization_endpoint}?{query}"


def code_for(
    browser: Browser, person: TestHire, provider: Provider, client: RegisteredClient, verifier: str
) -> str:
    request_id = browser.authorize(authorize_url(provider, client, verifier))
    return parse_qs(urlsplit(log_in(browser, request_id, person)).query)["code"][0]


def redeem(
    provider: Provider,
    client: RegisteredClient,
    code: str,
    verifier: str,
    *,
    secret: str | None = None,
    redirect_uri: str = REDIRECT_URI,
) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return requests.post(
        provider.token_endpoint,
        data=form,
        auth=(client.client_id, secret or client.client_secret),
        timeout=HTTP_TIMEOUT,
    )


def redirect_parameters(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def verify_with_pyjwt(provider: Provider, token: str, *, audience: str, nonce: str) -> dict[str, Any]:
    """Check an ID token the way a relying party built on PyJWT does, keys from /oauth2/jwks."""
    signing_key = jwt.PyJWKClient(provider.jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=provider.issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    assert claims["nonce"] == nonce
    return claims


def verify_with_authlib(
    provider: Provider, token: dict[str, Any], *, client_id: str, nonce: str
) -> dict[str, Any]:
    """Check an ID token as Authlib 1.9's OpenID Connect clients do: joserfc, then CodeIDToken.

    The signature is checked with the keys from /oauth2/jwks; CodeIDToken checks iss, aud,
    exp, iat, nonce and at_hash.
    """
    keys = KeySet.import_key_set(requests.get(provider.jwks_uri, timeout=HTTP_TIMEOUT).json())
    decoded = joserfc_jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "values": [provider.issuer]}},
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    return dict(claims)


# ----------------------------------------------------------------- two relying parties
def test_requests_oauthlib_login(
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
    insecure_loopback: None,
) -> None:
    session = OAuth2Session(basic_client.client_id, redirect_uri=REDIRECT_URI, scope=SCOPES, pkce="S256")
    nonce = secrets.token_urlsafe(16)
    url, state = session.authorization_url(provider.authorization_endpoint, nonce=nonce)

    request_id = browser.authorize(url)
    callback = log_in(browser, request_id, person)
    token = session.fetch_token(
        provider.token_endpoint, authorization_response=callback, client_secret=basic_client.client_secret
    )

    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    assert parse_qs(urlsplit(callback).query)["iss"] == [provider.issuer]
    claims = verify_with_pyjwt(provider, token["id_token"], audience=basic_client.client_id, nonce=nonce)
    with pytest.raises(jwt.InvalidAudienceError):
        verify_with_pyjwt(provider, token["id_token"], audience="another-client", nonce=nonce)
    assert claims["email"] == person.body["work_email"]
    assert claims["groups"] == ["hireproof-verified"]
    # The local engine checks the face against the card but no liveness, and the token states that.
    assert claims["acr"] == "urn:hireproof:acr:document-face"
    assert claims["amr"] == ["face"]
    assert abs(claims["auth_time"] - time.time()) < 120
    assert (
        claims["verified_claims"]["verification"]["evidence"][0]["document_details"]["type"]
        == "driving_permit"
    )
    userinfo = session.get(provider.userinfo_endpoint, timeout=HTTP_TIMEOUT)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]


def test_authlib_login(
    browser: Browser,
    person: TestHire,
    provider: Provider,
    post_client: RegisteredClient,
    insecure_loopback: None,
) -> None:
    client = AuthlibSession(
        post_client.client_id,
        post_client.client_secret,
        scope=" ".join(SCOPES),
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        provider.authorization_endpoint, code_verifier=verifier, nonce=nonce
    )

    request_id = browser.authorize(url)
    callback = log_in(browser, request_id, person)
    token = client.fetch_token(
        provider.token_endpoint, authorization_response=callback, state=state, code_verifier=verifier
    )

    claims = verify_with_authlib(provider, token, client_id=post_client.client_id, nonce=nonce)
    with pytest.raises(InvalidClaimError):
        verify_with_authlib(provider, token, client_id=post_client.client_id, nonce="another-nonce")
    assert claims["given_name"] == "Grace"
    assert claims["verified_claims"]["claims"] == {"given_name": "Grace", "family_name": "Hopper"}
    userinfo = client.get(provider.userinfo_endpoint, timeout=HTTP_TIMEOUT)
    assert userinfo.status_code == 200
    assert userinfo.json()["email"] == person.body["work_email"]


def test_both_clients_get_the_same_subject(
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
    post_client: RegisteredClient,
) -> None:
    subjects = []
    for client in (basic_client, post_client):
        verifier = secrets.token_urlsafe(48)
        code = code_for(browser, person, provider, client, verifier)
        if client is basic_client:
            response = redeem(provider, client, code, verifier)
        else:
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            }
            response = requests.post(provider.token_endpoint, data=form, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        subjects.append(jwt.decode(response.json()["id_token"], options={"verify_signature": False})["sub"])

    assert subjects[0] == subjects[1]
    assert person.onboarding_id not in subjects[0]


# ----------------------------------------------------------------- denied sign-ins
def test_impostor_login_is_access_denied(
    browser: Browser, person: TestHire, provider: Provider, basic_client: RegisteredClient
) -> None:
    url = authorize_url(provider, basic_client, secrets.token_urlsafe(48), state="impostor-state")
    request_id = browser.authorize(url)

    location = log_in(browser, request_id, person, impostor=True)

    parameters = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(REDIRECT_URI + "?")
    assert parameters["error"] == "access_denied"
    assert parameters["state"] == "impostor-state"
    assert "code" not in parameters


def test_unknown_email_is_denied_after_same_steps(
    browser: Browser, person: TestHire, provider: Provider, basic_client: RegisteredClient
) -> None:
    request_id = browser.authorize(authorize_url(provider, basic_client, secrets.token_urlsafe(48)))
    stranger = new_hire(next(PERSON_NUMBERS), "Ada", "Lovelace")

    # The stranger is never stored, so their e-mail is unknown; the page runs as for anyone.
    answer = browser.verify(
        request_id, str(stranger.body["work_email"]), stranger.front(), stranger.back(), stranger.selfie()
    )

    assert answer.status_code == 303, answer.text
    parameters = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert parameters["error"] == ["access_denied"]
    denied = parse_qs(urlsplit(log_in_denied_description(provider, basic_client, browser, person)).query)
    assert denied["error_description"] == parameters["error_description"]


def log_in_denied_description(
    provider: Provider, client: RegisteredClient, browser: Browser, person: TestHire
) -> str:
    """Return the redirect of an impostor's sign-in, to compare denial texts."""
    request_id = browser.authorize(authorize_url(provider, client, secrets.token_urlsafe(48)))
    return log_in(browser, request_id, person, impostor=True)


def test_resume_from_another_browser_is_refused(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    request_id = browser.authorize(authorize_url(provider, basic_client, secrets.token_urlsafe(48)))

    with requests.Session() as other:
        form = other.get(
            f"{local_stack.api_url}/oauth2/login", params={"request": request_id}, timeout=HTTP_TIMEOUT
        )
        started = other.post(
            f"{local_stack.api_url}/oauth2/login",
            params={"request": request_id},
            data={"request": request_id, "email": person.body["work_email"]},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )

    assert form.status_code == 403
    assert started.status_code == 403
    assert "Location" not in started.headers


def test_sign_in_starts_are_rate_limited(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    statuses = []
    for _ in range(6):
        request_id = browser.authorize(authorize_url(provider, basic_client, secrets.token_urlsafe(48)))
        response = browser.session.post(
            f"{local_stack.api_url}/oauth2/login",
            params={"request": request_id},
            data={"request": request_id, "email": person.body["work_email"]},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        statuses.append(response.status_code)

    assert statuses == [303, 303, 303, 303, 303, 429]
    assert int(response.headers["Retry-After"]) > 0
    assert "text/html" in response.headers["Content-Type"]


# ----------------------------------------------------------------- token endpoint failures
def test_code_reuse_is_invalid_grant(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = code_for(browser, person, provider, basic_client, verifier)
    first = redeem(provider, basic_client, code, verifier)
    assert first.status_code == 200, first.text

    second = redeem(provider, basic_client, code, verifier)

    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert second.headers["Cache-Control"] == "no-store"
    # The token issued for the reused code no longer works.
    userinfo = requests.get(
        provider.userinfo_endpoint,
        headers={"Authorization": f"Bearer {first.json()['access_token']}"},
        timeout=HTTP_TIMEOUT,
    )
    assert userinfo.status_code == 401


def test_wrong_code_verifier_is_invalid_grant(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    code = code_for(browser, person, provider, basic_client, secrets.token_urlsafe(48))

    response = redeem(provider, basic_client, code, secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_redirect_uri_is_invalid_grant(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = code_for(browser, person, provider, basic_client, verifier)

    response = redeem(
        provider, basic_client, code, verifier, redirect_uri="https://rp.example.test/elsewhere"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = code_for(browser, person, provider, basic_client, verifier)
    # Age the code past its 60 seconds by moving its expiry, which the provider compares with its clock.
    table = local_stack.resource("dynamodb").Table(local_stack.physical_id("OidcTable"))
    table.update_item(
        Key={"pk": f"CODE#{sha256_hex(code)}", "sk": "CODE"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )

    response = redeem(provider, basic_client, code, verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = code_for(browser, person, provider, basic_client, verifier)

    response = redeem(provider, basic_client, code, verifier, secret="not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    # The failed attempt did not use the code up.
    assert redeem(provider, basic_client, code, verifier).status_code == 200


def test_tampered_id_token_fails_both_checks(
    local_stack: LocalStack,
    browser: Browser,
    person: TestHire,
    provider: Provider,
    basic_client: RegisteredClient,
) -> None:
    verifier = secrets.token_urlsafe(48)
    token = redeem(
        provider, basic_client, code_for(browser, person, provider, basic_client, verifier), verifier
    ).json()
    header, payload, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "mallory@example.com"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{forged}.{signature}"

    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_pyjwt(provider, tampered, audience=basic_client.client_id, nonce=claims["nonce"])
    with pytest.raises(BadSignatureError):
        verify_with_authlib(
            provider, {**token, "id_token": tampered}, client_id=basic_client.client_id, nonce=claims["nonce"]
        )


# ----------------------------------------------------------------- authorization endpoint failures
@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="plain-pkce"),
        pytest.param(
            {"code_challenge": None, "code_challenge_method": None}, "invalid_request", id="no-pkce"
        ),
        pytest.param({"scope": "openid payroll"}, "invalid_scope", id="unknown-scope"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="token-response"),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none"),
    ],
)
def test_authorize_error_returns_to_client_with_state(
    provider: Provider, basic_client: RegisteredClient, overrides: dict[str, str | None], error: str
) -> None:
    url = authorize_url(provider, basic_client, secrets.token_urlsafe(48), state="state-kept", **overrides)

    parameters = redirect_parameters(browser_authorize(url))

    assert parameters["error"] == error
    assert parameters["state"] == "state-kept"
    assert parameters["iss"] == provider.issuer
    assert "code" not in parameters


def test_unregistered_redirect_uri_shows_error_page(
    provider: Provider, basic_client: RegisteredClient
) -> None:
    url = authorize_url(
        provider, basic_client, secrets.token_urlsafe(48), redirect_uri="https://attacker.example.test/cb"
    )

    response = browser_authorize(url)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert "invalid_request" in response.text
    assert not response.cookies
