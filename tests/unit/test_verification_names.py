"""Name comparison: what counts as the same legal name, a partial match, or another name."""

from __future__ import annotations

import pytest

from hireproof.verification.names import NameOutcome, compare_names, scripts, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Renée", ("renee",)),
        ("O'Brien-Smith", ("obrien", "smith")),
        ("Jørgen Łukasz", ("jorgen", "lukasz")),
        ("STRAßE", ("strasse",)),
        ("\uff32\uff45\uff4e\uff45\uff45", ("renee",)),  # full-width letters from a CJK keyboard
        ("  Mary  Ann ", ("mary", "ann")),
        (None, ()),
    ],
)
def test_tokens_fold_case_accents_and_punctuation(
    text: str | None, expected: tuple[str, ...]
) -> None:
    assert tokens(text) == expected


def test_scripts_name_the_writing_systems() -> None:
    assert scripts("Renée Dubois") == {"LATIN"}
    assert scripts("山田 たろう") == {"CJK", "HIRAGANA"}
    assert scripts("Иван") == {"CYRILLIC"}


def compare(
    record: tuple[str, str, str | None], document: tuple[str | None, str | None, str | None]
) -> NameOutcome:
    return compare_names(
        record_given=record[0],
        record_family=record[1],
        record_middle=record[2],
        document_given=document[0],
        document_family=document[1],
        document_middle=document[2],
    ).outcome


@pytest.mark.parametrize(
    ("record", "document", "expected"),
    [
        (("Renée", "Dubois", None), ("RENEE", "DUBOIS", None), NameOutcome.MATCH),
        (("Taro", "Yamada", None), ("YAMADA", "TARO", None), NameOutcome.MATCH),
        (("Maria", "Garcia", None), ("MARIA", "GARCIA LOPEZ", None), NameOutcome.PARTIAL),
        (("Maria", "Garcia Lopez", None), ("MARIA", "GARCIA-LOPEZ", None), NameOutcome.MATCH),
        (("Jon", "Smith", None), ("JOHN", "SMITH", None), NameOutcome.PARTIAL),
        (("Renée", "Dubois", "C"), ("RENEE", "DUBOIS", "CLAIRE"), NameOutcome.MATCH),
        (("Renée", "Dubois", None), ("JOHN", "SMITH", None), NameOutcome.MISMATCH),
        (("Иван", "Петров", None), ("IVAN", "PETROV", None), NameOutcome.SCRIPT_DIFFERS),
        (("Renée", "Dubois", None), (None, None, "CLAIRE"), NameOutcome.UNREADABLE),
    ],
)
def test_compare_names(
    record: tuple[str, str, str | None],
    document: tuple[str | None, str | None, str | None],
    expected: NameOutcome,
) -> None:
    assert compare(record, document) is expected


def test_overlap_counts_the_record_tokens_found() -> None:
    comparison = compare_names(
        record_given="Renée",
        record_family="Dubois",
        record_middle=None,
        document_given="RENEE",
        document_family="MARTIN",
        document_middle=None,
    )

    assert comparison.outcome is NameOutcome.PARTIAL
    assert comparison.token_overlap == 0.5
