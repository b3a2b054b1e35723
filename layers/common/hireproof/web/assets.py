"""Look up the verification page's files and build its catalogs, ready to send.

Paths come from the request URL, so `static_asset` accepts only plain file names in known
folders: no `..`, no hidden files, and only the file types in CONTENT_TYPES. Every asset is
read once per process; a deployment replaces the files with the code.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from hireproof.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, catalog

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE_FILE = "index.html"
CATALOG_FOLDER = "i18n"
# Message keys the page shows. E-mail templates stay on the server.
PAGE_MESSAGE_PREFIXES: tuple[str, ...] = (
    "page.",
    "api.step.",
    "api.retake.",
    "api.next_step.",
    "api.error.",
)
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)*$")
# `{{page.key}}` in index.html: text the page needs before its JavaScript runs.
_HTML_PLACEHOLDER = re.compile(r"\{\{(page\.[a-z0-9_.]+)\}\}")


@dataclass(frozen=True)
class Asset:
    """One response body with its media type and strong ETag."""

    body: str
    content_type: str
    etag: str


def _asset(body: str, content_type: str) -> Asset:
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    return Asset(body=body, content_type=content_type, etag=f'"{digest}"')


def _static_root() -> Traversable:
    return resources.files(__package__ or "hireproof.web").joinpath("static")


def page_messages(language: str) -> dict[str, str]:
    """Return the page's messages in `language`, with English for any key it lacks."""
    english = catalog(DEFAULT_LOCALE)
    messages = {key: text for key, text in english.items() if key.startswith(PAGE_MESSAGE_PREFIXES)}
    for key, text in catalog(language).items():
        if key in messages:
            messages[key] = text
    return messages


@cache
def catalog_asset(language: str) -> Asset:
    """Build `i18n/<language>.json`: the messages, and every language's name for the switcher.

    Raises KeyError for a language without a catalog.
    """
    if language not in SUPPORTED_LOCALES:
        raise KeyError(f"no message catalog for language {language!r}")
    document = {
        "locale": language,
        "languages": {code: catalog(code)["page.language.name"] for code in SUPPORTED_LOCALES},
        "messages": page_messages(language),
    }
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1)
    return _asset(body, CONTENT_TYPES[".json"])


def _fill_placeholders(text: str) -> str:
    """Replace `{{page.key}}` with the message in every language, each marked with its `lang`."""

    def every_language(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "page.title":
            # A <title> contains text only, so it gets the default language alone, and the
            # script sets it in the hire's language.
            return html.escape(catalog(DEFAULT_LOCALE)[key])
        english = catalog(DEFAULT_LOCALE)[key]
        return " ".join(
            f'<span lang="{code}">{html.escape(catalog(code).get(key) or english)}</span>'
            for code in SUPPORTED_LOCALES
        )

    return _HTML_PLACEHOLDER.sub(every_language, text)


@cache
def page_asset() -> Asset:
    """Return index.html with its placeholders filled from the catalogs."""
    text = _static_root().joinpath(PAGE_FILE).read_text(encoding="utf-8")
    return _asset(_fill_placeholders(text), CONTENT_TYPES[".html"])


@cache
def step_up_page_asset() -> Asset:
    """Return the page as served one folder deeper, at verify/step-up.

    index.html links its assets relative to the folder above verify/, so from verify/step-up
    the links go one folder up first.
    """
    text = _static_root().joinpath(PAGE_FILE).read_text(encoding="utf-8")
    text = text.replace('"verify/assets/', '"../verify/assets/')
    return _asset(_fill_placeholders(text), CONTENT_TYPES[".html"])


@cache
def static_asset(path: str) -> Asset | None:
    """Return the asset at `path` under the assets URL, or None when there is none.

    `i18n/<language>.json` is generated from the message catalogs; every other path is a
    file under `static/`. index.html is served only as the page itself (`page_asset`).
    """
    segments = path.split("/")
    if not segments or any(not _SEGMENT.match(segment) for segment in segments):
        return None
    if len(segments) == 2 and segments[0] == CATALOG_FOLDER:
        language, _, suffix = segments[1].partition(".")
        if suffix != "json" or language not in SUPPORTED_LOCALES:
            return None
        return catalog_asset(language)
    if path == PAGE_FILE:
        return None
    suffix = "." + segments[-1].rsplit(".", 1)[-1] if "." in segments[-1] else ""
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None:
        return None
    node = _static_root()
    for segment in segments:
        node = node.joinpath(segment)
    if not node.is_file():
        return None
    return _asset(node.read_text(encoding="utf-8"), content_type)
