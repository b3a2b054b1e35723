"""OpenID Connect provider routes: a relying party logs people in through a new verification.

- GET /.well-known/openid-configuration: the Discovery 1.0 metadata;
- GET and POST /oauth2/authorize: validates the request and sends the browser to the e-mail
  form, with a cookie that binds the request to it. Errors go back to the client, except a bad
  client_id or redirect_uri, which get an error page and are never redirected to;
- POST /oauth2/token: code (with client secret and PKCE verifier) for an access and ID token;
- GET /oauth2/jwks: the ID token signing keys;
- GET and POST /oauth2/userinfo: the claims of an access token;
- GET and POST /oauth2/login: the work e-mail form, which starts the verification;
- GET /oauth2/resume: back from the verification page, redirects to the client with a code or
  access_denied (see `hireproof.oidc.login`).

See `hireproof.oidc.flow` for the steps and `docs/oidc.md` for the endpoints and claims.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError

from hireproof import http_errors
from hireproof.errors import (
    AuthorizationBrowserMismatchError,
    AuthorizationRequestExpiredError,
    AuthorizationRequestNotFoundError,
    AuthorizationRequestUsedError,
    HireProofError,
    InvalidRequestError,
    RateLimitedError,
)
from hireproof.i18n import language_from_accept_language, resolve_locale
from hireproof.oidc import flow, login, web
from hireproof.oidc.flow import EndpointResponse, ErrorPage, ErrorRedirect, browser_cookie_name
from hireproof.web import entry

logger = Logger()
app = APIGatewayHttpResolver()
http_errors.register(app)

MAX_REQUEST_ID_LENGTH = 128
# A sign-in that cannot go on; the browser gets the form page with a notice, never JSON.
REQUEST_PROBLEMS = (
    AuthorizationRequestNotFoundError,
    AuthorizationRequestExpiredError,
    AuthorizationRequestUsedError,
    AuthorizationBrowserMismatchError,
)


class LoginForm(BaseModel):
    """The e-mail form of a sign-in."""

    model_config = ConfigDict(extra="ignore")

    email: EmailStr


# Short caching: during a key rotation relying parties must see the new key within minutes.
METADATA_CACHE = "public, max-age=300"


def _send(response: EndpointResponse) -> Response[str]:
    return Response(status_code=response.status, body=response.body, headers=response.headers)


def _json(document: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(document),
        headers={"Cache-Control": METADATA_CACHE, "Access-Control-Allow-Origin": "*"},
    )


@app.get("/.well-known/openid-configuration")
def discovery() -> Response[str]:
    return _json(flow.default_provider().discovery(web.request_uri(app.current_event.raw_event)))


@app.get("/oauth2/jwks")
def jwks() -> Response[str]:
    return _json(flow.default_provider().jwks())


@app.route("/oauth2/authorize", method=["GET", "POST"])
def authorize() -> Response[str]:
    event = app.current_event.raw_event
    body = web.form_body(event) if app.current_event.http_method == "POST" else None
    start = flow.begin_authorization(
        web.request_uri(event), app.current_event.http_method, body, dict(app.current_event.headers)
    )
    if isinstance(start, ErrorPage):
        return Response(
            status_code=start.status,
            content_type="text/html; charset=utf-8",
            body=web.error_page_html(start),
            headers=dict(web.PAGE_HEADERS),
        )
    if isinstance(start, ErrorRedirect):
        return Response(status_code=303, headers={"Location": start.location, **web.REDIRECT_HEADERS})
    return Response(
        status_code=303,
        headers={"Location": web.login_location(start), **web.REDIRECT_HEADERS},
        cookies=[web.browser_cookie(start)],
    )


@app.post("/oauth2/token")
def token() -> Response[str]:
    event = app.current_event.raw_event
    return _send(
        flow.default_provider().token_response(
            web.request_uri(event), "POST", web.form_body(event), dict(app.current_event.headers)
        )
    )


@app.route("/oauth2/userinfo", method=["GET", "POST"])
def userinfo() -> Response[str]:
    event = app.current_event.raw_event
    body = web.form_body(event) if app.current_event.http_method == "POST" else None
    return _send(
        flow.default_provider().userinfo_response(
            web.request_uri(event), app.current_event.http_method, body, dict(app.current_event.headers)
        )
    )


# ----------------------------------------------------------------- sign-in pages
def _locale(ui_locales: str | None = None) -> str:
    """Return the page language: ?lang=, then the request's ui_locales, then Accept-Language."""
    event = app.current_event
    chosen = (event.query_string_parameters or {}).get("lang") or (ui_locales or "").split(" ")[0]
    if chosen:
        return resolve_locale(chosen)
    return language_from_accept_language(event.headers.get("accept-language"))


