"""HTTP details of the OIDC function: request URIs, form bodies, the browser cookie and the error page."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from hireproof.errors import MalformedBodyError
from hireproof.hr.sources import raw_body
from hireproof.oidc.flow import BROWSER_COOKIE_PATH, ErrorPage, PendingAuthorization, browser_cookie_name
from hireproof.oidc.store import PENDING_REQUEST_TTL_SECONDS

LOGIN_PATH = "/oauth2/login"
# The error page has no scripts, styles or images, and no page may frame it.
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000",
}
# The authorize URL carries state and nonce, so the next page must not send it on as a referrer.
REDIRECT_HEADERS: Mapping[str, str] = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def request_uri(event: Mapping[str, Any]) -> str:
    """Return the absolute URI of an API Gateway HTTP API (payload 2.0) request, with its query.

    API Gateway serves https only, so the scheme is https; the local stack sets OIDC_ISSUER_URL,
    which then decides the issuer instead of this URI.
    """
    context = event.get("requestContext") or {}
    domain = str(context.get("domainName") or "")
    path = str(event.get("rawPath") or (context.get("http") or {}).get("path") or "/")
    query = str(event.get("rawQueryString") or "")
    return f"https://{domain}{path}?{query}" if query else f"https://{domain}{path}"


def form_body(event: Mapping[str, Any]) -> str | None:
    """Return the request body as text (a form, for the token endpoint), or None when empty."""
    data = raw_body(event)
    if not data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBodyError("the request body is not UTF-8 text", field="body") from exc


def browser_cookie(pending: PendingAuthorization) -> Cookie:
    """Return the cookie that binds a pending request to this browser.

    It is HttpOnly, SameSite=Lax (the relying party's redirect to /oauth2/authorize is a
    top-level navigation, which Lax allows), limited to /oauth2 and as long-lived as the request.
    It is Secure unless the issuer is the local stack's http URL, where a browser would drop it.
    """
    return Cookie(
        name=browser_cookie_name(pending.request_id),
        value=pending.browser_secret,
        path=BROWSER_COOKIE_PATH,
        secure=pending.issuer.startswith("https://"),
        http_only=True,
        max_age=PENDING_REQUEST_TTL_SECONDS,
        same_site=SameSite.LAX_MODE,
    )


def login_location(pending: PendingAuthorization) -> str:
    """Return where the browser goes after /oauth2/authorize: the e-mail form of this request."""
    return f"{LOGIN_PATH}?request={pending.request_id}"


def error_page_html(page: ErrorPage) -> str:
    """Return a small HTML page that names an authorization error which cannot go back to the client."""
    error = html.escape(page.error)
    description = html.escape(page.description or "The sign-in request is not valid.")
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Sign-in request rejected</title></head>\n"
        "<body><h1>This sign-in request was rejected</h1>\n"
        f"<p>{description}</p>\n"
        f"<p>Error code: <code>{error}</code></p>\n"
        "<p>Go back to the application and sign in again. If this keeps happening, tell the "
        "application's administrator that its HireProof client registration does not match.</p>\n"
        "</body></html>\n"
    )
