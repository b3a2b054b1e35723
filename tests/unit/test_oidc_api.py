"""OIDC function handler: HTTP API events in; redirects, cookies, pages and JSON out (moto)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import jwt
import pytest

from hireproof.hashing import keyed_hash
from hireproof.oidc import flow
from hireproof.oidc.clients import ClientRegistration, hash_secret, new_client_id, new_client_secret
from sessions_support import LambdaContext, load_handler
from template_resources import StackResources, mocked_stack

DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"
ISSUER = f"https://{DOMAIN}"
REDIRECT_URI = "https://team.example.test/cdn-cgi/access/callback"


def http_event(
    method: str, path: str, *, query: str = "", body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the deployed API sends it."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": DOMAIN, "user-agent": "pytest", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": DOMAIN,
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "01/Dec/2026:09:30:00 +0000",
            "timeEpoch": 1796117400000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = {name: values[-1] for name, values in parse_qs(query).items()}
    if body is not None:
        event["body"] = body
    return event


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    with mocked_stack() as resources:
        for name, value in resources.function_environment("OidcFunction").items():
            monkeypatch.setenv(name, value)
        flow.default_provider.cache_clear()
        yield resources
        flow.default_provider.cache_clear()


@pytest.fixture
def handler(stack: StackResources) -> Any:
    return load_handler("oidc")


@pytest.fixture
def client(stack: StackResources) -> tuple[str, str]:
    client_id, secret = new_client_id(), new_client_secret()
    flow.default_provider().store.create_client(
        ClientRegistration(
            client_id=client_id,
            name="Access <gateway>",
            secret_hash=hash_secret(secret),
            redirect_uris=(REDIRECT_URI,),
            allowed_scopes=("openid", "email", "profile", "groups"),
            token_endpoint_auth_method="client_secret_basic",
            created_at="2026-12-01T00:00:00Z",
            updated_at="2026-12-01T00:00:00Z",
        )
    )
    return client_id, secret


def authorize_query(client_id: str, verifier: str, **overrides: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    parameters = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return urlencode(parameters)


def call(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, LambdaContext())
    return result


def test_authorize_redirects_to_login_with_cookie(handler: Any, client: tuple[str, str]) -> None:
    verifier = secrets.token_urlsafe(48)

    result = call(handler, http_event("GET", "/oauth2/authorize", query=authorize_query(client[0], verifier)))

    assert result["statusCode"] == 303
    location = result["headers"]["Location"]
    assert location.startswith("/oauth2/login?request=")
    request_id = parse_qs(urlsplit(location).query)["request"][0]
    [cookie] = result["cookies"]
    name, _, rest = cookie.partition("=")
    value, *attributes = rest.split("; ")
    assert name == f"hireproof_oidc_{request_id}"
    assert set(attributes) == {"Path=/oauth2", "Max-Age=600", "HttpOnly", "Secure", "SameSite=Lax"}
    assert result["headers"]["Referrer-Policy"] == "no-referrer"
    assert flow.load_pending(request_id, value).client_name == "Access <gateway>"


def test_authorize_unregistered_redirect_shows_page(handler: Any, client: tuple[str, str]) -> None:
    query = authorize_query(client[0], "v" * 43, redirect_uri="https://attacker.example.test/<cb>")

    result = call(handler, http_event("GET", "/oauth2/authorize", query=query))

    assert result["statusCode"] == 400
    assert "Location" not in result["headers"]
    assert result["headers"]["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in result["headers"]["Content-Security-Policy"]
    assert "invalid_request" in result["body"]
    assert "attacker" not in result["body"]


def test_authorize_error_goes_back_to_client(handler: Any, client: tuple[str, str]) -> None:
    query = authorize_query(client[0], "v" * 43, scope="openid payroll")

    result = call(handler, http_event("GET", "/oauth2/authorize", query=query))

    assert result["statusCode"] == 303
    parameters = parse_qs(urlsplit(result["headers"]["Location"]).query)
    assert parameters["error"] == ["invalid_scope"]
    assert parameters["state"] == ["state-1"]
    assert parameters["iss"] == [ISSUER]


def test_authorize_by_post(handler: Any, client: tuple[str, str]) -> None:
    form = authorize_query(client[0], secrets.token_urlsafe(48))
    headers = {"content-type": "application/x-www-form-urlencoded"}

    result = call(handler, http_event("POST", "/oauth2/authorize", body=form, headers=headers))

    assert result["statusCode"] == 303
    assert result["headers"]["Location"].startswith("/oauth2/login?request=")


def test_token_and_userinfo_through_handler(
    handler: Any, client: tuple[str, str], stack: StackResources
) -> None:
    verifier = secrets.token_urlsafe(48)
    start = flow.begin_authorization(f"{ISSUER}/oauth2/authorize?{authorize_query(client[0], verifier)}")
    assert isinstance(start, flow.PendingAuthorization)
    login = flow.VerifiedLogin(
        person_id="generic-E-1001",
        email="ada.lovelace@example.com",
        given_name="Ada",
        family_name="Lovelace",
        auth_time=dt.datetime.now(dt.UTC),
        verification_method="document_and_liveness",
    )
    code = parse_qs(urlsplit(flow.complete_authorization(start.request_id, login)).query)["code"][0]
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    )
    credentials = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()

    result = call(
        handler,
        http_event(
            "POST",
            "/oauth2/token",
            body=form,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "authorization": f"Basic {credentials}",
            },
        ),
    )

    assert result["statusCode"] == 200, result["body"]
    assert result["headers"]["Cache-Control"] == "no-store"
    tokens = json.loads(result["body"])
    keys = json.loads(call(handler, http_event("GET", "/oauth2/jwks"))["body"])
    [jwk] = [
        key for key in keys["keys"] if key["kid"] == jwt.get_unverified_header(tokens["id_token"])["kid"]
    ]
    claims = jwt.decode(
        tokens["id_token"], jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=client[0], issuer=ISSUER
    )
    hash_key = boto3.client("secretsmanager").get_secret_value(SecretId=stack.arn("HashKeySecret"))[
        "SecretString"
    ]
    assert claims["sub"] == keyed_hash("oidc-sub", "generic-E-1001", key=hash_key.encode())
    assert claims["nonce"] == "nonce-1"

    info = call(
        handler,
        http_event("GET", "/oauth2/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}),
    )
    assert info["statusCode"] == 200
    assert json.loads(info["body"])["sub"] == claims["sub"]


def test_token_wrong_secret_is_401_with_challenge(handler: Any, client: tuple[str, str]) -> None:
    credentials = base64.b64encode(f"{client[0]}:wrong".encode()).decode()
    form = urlencode({"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI})

    result = call(
        handler,
        http_event("POST", "/oauth2/token", body=form, headers={"authorization": f"Basic {credentials}"}),
    )

    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"] == "invalid_client"
    assert result["headers"]["WWW-Authenticate"].startswith(f'Basic realm="{ISSUER}"')


def test_discovery_uses_request_domain(handler: Any) -> None:
    result = call(handler, http_event("GET", "/.well-known/openid-configuration"))

    assert result["statusCode"] == 200
    document = json.loads(result["body"])
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == f"{ISSUER}/oauth2/authorize"
    assert result["headers"]["Cache-Control"] == "public, max-age=300"


def test_discovery_uses_configured_issuer(handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OIDC_ISSUER_URL", "https://login.example.test")
    flow.default_provider.cache_clear()

    document = json.loads(call(handler, http_event("GET", "/.well-known/openid-configuration"))["body"])

    assert document["issuer"] == "https://login.example.test"
    assert document["jwks_uri"] == "https://login.example.test/oauth2/jwks"