def _browser_secret(request_id: str) -> str | None:
    """Return the value of this request's binding cookie, or None when the browser sent none."""
    name = browser_cookie_name(request_id)
    for cookie in app.current_event.cookies or []:
        key, _, value = cookie.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def _form_page(
    locale: str,
    request_id: str,
    *,
    status: int = 200,
    error_key: str | None = None,
    client_name: str | None = None,
) -> Response[str]:
    body = entry.render(
        "login",
        locale,
        action=f"{web.LOGIN_PATH}?{urlencode({'request': request_id, 'lang': locale})}",
        hidden={"request": request_id},
        assets_prefix="../verify/assets/",
        error_key=error_key,
        client_name=client_name,
    )
    headers = {**web.PAGE_HEADERS, "Content-Security-Policy": entry.policy()}
    return Response(status_code=status, content_type=entry.CONTENT_TYPE, body=body, headers=headers)


def _request_problem(locale: str, request_id: str, error: HireProofError) -> Response[str]:
    """Show the person why a sign-in request cannot go on. The relying party gets no redirect for it."""
    status = http_errors.status_for(error)
    logger.info("sign-in request refused", extra={"error": type(error).__name__, "status": status})
    return _form_page(locale, request_id, status=status, error_key="page.entry.error.expired")


def _request_id() -> str:
    request_id = (app.current_event.query_string_parameters or {}).get("request", "")
    if not request_id or len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidRequestError(
            "the request query parameter is missing; start from the application", field="request"
        )
    return request_id


@app.get(web.LOGIN_PATH)
def login_form() -> Response[str]:
    request_id = _request_id()
    try:
        pending = flow.load_pending(request_id, _browser_secret(request_id))
    except REQUEST_PROBLEMS as exc:
        return _request_problem(_locale(), request_id, exc)
    return _form_page(_locale(" ".join(pending.ui_locales)), request_id, client_name=pending.client_name)


@app.post(web.LOGIN_PATH)
def login_submit() -> Response[str]:
    request_id = _request_id()
    locale = _locale()
    form = parse_qs(web.form_body(app.current_event.raw_event) or "")
    try:
        email = LoginForm.model_validate({"email": (form.get("email") or [""])[0]}).email
    except ValidationError:
        return _form_page(locale, request_id, status=422, error_key="page.entry.error.email")
    try:
        location = login.start_login(
            request_id,
            _browser_secret(request_id),
            str(email),
            source_ip=app.current_event.request_context.http.source_ip,
            locale=locale,
        )
    except REQUEST_PROBLEMS as exc:
        return _request_problem(locale, request_id, exc)
    except RateLimitedError as exc:
        page = _form_page(locale, request_id, status=429, error_key="api.error.rate_limited")
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    return Response(status_code=303, headers={"Location": location, **web.REDIRECT_HEADERS})


@app.get(login.RESUME_PATH)
def resume() -> Response[str]:
    request_id = _request_id()
    session_id = (app.current_event.query_string_parameters or {}).get("session", "")
    locale = _locale()
    try:
        location = login.resume(request_id, session_id, _browser_secret(request_id), locale=locale)
    except REQUEST_PROBLEMS as exc:
        return _request_problem(locale, request_id, exc)
    return Response(status_code=303, headers={"Location": location, **web.REDIRECT_HEADERS})


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
