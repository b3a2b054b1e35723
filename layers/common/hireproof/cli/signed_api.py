"""SigV4-signed calls to the stack's IAM-authorized HTTP routes, shared by the operator commands.

The commands go through the routes rather than calling the package in this process, so the
API Gateway IAM authorizer checks the operator's own credentials and the actions are recorded
with the operator's IAM ARN. On the local stack the same routes check signatures made with
the local dummy credentials.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from hireproof.cli.errors import CommandError
from hireproof.cli.target import Target

SERVICE = "execute-api"
HTTP_TIMEOUT_SECONDS = 30


def call(
    target: Target,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    hints: Mapping[int, str],
    default_hint: str,
) -> Any:
    """Send one SigV4-signed request to the stack's HTTP API and return the JSON response.

    Raises CommandError for any status other than 2xx, with the API's own message and the
    hint for that status from `hints` (or `default_hint`).
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

    try:
        document = response.json()
        message = str(document.get("message") or document.get("Message") or "")
    except ValueError:
        message = ""
    detail = f": {message}" if message else ""
    hint = hints.get(response.status_code, default_hint)
    raise CommandError(f"{method} {path} returned HTTP {response.status_code}{detail}; {hint}")
