"""Printing command results as aligned text tables or as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TextIO


def plain(value: Any) -> Any:
    """Convert DynamoDB values to JSON types: Decimal to int or float, sets to sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def json_line(record: Mapping[str, Any]) -> str:
    """Return one record as a compact JSON line with sorted keys."""
    return json.dumps(plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def print_json_lines(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Print one JSON object per line and return how many were printed."""
    count = 0
    for record in records:
        out.write(json_line(record) + "\n")
        count += 1
    return count


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], out: TextIO) -> None:
    """Print rows under column headings; `columns` pairs each row key with its heading."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max([len(h), *(len(line[i]) for line in cells)]) for i, h in enumerate(headings)]
    for line in [headings, *cells]:
        out.write(
            "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() + "\n"
        )


def print_fields(record: Mapping[str, Any], out: TextIO) -> None:
    """Print one record as `name: value` lines, nested maps as `parent.name`."""

    def walk(prefix: str, value: Any) -> Iterable[tuple[str, str]]:
        if isinstance(value, Mapping):
            for key in sorted(value):
                yield from walk(f"{prefix}.{key}" if prefix else str(key), value[key])
        else:
            yield prefix, _cell(value)

    pairs = list(walk("", record))
    width = max((len(name) for name, _ in pairs), default=0)
    for name, text in pairs:
        out.write(f"{name.ljust(width)}  {text}\n")
