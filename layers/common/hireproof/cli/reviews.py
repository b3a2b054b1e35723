"""`hireproof reviews list|approve|reject`: the review API, called over HTTP with SigV4.

The commands go through the stack's IAM-authorized routes (`GET /reviews`,
`POST /reviews/{onboarding_id}`) rather than calling `hireproof.onboarding.reviews` in this
process, so the API Gateway IAM authorizer checks the operator's own credentials and the
review is recorded with the operator's IAM ARN as reviewer. On the local stack the same
routes check signatures made with the local dummy credentials.
"""

from __future__ import annotations

import json
from typing import Any, TextIO
from urllib.parse import quote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from hireproof.cli.errors import CommandError
from hireproof.cli.output import print_json_lines, print_table
from hireproof.cli.target import Target

SERVICE = "execute-api"
HTTP_TIMEOUT_SECONDS = 30
LIST_COLUMNS = (
    ("onboarding_id", "ONBOARDING"),
    ("stage", "STAGE"),
    ("requested_at", "REQUESTED"),
    ("reasons", "REASONS"),
)


def call_api(target: Target, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Send one SigV4-signed request to the stack's HTTP API and return the JSON response.

    Raises CommandError with the API's own message for any status other than 2xx.
    """
    url = target.require_api_url() + path
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(target.signing_credentials(), SERVICE, target.region).add_auth(request)
    try:
        response = requests.request(
            method, url, data=data, headers=dict(request.headers.items()), timeout=HTTP_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise CommandError(
            f"cannot reach the HTTP API at {target.require_api_url()}: {type(exc).__name__}; "
            "check the network, or that `make serve` still runs for --local"
        ) from exc
    if response.ok:
        return response.json()
    raise CommandError(_describe_failure(method, path, response))


def _describe_failure(method: str, path: str, response: requests.Response) -> str:
    try:
        document = response.json()
        message = str(document.get("message") or document.get("Message") or "")
    except ValueError:
        message = ""
    hint = {
        401: "the request was not signed with valid credentials; check --profile",
        403: "the caller may not invoke this route; grant execute-api:Invoke on it to the profile's role",
        404: "the onboarding or the route does not exist; check the id and that the stack is current",
        409: "nothing is waiting for this decision; see `hireproof onboardings show ID`",
        422: "the request was invalid; check --reason (3 to 500 characters)",
    }.get(response.status_code, "try again, or check the review function's log group")
    detail = f": {message}" if message else ""
    return f"{method} {path} returned HTTP {response.status_code}{detail}; {hint}"


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
