"""hireproof.web.entry: the work e-mail form that starts a sign-in or a self-service recovery.

The page is parsed with the standard library's HTML parser, so the checks read attributes
and texts as a browser would, after unescaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import parse_qs

import pytest

from hireproof.i18n import catalog, translate
from hireproof.web import entry

ACTION = "/oauth2/login?request=req-4f1c"
ASSETS = "/assets/"
REQUEST_FIELD = {"request": "req-4f1c"}
HOSTILE = '"><script>alert(1)</script>'


class Page(HTMLParser):
    """Elements with their attributes, and the text inside each element that has an id."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, str] = {}
        self._open_ids: list[str | None] = []
        self.title = ""
        self._in_title = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        self._in_title = tag == "title"
        if tag not in ("input", "meta", "link"):
            self._open_ids.append(attributes.get("id"))

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if tag not in ("input", "meta", "link") and self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        for element_id in self._open_ids:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data

    def all(self, tag: str) -> list[dict[str, str]]:
        """Return the attributes of every `tag` element, in document order."""
        return [attributes for name, attributes in self.elements if name == tag]

    def one(self, tag: str, **match: str) -> dict[str, str]:
        """Return the attributes of the only `tag` element whose attributes include `match`."""
        found = [a for a in self.all(tag) if all(a.get(k) == v for k, v in match.items())]
        assert len(found) == 1, f"expected one <{tag}> with {match}, found {len(found)}"
        return found[0]


def _render(
    kind: entry.EntryKind = "login",
    locale: str = "en",
    *,
    action: str = ACTION,
    hidden: Mapping[str, str] | None = REQUEST_FIELD,
    assets_prefix: str = ASSETS,
    error_key: str | None = None,
    email: str = "",
) -> str:
    return entry.render(
        kind,
        locale,
        action=action,
        hidden=hidden,
        assets_prefix=assets_prefix,
        error_key=error_key,
        email=email,
    )


@pytest.mark.parametrize("kind", ["login", "recovery"])
@pytest.mark.parametrize("locale", ["en", "ja"])
def test_render_uses_locale_catalog(kind: entry.EntryKind, locale: str) -> None:
    page = Page(_render(kind, locale))

    assert page.one("html")["lang"] == locale
    assert page.title == translate(f"page.entry.{kind}.heading", locale)
    assert page.texts["entry-heading"] == translate(f"page.entry.{kind}.heading", locale)
    assert page.texts["entry-submit"] == translate("page.entry.submit", locale)
    assert page.one("body")["data-entry"] == kind
    markup = _render(kind, locale)
    for key in (f"page.entry.{kind}.intro", "page.entry.email", "page.entry.privacy"):
        assert catalog(locale)[key] in markup, key


def test_render_japanese_differs_from_english() -> None:
    english = Page(_render(locale="en"))
    japanese = Page(_render(locale="ja"))

    assert japanese.texts["entry-heading"] != english.texts["entry-heading"]
    assert japanese.texts["entry-heading"] == catalog("ja")["page.entry.login.heading"]


def test_render_unsupported_locale_is_english() -> None:
    page = Page(_render(locale="fr"))

    assert page.one("html")["lang"] == "en"
    assert page.texts["entry-heading"] == translate("page.entry.login.heading", "en")


def test_render_hostile_locale_is_not_echoed() -> None:
    markup = _render(locale=f"en{HOSTILE}")

    assert "<script>" not in markup
    assert Page(markup).one("html")["lang"] == "en"


def test_render_form_posts_to_action() -> None:
    page = Page(_render())

    form = page.one("form")
    assert form["method"] == "post"
    assert form["action"] == ACTION
    field = page.one("input", id="email")
    assert field["name"] == "email"
    assert field["type"] == "email"
    assert field["autocomplete"] == "email"
    assert "required" in field
    assert page.one("label")["for"] == "email"


def test_render_hidden_fields() -> None:
    page = Page(_render(hidden={"request": "req-4f1c", "state": "s&1"}))

    hidden = {a["name"]: a["value"] for a in page.all("input") if a["type"] == "hidden"}
    assert hidden == {"request": "req-4f1c", "state": "s&1"}


def test_render_without_hidden_fields() -> None:
    page = Page(_render("recovery", hidden=None))

    assert [a for a in page.all("input") if a["type"] == "hidden"] == []
    [link] = page.all("a")
    assert link["href"] == "?lang=ja"


def test_render_language_links_keep_request_only() -> None:
    page = Page(_render(locale="en", hidden={"request": "req 4f1c&x=1", "state": "s-1"}))

    [link] = page.all("a")
    assert link["lang"] == "ja"
    assert link["hreflang"] == "ja"
    assert parse_qs(link["href"].removeprefix("?")) == {"request": ["req 4f1c&x=1"], "lang": ["ja"]}
    assert translate("page.language.name", "ja") in _render(locale="en")


def test_render_language_link_from_japanese() -> None:
    page = Page(_render(locale="ja"))

    [link] = page.all("a")
    assert link["lang"] == "en"
    assert parse_qs(link["href"].removeprefix("?"))["lang"] == ["en"]
    assert page.one("nav")["aria-label"] == translate("page.language.label", "ja")


def test_render_escapes_values() -> None:
    markup = _render(
        action=f"/oauth2/login?request={HOSTILE}",
        hidden={"request": HOSTILE, HOSTILE: "x"},
        assets_prefix=f"/assets{HOSTILE}/",
        email=HOSTILE,
    )

    assert "<script>" not in markup
    page = Page(markup)
    assert page.one("input", id="email")["value"] == HOSTILE
    assert page.one("form")["action"] == f"/oauth2/login?request={HOSTILE}"
    assert page.one("input", name="request")["value"] == HOSTILE
    assert page.one("link")["href"] == f"/assets{HOSTILE}/styles.css"
    assert page.all("script") == []


def test_render_keeps_typed_email() -> None:
    page = Page(_render(email="renee.dubois@example.com"))

    assert page.one("input", id="email")["value"] == "renee.dubois@example.com"


def test_render_error_message() -> None:
    page = Page(_render(locale="ja", error_key="page.entry.error.expired"))

    error = page.one("p", id="entry-error")
    assert error["role"] == "alert"
    assert page.texts["entry-error"] == translate("page.entry.error.expired", "ja")


def test_render_without_error_has_no_alert() -> None:
    page = Page(_render())

    assert [a for a in page.all("p") if a.get("role") == "alert"] == []


def test_render_stylesheet_from_assets_prefix() -> None:
    page = Page(_render(assets_prefix="https://verify.example.test/assets/"))

    assert page.one("link", rel="stylesheet")["href"] == "https://verify.example.test/assets/styles.css"


def test_render_needs_no_script_or_inline_style() -> None:
    # policy() allows no scripts and no inline styles, so the page must work without them.
    page = Page(_render(error_key="page.entry.error.email"))

    assert page.all("script") == []
    assert page.all("style") == []
    assert [tag for tag, attributes in page.elements if "style" in attributes] == []


def test_policy_directives() -> None:
    directives = dict(part.split(" ", 1) for part in entry.policy().split("; "))

    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "script-src" not in directives
    assert "unsafe-inline" not in entry.policy()


def test_render_client_name_is_escaped() -> None:
    body = entry.render("login", "en", action="/oauth2/login", assets_prefix="", client_name="<Acme & Co>")

    assert "&lt;Acme &amp; Co&gt; asks you to sign in." in body
    assert "<Acme" not in body
