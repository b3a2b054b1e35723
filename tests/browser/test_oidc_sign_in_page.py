"""An OpenID Connect sign-in in Chromium: authorize, the e-mail form, the verification page, the redirect.

A relying party is registered with the operator command, its redirect URI on a small HTTP server
that this module starts on 127.0.0.1. The browser opens /oauth2/authorize with PKCE (S256), a
state and a nonce, types the work e-mail, verifies with the fake camera and lands on the relying
party's redirect URI with `code` and `state`. The test then redeems the code as the relying
party would and checks the ID token against /oauth2/jwks.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from fake_camera import write_fake_camera
from hireproof.i18n import translate
from hireproof.local.defaults import store_active_person
from hireproof.local.description import run_operator_command, write_description
from hireproof.local.stack import LocalStack
from page_support import (
    DECISION_TIMEOUT_MS,
    PageErrors,
    accessibility_problems,
    active_person_body,
    hire_record,
    open_phone,
    pass_capture_steps,
    pictures_for,
    text_of,
    wait_for_state,
)

pytestmark = pytest.mark.browser

SCOPES = "openid email profile groups"
# Employee numbers of this module's people, so that their card numbers differ from other tests'.
PERSON_NUMBERS = itertools.count(7_320_001)
HTTP_TIMEOUT = 30
RELYING_PARTY_PAGE = b"<!doctype html><html lang=en><title>Relying party</title><p>Signed in</p></html>"


@dataclass(frozen=True)
class RelyingParty:
    """The registered client and the callback server behind its redirect URI."""

    client_id: str
    client_secret: str
    redirect_uri: str
    callbacks: list[str]


class _CallbackHandler(BaseHTTPRequestHandler):
    """Record each request's path and return a small page, as a relying party's callback would."""

    server: _CallbackServer

    def do_GET(self) -> None:
        self.server.callbacks.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(RELYING_PARTY_PAGE)))
        self.end_headers()
        self.wfile.write(RELYING_PARTY_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        # The query carries the authorization code, which the test output should not show.
        return


class _CallbackServer(ThreadingHTTPServer):
    callbacks: list[str]


def register_client(stack: LocalStack, redirect_uri: str, directory: Path) -> dict[str, Any]:
    """Register a client with the operator command, as an operator would."""
    stack_file = write_description(stack, directory / "local-stack.json")
    completed = run_operator_command(
        stack_file,
        "oidc-clients",
        "register",
        "--name",
        "Relying party in the browser test",
        "--redirect-uri",
        redirect_uri,
        "--auth-method",
        "client_secret_basic",
        "--json",
    )
    assert completed.returncode == 0, completed.stderr
    record: dict[str, Any] = json.loads(completed.stdout)
    return record


@pytest.fixture(scope="module")
def relying_party(page_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelyingParty]:
    server = _CallbackServer(("127.0.0.1", 0), _CallbackHandler)
    server.callbacks = []
    thread = threading.Thread(target=server.serve_forever, name="relying-party", daemon=True)
    thread.start()
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
        client = register_client(page_stack, redirect_uri, tmp_path_factory.mktemp("oidc-browser"))
        yield RelyingParty(client["client_id"], client["client_secret"], redirect_uri, server.callbacks)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def provider_metadata(stack: LocalStack) -> dict[str, Any]:
    response = requests.get(f"{stack.api_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    metadata: dict[str, Any] = response.json()
    return metadata


def test_oidc_sign_in_english(
    page_stack: LocalStack,
    relying_party: RelyingParty,
    launch_chromium: Callable[[Path | None], Any],
    camera_file: Path,
    screenshots: Path,
) -> None:
    number = next(PERSON_NUMBERS)
    record = hire_record(active_person_body(f"S-{number}"))
    store_active_person(page_stack, record)
    pictures = pictures_for(number)
    metadata = provider_metadata(page_stack)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": relying_party.client_id,
            "redirect_uri": relying_party.redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    camera = write_fake_camera(camera_file, pictures)
    page = open_phone(launch_chromium(camera.path), f"{metadata['authorization_endpoint']}?{query}")
    errors = PageErrors(page)

    page.wait_for_selector("#email")
    assert page.url.startswith(f"{page_stack.api_url}/oauth2/login?request=")
    assert text_of(page, "#entry-heading") == translate("page.entry.login.heading", "en")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "oidc-login-form-en.png"), full_page=True)
    page.fill("#email", str(record.work_email))
    page.click("#entry-submit")

    wait_for_state(page, "intro")
    assert "token" not in page.url
    assert text_of(page, "#intro-lead") == translate("page.intro.lead.login", "en")
    page.click("#start")
    pass_capture_steps(page, camera)
    page.wait_for_url(
        lambda url: url.startswith(f"{relying_party.redirect_uri}?"), timeout=DECISION_TIMEOUT_MS
    )

    parameters = {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}
    assert parameters["state"] == state
    assert parameters["iss"] == metadata["issuer"]
    assert "error" not in parameters
    assert text_of(page, "body") == "Signed in"
    # Chromium also requests /favicon.ico from the relying party's server.
    assert [path for path in relying_party.callbacks if path.startswith("/callback?")] == [
        urlsplit(page.url).path + "?" + urlsplit(page.url).query
    ]
    redeemed = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": parameters["code"],
            "redirect_uri": relying_party.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(relying_party.client_id, relying_party.client_secret),
        timeout=HTTP_TIMEOUT,
    )
    assert redeemed.status_code == 200, redeemed.text
    id_token = redeemed.json()["id_token"]
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        signing_key.key,
        algorithms=["RS256"],
        audience=relying_party.client_id,
        issuer=metadata["issuer"],
    )
    assert claims["nonce"] == nonce
    assert claims["email"] == record.work_email
    assert errors.messages == []
