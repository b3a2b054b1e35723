"""The work e-mail form that starts a sign-in (/oauth2/login) or a self-service recovery (/recovery).

The form is rendered on the server and works without JavaScript. It posts back to its own
URL, which returns a redirect into the verification page, the session token in the
URL fragment. The language is the browser's (`Accept-Language`, or `?lang=`), never the
HR record's, so the page looks the same for every e-mail.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Literal

from hireproof.i18n import SUPPORTED_LOCALES, resolve_locale, translate

EntryKind = Literal["login", "recovery"]
CONTENT_TYPE = "text/html; charset=utf-8"


def policy() -> str:
    """Return the Content-Security-Policy of the form: its stylesheet, and posts to itself only."""
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _text(key: str, locale: str) -> str:
    return html.escape(translate(key, locale))


def render(
    kind: EntryKind,
    locale: str,
    *,
    action: str,
    hidden: Mapping[str, str] | None = None,
    assets_prefix: str,
    error_key: str | None = None,
    email: str = "",
    client_name: str | None = None,
) -> str:
    """Return the form page. `action` is the form's own path with its query string."""
    # The locale may come straight from `?lang=`, so only a supported code reaches the lang attribute.
    locale = resolve_locale(locale)
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in (hidden or {}).items()
    )
    languages = " ".join(
        f'<a href="?{html.escape(_query(hidden, code))}" lang="{code}" hreflang="{code}">'
        f"{_text('page.language.name', code)}</a>"
        for code in SUPPORTED_LOCALES
        if code != locale
    )
    error = (
        f'<p id="entry-error" class="notice notice-error" role="alert">{_text(error_key, locale)}</p>'
        if error_key
        else ""
    )
    # The client's registered name shows the person which application requests the sign-in.
    client = ""
    if client_name:
        text = translate("page.entry.login.client", locale, client=client_name)
        client = f'<p id="entry-client">{html.escape(text)}</p>'
    return f"""<!DOCTYPE html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_text(f"page.entry.{kind}.heading", locale)}</title>
<link rel="stylesheet" href="{html.escape(assets_prefix)}styles.css">
</head>
<body data-entry="{kind}">
<header class="topbar"><nav aria-label="{_text("page.language.label", locale)}">{languages}</nav></header>
<main id="main">
<section class="screen" aria-labelledby="entry-heading">
<h1 id="entry-heading">{_text(f"page.entry.{kind}.heading", locale)}</h1>
{client}<p>{_text(f"page.entry.{kind}.intro", locale)}</p>
{error}
<form method="post" action="{html.escape(action)}">
{fields}
<label for="email">{_text("page.entry.email", locale)}</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254"
 value="{html.escape(email)}">
<button id="entry-submit" type="submit" class="primary">{_text("page.entry.submit", locale)}</button>
</form>
<p class="muted">{_text("page.entry.privacy", locale)}</p>
</section>
</main>
</body>
</html>
"""


def _query(hidden: Mapping[str, str] | None, language: str) -> str:
    from urllib.parse import urlencode

    return urlencode({**{k: v for k, v in (hidden or {}).items() if k == "request"}, "lang": language})
