"""A local Cloudflare API with the one Access operation HireProof calls: revoking a user's sessions.

It serves `POST /client/v4/accounts/{account_id}/access/organizations/revoke_user` over HTTPS on
127.0.0.1 (see `_service`), with Cloudflare's v4 response envelope
`{"success", "errors": [{"code", "message"}], "messages", "result"}`:

- 200 `{"success": true, "result": true}` for the account's API token and a body with an `email`;
- 400 code 10000 for a missing, malformed or wrong bearer token, as Cloudflare returns for
  an invalid token;
- 403 code 9109 for another account id;
- 400 code 10001 for a body that is not JSON or has no e-mail address.

NOTE: Cloudflare documents the envelope and the 10000 code but not the codes of the other two
rejections; 9109 and 10001 stand in for them.

`revocations` lists the e-mail addresses revoked, oldest first; `secret_value()` is the JSON
object to store in the GATEWAY_ADMIN_SECRET_ARN secret.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

_REVOKE_PATH = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/access/organizations/revoke_user$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def cloudflare_error(status: int, code: int, message: str) -> FakeResponse:
    """Build a Cloudflare v4 error response."""
    return FakeResponse(
        status,
        {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None},
    )


class FakeCloudflareApi(FakeHttpsService):
    """One Cloudflare account's Access organization, with one API token."""

    def __init__(self) -> None:
        super().__init__()
        self.account_id = secrets.token_hex(16)
        self.api_token = secrets.token_urlsafe(30)
        self.revocations: list[str] = []

    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameter that makes the stack trust the fake's certificate."""
        return {"GatewayAdminCaBundle": self.ca_bundle_path}

    def secret_value(self) -> dict[str, str]:
        """Return the JSON object the GATEWAY_ADMIN_SECRET_ARN secret must hold."""
        return {"account_id": self.account_id, "api_token": self.api_token, "base_url": self.base_url}

    def revocations_of(self, email: str) -> int:
        """Return how many times the user's sessions were revoked; e-mails compare without case."""
        with self._lock:
            return sum(1 for revoked in self.revocations if revoked == email.lower())

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Revoke a user's sessions, or reject the request as Cloudflare would."""
        match = _REVOKE_PATH.match(request.path)
        if match is None or request.method != "POST":
            return cloudflare_error(404, 7003, "Could not route to the requested path")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token, self.api_token):
            return cloudflare_error(400, 10000, "Authentication error")
        if match["account"] != self.account_id:
            return cloudflare_error(403, 9109, "Unauthorized to access requested resource")
        try:
            body: Any = json.loads(request.body or b"null")
        except ValueError:
            return cloudflare_error(400, 10001, "Malformed JSON in request body")
        email = body.get("email") if isinstance(body, dict) else None
        if not isinstance(email, str) or not _EMAIL.match(email):
            return cloudflare_error(400, 10001, "email is required")
        self.revocations.append(email.lower())
        return FakeResponse(200, {"success": True, "errors": [], "messages": [], "result": True})
