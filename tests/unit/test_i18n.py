"""hireproof.i18n: catalogs, locale resolution and the English fallback."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from hireproof import i18n
from hireproof.verification.reasons import RetakeReason

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_catalogs_have_same_keys() -> None:
    english = set(i18n.catalog("en"))
    japanese = set(i18n.catalog("ja"))

    assert sorted(english - japanese) == []
    assert sorted(japanese - english) == []


@pytest.mark.parametrize("language", ["en", "ja"])
def test_catalog_has_no_duplicate_keys(language: str) -> None:
    text = resources.files("hireproof.i18n").joinpath(f"{language}.json").read_text(encoding="utf-8")
    keys: list[str] = []
    json.loads(text, object_pairs_hook=lambda pairs: keys.extend(key for key, _ in pairs) or dict(pairs))

    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert duplicates == []


@pytest.mark.parametrize("key", sorted(i18n.catalog("en")))
def test_japanese_message_is_translated(key: str) -> None:
    english = i18n.catalog("en")[key]
    japanese = i18n.catalog("ja")[key]

    assert japanese != english
    assert JAPANESE.search(japanese), f"{key} has no Japanese text: {japanese!r}"


@pytest.mark.parametrize("key", sorted(i18n.catalog("en")))
def test_japanese_placeholders_are_known(key: str) -> None:
    # The greeting uses family and given name in Japanese, the display name in English;
    # every other message must take the same parameters in both languages.
    english = i18n.placeholders(i18n.catalog("en")[key])
    japanese = i18n.placeholders(i18n.catalog("ja")[key])

    if key == "email.greeting":
        assert japanese <= {"display_name", "given_name", "family_name"}
    else:
        assert japanese == english


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja", "ja"),
        ("ja-JP", "ja"),
        ("ja_JP", "ja"),
        ("JA", "ja"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_resolve_locale(tag: str | None, expected: str) -> None:
    assert i18n.resolve_locale(tag) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja-JP,ja;q=0.9,en-US;q=0.8", "ja"),
        ("fr-FR,fr;q=0.9,ja;q=0.5,en;q=0.4", "ja"),
        ("en;q=0.2,ja;q=0.8", "ja"),
        ("ja;q=0,en", "en"),
        ("de-DE", "en"),
        ("ja;q=abc", "en"),
        (None, "en"),
    ],
)
def test_language_from_accept_language(header: str | None, expected: str) -> None:
    assert i18n.language_from_accept_language(header) == expected


def test_translate_formats_parameters() -> None:
    message = i18n.translate("api.retake.attempts_left.other", "ja", attempts_left=2)

    assert message == "やり直しできるのは残り2回です。"


def test_translate_unknown_language_uses_english() -> None:
    message = i18n.translate("api.error.invitation_used", "pt-BR")

    assert message == i18n.catalog("en")["api.error.invitation_used"]


def test_translate_missing_key_in_language_uses_english(monkeypatch: pytest.MonkeyPatch) -> None:
    english = i18n.catalog("en")
    partial = {k: v for k, v in i18n.catalog("ja").items() if k != "api.error.invitation_used"}
    monkeypatch.setattr(i18n, "catalog", lambda language: partial if language == "ja" else english)

    message = i18n.translate("api.error.invitation_used", "ja")

    assert message == english["api.error.invitation_used"]


def test_translate_unknown_key_raises() -> None:
    with pytest.raises(KeyError):
        i18n.translate("api.error.no_such_message", "ja")


def test_every_retake_reason_has_message() -> None:
    missing = [r.value for r in RetakeReason if f"api.retake.{r.value}" not in i18n.catalog("en")]

    assert missing == []


def test_format_address_follows_locale_order() -> None:
    from hireproof.i18n import format_address
    from hireproof.models import Address

    us = Address(line1="1 Demo Way", city="Springfield", region="IL", postal_code="62701", country="US")
    jp = Address(
        line1="1-2-3 Marunouchi", city="Chiyoda-ku", region="Tokyo", postal_code="100-0005", country="JP"
    )

    assert format_address(us, "en") == "1 Demo Way, Springfield, IL 62701, US"
    assert format_address(jp, "ja") == "〒100-0005 Tokyo Chiyoda-ku 1-2-3 Marunouchi"
    assert format_address(us, "fr") == format_address(us, "en")
