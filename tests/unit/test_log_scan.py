"""The log scanner that the demo's PII check uses: it must flag planted leaks and pass clean lines."""

from __future__ import annotations

import base64
import json

import pytest

from hireproof.demo.log_scan import ForbiddenValues, scan

VALUES = ForbiddenValues(
    names={"Sam", "Rivera", "Renée"},
    emails={"sam.rivera.e-1003@personal.example.net"},
    document_numbers={"D12345678"},
    dates_of_birth={"1990-11-19"},
    addresses={"E-1003 Demo Way"},
    tokens={"k3J9xQ_tokenvalue-000111"},
    credentials={"Xy7#pQ2!"},
)
CLEAN = json.dumps(
    {
        "level": "INFO",
        "message": "verification decided",
        "onboarding_id": "generic-E-1003",
        "decision": "NEEDS_REVIEW",
        "reasons": ["document_expired"],
        "note": "sample of samples, same session",
    }
)


def _line(**fields: object) -> str:
    return json.dumps({"level": "INFO", "message": "audit record written", **fields})


def test_scan_passes_clean_lines() -> None:
    assert scan([CLEAN, "", "plain text without data"], VALUES) == []


def test_scan_flags_planted_email() -> None:
    findings = scan([CLEAN, _line(to="sam.rivera.e-1003@personal.example.net")], VALUES, source="demo.log")

    assert [(f.source, f.line_number, f.category) for f in findings] == [("demo.log", 2, "email")]
    assert "personal.example.net" not in findings[0].excerpt
    assert "<email>" in findings[0].excerpt


def test_scan_flags_unlisted_email() -> None:
    findings = scan([_line(manager="someone.else@corp.example.org")], VALUES)

    assert [f.category for f in findings] == ["email"]


@pytest.mark.parametrize(
    ("field", "category"),
    [
        ("Sam Rivera", "name"),
        ("RIVERA", "name"),
        ("D12345678", "document_number"),
        ("1990-11-19", "date_of_birth"),
        ("E-1003 Demo Way", "address"),
        ("k3J9xQ_tokenvalue-000111", "token"),
        ("Xy7#pQ2!", "credential"),
    ],
)
def test_scan_flags_known_value(field: str, category: str) -> None:
    findings = scan([_line(detail=field)], VALUES)

    assert category in {f.category for f in findings}


def test_scan_flags_json_escaped_name() -> None:
    line = json.dumps({"message": "hire recorded", "given": "Renée"})  # written as Ren\u00e9e

    assert "\\u00e9" in line
    assert [f.category for f in scan([line], VALUES)] == ["name"]


def test_scan_ignores_name_inside_word() -> None:
    assert scan([_line(note="Samples are the same for Samantha")], VALUES) == []


def test_scan_flags_json_web_token() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').decode().rstrip("=")
    token = f"{header}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    findings = scan([_line(authorization=f"Bearer {token}")], VALUES)

    assert [f.category for f in findings] == ["json_web_token"]


@pytest.mark.parametrize("image", [b"\xff\xd8\xff\xe0\x00\x10JFIF", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_scan_flags_base64_image(image: bytes) -> None:
    encoded = base64.b64encode(image + b"\x00" * 12).decode()

    findings = scan([_line(selfie=encoded)], VALUES)

    assert [f.category for f in findings] == ["image_data"]


def test_scan_reports_each_category_once_per_line() -> None:
    line = _line(a="Sam", b="Rivera", c="D12345678", d="D12345678")

    findings = scan([line], VALUES)

    assert sorted(f.category for f in findings) == ["document_number", "name"]
    assert "Rivera" not in findings[0].excerpt
