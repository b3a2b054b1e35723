"""`hireproof recovery start|status|reset`: the help desk's recovery routes, called with SigV4.

The commands go through the stack's IAM-authorized routes (`POST /recovery/requests`,
`GET /recovery/requests/{id}`, `POST /recovery/requests/{id}/reset`), so the API Gateway
IAM authorizer checks the agent's own credentials and the audit trail names the agent's
IAM ARN. `status` prints the HR record's name once the caller passed verification, because
the agent confirms it with the caller. It prints nothing from the verification itself.
"""

from __future__ import annotations

from typing import Any, TextIO
from urllib.parse import quote

from hireproof.cli import signed_api
from hireproof.cli.output import print_fields, print_json_lines
from hireproof.cli.target import Target

RESET_KINDS = ("password", "mfa")
_HINTS = {
    401: "the request was not signed with valid credentials; check --profile",
    403: "the caller may not invoke this route; grant execute-api:Invoke on it to the profile's role",
    404: "the person, the recovery or the route does not exist; check the id and that the stack is current",
    409: "the recovery is not in a state that allows this; see `hireproof recovery status ID`",
    410: "the verification is too old to authorize a reset; start a new recovery",
    429: "too many recoveries for this person within the hour; wait, and ask why the caller keeps asking",
    501: "the stack's identity provider cannot perform this reset; reset it in the provider's console",
}


def _call(target: Target, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a recovery route; see `hireproof.cli.signed_api.call`."""
    result: dict[str, Any] = signed_api.call(
        target,
        method,
        path,
        body,
        hints=_HINTS,
        default_hint="try again, or check the recovery function's log group",
    )
    return result


def start_command(
    target: Target, *, person_id: str | None, email: str | None, as_json: bool, out: TextIO
) -> int:
    """Start a help desk recovery; the caller gets a single-use link by e-mail."""
    body = {"person_id": person_id} if person_id else {"work_email": email}
    result = _call(target, "POST", "/recovery/requests", body)
    if as_json:
        print_json_lines([result], out)
    else:
        out.write(
            f"recovery {result['recovery_id']} started for person {result['person_id']}; the caller's "
            f"link was e-mailed and works until {result['link_expires_at']}\n"
        )
    return 0


def status_command(target: Target, *, recovery_id: str, as_json: bool, out: TextIO) -> int:
    """Print a recovery's status and whether the caller passed verification, and as whom."""
    result = _call(target, "GET", f"/recovery/requests/{quote(recovery_id, safe='')}")
    if as_json:
        print_json_lines([result], out)
        return 0
    verified = f"verified as {result['verified_as']}" if result.get("verified") else "not verified"
    print_fields(
        {
            "recovery_id": result["recovery_id"],
            "person_id": result["person_id"],
            "channel": result["channel"],
            "status": result["status"],
            "verification": verified,
            "reset_kind": result.get("reset_kind"),
            "reset_allowed_until": result.get("reset_allowed_until"),
        },
        out,
    )
    return 0


def reset_command(target: Target, *, recovery_id: str, kind: str, as_json: bool, out: TextIO) -> int:
    """Choose the reset for a caller who passed verification; their page shows the credential."""
    result = _call(target, "POST", f"/recovery/requests/{quote(recovery_id, safe='')}/reset", {"kind": kind})
    if as_json:
        print_json_lines([result], out)
    else:
        out.write(
            f"{kind} reset chosen for recovery {recovery_id}; the caller's verification page shows "
            "the new sign-in details once\n"
        )
    return 0
