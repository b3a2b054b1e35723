"""Messages a hire reads (e-mails, API messages), looked up by key in the hire's language.

Catalogs are flat JSON objects in this package, one file per language (`en.json`,
`ja.json`), mapping a dotted key to a `str.format` template. English is complete by
definition: a key missing from another catalog, or a language without a catalog,
falls back to English so a hire always gets a readable message.
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources

from hireproof.models import Address

DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "ja")


@cache
def catalog(language: str) -> dict[str, str]:
    """Return the message catalog of one supported language, loaded once per process."""
    if language not in SUPPORTED_LOCALES:
        raise KeyError(f"no message catalog for language {language!r}")
    text = resources.files(__name__).joinpath(f"{language}.json").read_text(encoding="utf-8")
    messages: dict[str, str] = json.loads(text)
    return messages


def resolve_locale(locale: str | None) -> str:
    """Map a locale tag such as `ja-JP`, `ja_JP` or `JA` to a supported language, else English."""
    if not locale:
        return DEFAULT_LOCALE
    language = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def language_from_accept_language(header: str | None) -> str:
    """Pick the first supported language of an HTTP Accept-Language header, by q-value."""
    if not header:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.split("-", 1)[0].strip().lower()
        if quality > 0 and language in SUPPORTED_LOCALES:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def placeholders(template: str) -> frozenset[str]:
    """Return the `{name}` fields a message template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def translate(key: str, locale: str | None, /, **params: object) -> str:
    """Return the message `key` in `locale`, formatted with `params`.

    Falls back to English when the language or the key is missing from its catalog.
    Raises KeyError when English lacks the key, because that is a programming error.
    """
    language = resolve_locale(locale)
    template = catalog(language).get(key)
    if template is None:
        template = catalog(DEFAULT_LOCALE)[key]
    return template.format_map(params)


def format_address(address: Address, locale: str | None) -> str:
    """Return a postal address on one line in the locale's order.

    Japanese addresses run from the postal code and prefecture down to the street;
    other locales use the street-first order of the HR record.
    """
    if resolve_locale(locale) == "ja":
        parts = [
            f"〒{address.postal_code}",
            address.region or "",
            address.city,
            address.line1,
            address.line2 or "",
        ]
        return " ".join(part for part in parts if part)
    region_postcode = " ".join(part for part in (address.region, address.postal_code) if part)
    parts = [address.line1, address.line2 or "", address.city, region_postcode, address.country]
    return ", ".join(part for part in parts if part)
