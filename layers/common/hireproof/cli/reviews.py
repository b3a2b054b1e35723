"""`hireproof reviews list|approve|reject`: the review API, called over HTTP with SigV4.

The commands go through the stack's IAM-authorized routes (`GET /reviews`,
`POST /reviews/{onboarding_id}`) rather than calling `hireproof.onboarding.reviews` in this
process, so the API Gateway IAM authorizer checks the operator's own credentials and the
review is recorded with the operator's IAM ARN as reviewer. On the local stack the same
routes check signatures made with the local dummy credentials.
"""

from __future__ import annotations

from typing import Any, TextIO
from urllib.parse import quote

from hireproof.cli import signed_api
from hireproof.cli.output import print_json_lines, print_table
from hireproof.cli.target import Target

LIST_COLUMNS = (
    ("onboarding_id", "ONBOARDING"),
    ("stage", "STAGE"),
    ("requested_at", "REQUESTED"),
    ("reasons", "REASONS"),
)


_HINTS = {
    401: "the request was not signed with valid credentials; check --profile",
    403: "the caller may not invoke this route; grant execute-api:Invoke on it to the profile's role",
    404: "the onboarding or the route does not exist; check the id and that the stack is current",
    409: "nothing is waiting for this decision; see `hireproof onboardings show ID`",
    422: "the request was invalid; check --reason (3 to 500 characters)",
}


def call_api(target: Target, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a review route; see `hireproof.cli.signed_api.call`."""
    return signed_api.call(
        target,
        method,
        path,
        body,
        hints=_HINTS,
        default_hint="try again, or check the review function's log group",
    )


def list_command(target: Target, *, as_json: bool, out: TextIO) -> int:
    """Print the onboardings waiting for a reviewer."""
    reviews = list(call_api(target, "GET", "/reviews").get("reviews", []))
    reviews.sort(key=lambda r: str(r.get("requested_at") or ""))
    if as_json:
        print_json_lines(reviews, out)
    else:
        print_table(reviews, LIST_COLUMNS, out)
        out.write(f"{len(reviews)} review{'s' if len(reviews) != 1 else ''} waiting\n")
    return 0


def decide_command(
    target: Target, *, onboarding_id: str, approve: bool, reason: str, as_json: bool, out: TextIO
) -> int:
    """Approve or reject one onboarding held for review."""
    body = {"decision": "approve" if approve else "reject", "reason": reason}
    result = call_api(target, "POST", f"/reviews/{quote(onboarding_id, safe='')}", body)
    if as_json:
        print_json_lines([result], out)
    else:
        verb = "approved" if approve else "rejected"
        out.write(f"{verb} onboarding {onboarding_id} (review stage {result.get('stage') or '-'})\n")
    return 0
