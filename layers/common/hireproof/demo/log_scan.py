"""Find personal data, secrets and images in log lines.

`scan` checks each line for two kinds of leak:

- the known values of the hires a run used (names, e-mail addresses, document numbers,
  dates of birth, street addresses, invitation tokens, initial credentials), also in their
  JSON-escaped form, because log lines are JSON;
- patterns that are leaks whatever their owner: any e-mail address, a base64url JSON object
  such as a JWT (`eyJ...`), and base64 image data (JPEG starts `/9j/`, PNG `iVBOR`).

Names match as whole words and ignore case, so "Sam" is found in "sam rivera" but not in
"sample". Each finding carries the line with the matched text replaced by its category, so a
failure report does not repeat the leak.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A base64url-encoded JSON object: JWT, JWS and JWE segments all start with `{"`.
JSON_WEB_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")
IMAGE_DATA = re.compile(r"/9j/|iVBOR")
EXCERPT_CHARACTERS = 300


@dataclass
class ForbiddenValues:
    """Values that must never appear in a log line, by category."""

    names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    document_numbers: set[str] = field(default_factory=set)
    dates_of_birth: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    credentials: set[str] = field(default_factory=set)

    def by_category(self) -> dict[str, set[str]]:
        """Return the non-empty values of every category except names."""
        return {
            "email": self.emails,
            "document_number": self.document_numbers,
            "date_of_birth": self.dates_of_birth,
            "address": self.addresses,
            "token": self.tokens,
            "credential": self.credentials,
        }

    def count(self) -> int:
        """Return how many values are forbidden in all."""
        return sum(len(values) for values in (self.names, *self.by_category().values()))


@dataclass(frozen=True)
class Finding:
    """One leak: where it is, what kind, and the line with the leaked text masked."""

    source: str
    line_number: int
    category: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line_number}: {self.category}: {self.excerpt}"


def _spellings(value: str) -> set[str]:
    """Return the value as written and as a JSON string escapes it (non-ASCII as \\uXXXX)."""
    escaped = json.dumps(value)[1:-1]
    return {value, escaped}


def _patterns(values: ForbiddenValues) -> list[tuple[str, re.Pattern[str]]]:
    # Whole values first, so that an e-mail address is reported as one before the name
    # inside it is.
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for category, known in values.by_category().items():
        for value in sorted(known):
            if value:
                alternatives = "|".join(re.escape(spelling) for spelling in sorted(_spellings(value)))
                patterns.append((category, re.compile(alternatives, re.IGNORECASE)))
    for name in sorted(values.names):
        if not name.strip():
            continue
        alternatives = "|".join(re.escape(spelling) for spelling in sorted(_spellings(name)))
        patterns.append(("name", re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)))
    patterns.append(("email", EMAIL))
    patterns.append(("json_web_token", JSON_WEB_TOKEN))
    patterns.append(("image_data", IMAGE_DATA))
    return patterns


def scan(lines: Iterable[str], values: ForbiddenValues, *, source: str = "log") -> list[Finding]:
    """Return every leak in `lines`, one finding per line and category."""
    patterns = _patterns(values)
    findings: list[Finding] = []
    for number, line in enumerate(lines, start=1):
        masked = line
        categories: list[str] = []
        for category, pattern in patterns:
            if pattern.search(masked):
                masked = pattern.sub(f"<{category}>", masked)
                if category not in categories:
                    categories.append(category)
        for category in categories:
            excerpt = masked.strip()
            if len(excerpt) > EXCERPT_CHARACTERS:
                position = max(excerpt.find(f"<{category}>") - EXCERPT_CHARACTERS // 2, 0)
                excerpt = "..." + excerpt[position : position + EXCERPT_CHARACTERS] + "..."
            findings.append(Finding(source, number, category, excerpt))
    return findings
