"""`hireproof audit export`: the audit trail as JSON lines, for one subject or the whole table.

Record ids start with the record's ISO 8601 UTC time, so the time window of one subject is a
key condition on `record_id` and comes out oldest first. Without --subject the table is
scanned, filtered on `recorded_at`, and records come out in table order, not time order.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from hireproof.cli.output import json_line, plain
from hireproof.cli.target import Target

# A character after every character that an ISO 8601 time and "#<hex id>" can contain, so
# "<until>" + this sorts after every record id recorded at `until` exactly.
_AFTER_ANY = "~"


def parse_time(text: str) -> str:
    """Return an ISO 8601 date or time as the UTC text form that audit records use.

    A date means its midnight in UTC, and a time without an offset is taken as UTC.
    Raises ValueError for text that is neither.
    """
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _query(target: Target, subject: str, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
    names = {"#s": "subject_id"}
    values: dict[str, Any] = {":s": subject}
    condition = "#s = :s"
    if since or until:
        names["#r"] = "record_id"
        # Key values cannot be empty strings, and "0" sorts below every ISO 8601 time.
        values[":from"] = since or "0"
        # `until` is exclusive although BETWEEN is not: a record id recorded at `until` is
        # `until` followed by "#<id>", so it sorts above `until` itself.
        values[":to"] = until or _AFTER_ANY
        condition += " AND #r BETWEEN :from AND :to"
    request: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    yield from _pages(target, "query", request)


def _scan(target: Target, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {}
    conditions = []
    values: dict[str, Any] = {}
    if since:
        conditions.append("#t >= :from")
        values[":from"] = since
    if until:
        conditions.append("#t < :to")
        values[":to"] = until
    if conditions:
        request["FilterExpression"] = " AND ".join(conditions)
        request["ExpressionAttributeNames"] = {"#t": "recorded_at"}
        request["ExpressionAttributeValues"] = values
    yield from _pages(target, "scan", request)


def _pages(target: Target, operation: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    table = target.table("AuditTable")
    while True:
        page = getattr(table, operation)(**request)
        for item in page["Items"]:
            record: dict[str, Any] = plain(item)
            yield record
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def records(
    target: Target, *, subject: str | None, since: str | None, until: str | None
) -> Iterator[dict[str, Any]]:
    """Yield the audit records of the window [since, until), of one subject or of all."""
    if subject:
        return _query(target, subject, since, until)
    return _scan(target, since, until)


def export_command(
    target: Target,
    *,
    subject: str | None,
    since: str | None,
    until: str | None,
    output: Path | None,
    out: TextIO,
) -> int:
    """Write the audit records as JSON lines to `output`, or to `out` without it."""
    selected = records(target, subject=subject, since=since, until=until)
    if output is None:
        for record in selected:
            out.write(json_line(record) + "\n")
        return 0
    count = 0
    with output.open("w", encoding="utf-8") as handle:
        for record in selected:
            handle.write(json_line(record) + "\n")
            count += 1
    # A summary, not data: it goes to stderr with the other messages.
    print(f"wrote {count} audit record{'s' if count != 1 else ''} to {output}", file=sys.stderr)
    return 0
