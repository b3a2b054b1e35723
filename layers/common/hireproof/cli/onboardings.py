"""`hireproof onboardings list|show`: onboarding state, decision, reasons and timestamps.

Reads the onboarding table with a projection of the attributes below, so the hire's name,
e-mail addresses, home and shipping addresses and date of birth are never even fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from hireproof.cli.errors import CommandError
from hireproof.cli.output import plain, print_fields, print_json_lines, print_table
from hireproof.cli.target import Target

HIRE_SK = "HIRE"

# Attributes of the HIRE item that carry no personal data. `review.task_token` is left out too,
# because it would let the reader complete the review without the review API.
SHOWN_ATTRIBUTES = (
    "onboarding_id",
    "state",
    "decision",
    "reasons",
    "close_reasons",
    "shipping_reasons",
    "recipient_decision",
    "recipient_reasons",
    "scores",
    "source",
    "source_event_id",
    "idp_user_id",
    "shipment_id",
    "execution_arn",
    "created_at",
    "updated_at",
    "verified_at",
    "delivered_at",
    "recipient_decided_at",
    "review.stage",
    "review.reasons",
    "review.requested_at",
    "review.decided_at",
    "review.approved",
    "review.reviewer",
    "review.reason",
)
LIST_ATTRIBUTES = (
    "onboarding_id",
    "state",
    "decision",
    "reasons",
    "close_reasons",
    "created_at",
    "updated_at",
)
LIST_COLUMNS = (
    ("onboarding_id", "ONBOARDING"),
    ("state", "STATE"),
    ("decision", "DECISION"),
    ("updated_at", "UPDATED"),
    ("reasons", "REASONS"),
)


def _projection(attributes: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Return a ProjectionExpression with a placeholder for every name, reserved words included."""
    names: dict[str, str] = {}
    paths = []
    for attribute in attributes:
        parts = []
        for part in attribute.split("."):
            placeholder = f"#n{len(names)}"
            names[placeholder] = part
            parts.append(placeholder)
        paths.append(".".join(parts))
    # Several paths share a name ("review", "reasons"); one placeholder per occurrence is valid.
    return ", ".join(paths), names


def scan_onboardings(target: Target, state: str | None) -> Iterator[dict[str, Any]]:
    """Yield the list attributes of every onboarding, optionally only those in one state."""
    projection, names = _projection((*LIST_ATTRIBUTES, "pk"))
    names["#sk"] = "sk"
    values: dict[str, Any] = {":hire": HIRE_SK}
    condition = "#sk = :hire"
    if state:
        names["#state"] = "state"
        values[":state"] = state
        condition += " AND #state = :state"
    request: dict[str, Any] = {
        "ProjectionExpression": projection,
        "FilterExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    table = target.table("OnboardingTable")
    while True:
        page = table.scan(**request)
        for item in page["Items"]:
            record = plain(item)
            record.setdefault("onboarding_id", record.get("pk"))
            record.pop("pk", None)
            yield record
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_onboarding(target: Target, onboarding_id: str) -> dict[str, Any]:
    """Return the shown attributes of one onboarding, or raise CommandError when it is unknown."""
    projection, names = _projection(SHOWN_ATTRIBUTES)
    item = (
        target.table("OnboardingTable")
        .get_item(
            Key={"pk": onboarding_id, "sk": HIRE_SK},
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
            ConsistentRead=True,
        )
        .get("Item")
    )
    if item is None:
        raise CommandError(
            f"onboarding {onboarding_id} not found in stack {target.stack_name}; "
            "list the ids with `hireproof onboardings list`"
        )
    record: dict[str, Any] = plain(item)
    record.setdefault("onboarding_id", onboarding_id)
    return record


def list_command(target: Target, *, state: str | None, as_json: bool, out: TextIO) -> int:
    """Print every onboarding (or those in `state`), most recently updated first."""
    records = sorted(
        scan_onboardings(target, state), key=lambda r: str(r.get("updated_at", "")), reverse=True
    )
    for record in records:
        record["reasons"] = record.get("close_reasons") or record.get("reasons") or []
        record.pop("close_reasons", None)
    if as_json:
        print_json_lines(records, out)
    else:
        print_table(records, LIST_COLUMNS, out)
        out.write(f"{len(records)} onboarding{'s' if len(records) != 1 else ''}\n")
    return 0


def show_command(target: Target, *, onboarding_id: str, as_json: bool, out: TextIO) -> int:
    """Print one onboarding's state, decision, reasons, review and timestamps."""
    record = get_onboarding(target, onboarding_id)
    if as_json:
        print_json_lines([record], out)
    else:
        print_fields(record, out)
    return 0
