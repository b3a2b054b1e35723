"""Compare the legal name on record with the name read from an identity document.

Documents and HR systems disagree on case, accents, punctuation, middle names and the
order of given and family names; none of that is a mismatch. A name written in another
script (for example Japanese on the document, Latin letters in HR) cannot be compared
by machine, so it is reported separately for a person to review.
"""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

# Letters that Unicode does not decompose into a base letter plus a mark.
_FOLD = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",
        "ŧ": "t",
    }
)
_DROP = {"'", "\u2019", "\u02bc", "`", "."}
_SPLIT = {"-", "\u2010", "\u2011", "\u2013", ",", "/", "_"}
# Two tokens this alike are a likely typo or transliteration variant, not a different person.
_NEAR_RATIO = 0.8


class NameOutcome(StrEnum):
    """Result of comparing two names."""

    MATCH = "match"
    PARTIAL = "partial"
    MISMATCH = "mismatch"
    SCRIPT_DIFFERS = "script_differs"
    UNREADABLE = "unreadable"


class NameComparison(BaseModel):
    """The outcome and the share of record name tokens found on the document (0-1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: NameOutcome
    token_overlap: float


def scripts(text: str) -> frozenset[str]:
    """Return the Unicode scripts of the letters in `text`, e.g. {'LATIN'} or {'CJK'}."""
    found: set[str] = set()
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isalpha():
            found.add(unicodedata.name(ch, "UNKNOWN").split(" ")[0])
    return frozenset(found)


def tokens(text: str | None) -> tuple[str, ...]:
    """Split a name into comparable tokens: case-folded, accents removed, punctuation dropped."""
    if not text:
        return ()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    out: list[str] = []
    for ch in folded.translate(_FOLD):
        if unicodedata.category(ch) == "Mn" or ch in _DROP:
            continue
        out.append(" " if ch in _SPLIT else ch)
    return tuple("".join(out).split())


def _near(a: str, b: str) -> bool:
    return a == b or SequenceMatcher(None, a, b).ratio() >= _NEAR_RATIO


def _middle_ok(record_middle: tuple[str, ...], document: set[str]) -> bool:
    """Return whether each record middle name, or its initial, is among the document tokens."""
    for token in record_middle:
        if token in document:
            continue
        if any(len(t) == 1 and token.startswith(t) for t in document):
            continue
        if len(token) == 1 and any(t.startswith(token) for t in document):
            continue
        return False
    return True


def compare_names(
    *,
    record_given: str,
    record_family: str,
    record_middle: str | None,
    document_given: str | None,
    document_family: str | None,
    document_middle: str | None,
) -> NameComparison:
    """Compare the HR legal name with the document's name, ignoring order, case and accents."""
    doc_text = " ".join(filter(None, (document_given, document_middle, document_family)))
    if not tokens(document_given) and not tokens(document_family):
        return NameComparison(outcome=NameOutcome.UNREADABLE, token_overlap=0.0)
    record_text = " ".join(filter(None, (record_given, record_middle, record_family)))
    if scripts(doc_text) != scripts(record_text):
        return NameComparison(outcome=NameOutcome.SCRIPT_DIFFERS, token_overlap=0.0)

    given, family, middle = tokens(record_given), tokens(record_family), tokens(record_middle)
    doc_middle = set(tokens(document_middle))
    doc_all = set(tokens(document_given)) | set(tokens(document_family)) | doc_middle
    required = given + family
    if not required:
        # The record name is only punctuation: nothing to compare, so a person decides.
        return NameComparison(outcome=NameOutcome.PARTIAL, token_overlap=0.0)
    found = sum(1 for t in required if t in doc_all)
    overlap = found / len(required)

    # A document may carry middle names that HR never recorded, in its middle field or after
    # the given name. Any other extra token (a second family name, another given name) goes
    # to a person.
    doc_given = tokens(document_given)
    optional = doc_middle | set(doc_given[len(given) :] if doc_given[: len(given)] == given else ())
    extras = doc_all - set(required) - set(middle) - optional
    doc_beyond_required = doc_all - set(required)
    middle_ok = not middle or not doc_beyond_required or _middle_ok(middle, doc_beyond_required)
    if found == len(required) and not extras and middle_ok:
        return NameComparison(outcome=NameOutcome.MATCH, token_overlap=overlap)

    given_close = any(_near(a, b) for a in given for b in doc_all)
    family_close = any(_near(a, b) for a in family for b in doc_all)
    if not given_close and not family_close:
        return NameComparison(outcome=NameOutcome.MISMATCH, token_overlap=overlap)
    return NameComparison(outcome=NameOutcome.PARTIAL, token_overlap=overlap)
