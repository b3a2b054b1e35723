"""The OpenID Connect provider's table (OidcTable): clients, pending requests, codes, access tokens.

| item | pk | sk | lifetime (`expires_at`, the table's TTL attribute) |
|---|---|---|---|
| client registration | `CLIENT` | client id | kept until deleted |
| pending authorization request | `REQUEST#<request id>` | `REQUEST` | 10 minutes |
| authorization code | `CODE#<SHA-256 of the code>` | `CODE` | 60 seconds |
| access token | `TOKEN#<SHA-256 of the token>` | `TOKEN` | 1 hour |

Codes and access tokens are stored only as SHA-256 hashes, so a table read cannot be replayed
at the token or userinfo endpoint. DynamoDB deletes expired items only within a few days, so
every read also compares `expires_at` with the clock. State changes are conditional writes:
two concurrent redemptions of one code, or two completions of one request, cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from hireproof import aws
from hireproof.errors import (
    AuthorizationRequestExpiredError,
    AuthorizationRequestNotFoundError,
    AuthorizationRequestUsedError,
    NotFoundError,
)
from hireproof.oidc.claims import VerifiedLogin
from hireproof.oidc.clients import ClientRegistration

logger = Logger(child=True)

PENDING_REQUEST_TTL_SECONDS = 600
CODE_TTL_SECONDS = 60
ACCESS_TOKEN_TTL_SECONDS = 3600
CLIENT_PARTITION = "CLIENT"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def sha256_hex(value: str) -> str:
    """Return the hex SHA-256 of a code or token, the form in which the table stores it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def utc_now_iso() -> str:
    """Return the current UTC time as ISO 8601 with seconds, for registration timestamps."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(fields: Mapping[str, Any]) -> dict[str, Any]:
    # Absent optional values are left out rather than stored as NULL.
    return {key: value for key, value in fields.items() if value is not None}


def _is_condition_failure(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) == _CONDITION_FAILED


class PendingRequest(BaseModel):
    """An authorization request that passed validation and waits for the person's verification.

    `uri`, `http_method` and `body` are the request as received, so that completing it runs
    oauthlib's validation again on the same parameters. Only the hash of the browser secret
    (the cookie value) is stored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    client_id: str
    client_name: str
    issuer: str
    uri: str
    http_method: str
    body: str | None = None
    redirect_uri: str
    state: str | None = None
    nonce: str | None = None
    scopes: tuple[str, ...]
    ui_locales: tuple[str, ...] = ()
    login_hint: str | None = None
    max_age: int | None = None
    browser_secret_hash: str
    status: Literal["pending", "used"] = "pending"
    created_at: int
    expires_at: int

    def to_item(self) -> dict[str, Any]:
        """Return the DynamoDB item."""
        fields = self.model_dump(mode="json")
        return _item({"pk": f"REQUEST#{self.request_id}", "sk": "REQUEST", **fields})

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PendingRequest:
        """Read a record from its DynamoDB item."""
        fields = {k: v for k, v in aws.plain(item).items() if k not in ("pk", "sk", "used_at")}
        return cls.model_validate(fields)


class CodeRecord(BaseModel):
    """The grant behind an authorization code: client, redirect URI, scopes, PKCE challenge and login."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code_hash: str
    client_id: str
    issuer: str
    redirect_uri: str
    scopes: tuple[str, ...]
    nonce: str | None = None
    code_challenge: str
    code_challenge_method: str
    login: VerifiedLogin
    request_id: str
    created_at: int
    expires_at: int
    used: bool = False
    access_token_hash: str | None = None

    def to_item(self) -> dict[str, Any]:
        """Return the DynamoDB item."""
        return _item({"pk": f"CODE#{self.code_hash}", "sk": "CODE", **self.model_dump(mode="json")})

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CodeRecord:
        """Read a record from its DynamoDB item."""
        skipped = ("pk", "sk", "redeemed_at", "reused_at")
        return cls.model_validate({k: v for k, v in aws.plain(item).items() if k not in skipped})


class TokenRecord(BaseModel):
    """An access token's client, scopes and the userinfo claims it returns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token_hash: str
    client_id: str
    scopes: tuple[str, ...]
    claims: dict[str, Any]
    code_hash: str
    created_at: int
    expires_at: int

    def to_item(self) -> dict[str, Any]:
        """Return the DynamoDB item."""
        return _item({"pk": f"TOKEN#{self.token_hash}", "sk": "TOKEN", **self.model_dump(mode="json")})

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TokenRecord:
        """Read a record from its DynamoDB item."""
        return cls.model_validate({k: v for k, v in aws.plain(item).items() if k not in ("pk", "sk")})


class OidcStore:
    """Reads and writes OidcTable items; `clock` returns Unix time in seconds."""

    def __init__(self, table: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self._clock = clock

    def now(self) -> int:
        """Return the store's clock in whole seconds."""
        return int(self._clock())

    # ------------------------------------------------------------- clients
    def create_client(self, registration: ClientRegistration) -> None:
        """Store a new registration; raises ClientError if the client id already exists."""
        item = {"pk": CLIENT_PARTITION, "sk": registration.client_id, **registration.model_dump(mode="json")}
        self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get_client(self, client_id: str) -> ClientRegistration | None:
        """Return a registration, disabled ones included, or None."""
        if not client_id:
            return None
        item = self.table.get_item(Key={"pk": CLIENT_PARTITION, "sk": client_id}).get("Item")
        return None if item is None else _registration(item)

    def list_clients(self) -> list[ClientRegistration]:
        """Return every registration, ordered by client id."""
        registrations: list[ClientRegistration] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": CLIENT_PARTITION},
        }
        while True:
            page = self.table.query(**request)
            registrations.extend(_registration(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return registrations
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def update_client(self, client_id: str, changes: Mapping[str, Any]) -> ClientRegistration:
        """Set some fields of a registration and return it; raises NotFoundError for an unknown id."""
        names = {f"#f{i}": name for i, name in enumerate([*changes, "updated_at"])}
        values = {f":v{i}": value for i, value in enumerate([*changes.values(), utc_now_iso()])}
        assignments = ", ".join(f"#f{i} = :v{i}" for i in range(len(names)))
        try:
            response = self.table.update_item(
                Key={"pk": CLIENT_PARTITION, "sk": client_id},
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            raise NotFoundError(f"no OpenID Connect client {client_id}", field="client_id") from exc
        return _registration(response["Attributes"])

    # ------------------------------------------------------------- pending requests
    def create_pending(self, record: PendingRequest) -> None:
        """Store a new pending authorization request."""
        self.table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(pk)")

    def get_pending(self, request_id: str) -> PendingRequest | None:
        """Return a pending request in any status, expired ones included, or None."""
        if not request_id:
            return None
        item = self.table.get_item(Key={"pk": f"REQUEST#{request_id}", "sk": "REQUEST"}).get("Item")
        return None if item is None else PendingRequest.from_item(item)

    def check_usable(self, record: PendingRequest | None) -> PendingRequest:
        """Return the record, or raise the error that names why it cannot continue."""
        if record is None:
            raise AuthorizationRequestNotFoundError(
                "no authorization request has this id; start again from the application", field="request"
            )
        if record.status != "pending":
            raise AuthorizationRequestUsedError(
                "this authorization request has already ended; start again from the application",
                field="request",
            )
        if record.expires_at <= self.now():
            raise AuthorizationRequestExpiredError(
                f"this authorization request expired after {PENDING_REQUEST_TTL_SECONDS // 60} minutes; "
                "start again from the application",
                field="request",
            )
        return record

    def claim_pending(self, request_id: str) -> PendingRequest:
        """Mark a pending request used and return it; the conditional write lets it end only once.

        Raises AuthorizationRequestNotFoundError, AuthorizationRequestUsedError or
        AuthorizationRequestExpiredError when the request cannot continue.
        """
        now = self.now()
        try:
            response = self.table.update_item(
                Key={"pk": f"REQUEST#{request_id}", "sk": "REQUEST"},
                UpdateExpression="SET #status = :used, used_at = :now",
                ConditionExpression="#status = :pending AND expires_at > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":used": "used", ":pending": "pending", ":now": now},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            self.check_usable(self.get_pending(request_id))
            # The condition failed, so the record changed between the update and the read.
            raise AuthorizationRequestUsedError(
                "this authorization request has already ended; start again from the application",
                field="request",
            ) from exc
        return PendingRequest.from_item(response["Attributes"])

    # ------------------------------------------------------------- authorization codes
    def save_code(self, record: CodeRecord) -> None:
        """Store a new authorization code's record."""
        self.table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(pk)")

    def get_code(self, code: str) -> CodeRecord | None:
        """Return a code's record without redeeming it, or None when unknown or expired."""
        item = self.table.get_item(Key={"pk": f"CODE#{sha256_hex(code)}", "sk": "CODE"}).get("Item")
        if item is None:
            return None
        record = CodeRecord.from_item(item)
        return record if record.expires_at > self.now() else None

    def redeem_code(self, code: str, client_id: str) -> CodeRecord | None:
        """Mark an unexpired, unused code of this client used and return its record, else None.

        A second redemption by the code's client means the code leaked or the client retried:
        the code is flagged as reused and the access token issued for it, if any, is deleted
        (RFC 6749, section 4.1.2). A code presented by another client stays untouched.
        """
        now = self.now()
        code_hash = sha256_hex(code)
        try:
            response = self.table.update_item(
                Key={"pk": f"CODE#{code_hash}", "sk": "CODE"},
                UpdateExpression="SET used = :true, redeemed_at = :now",
                ConditionExpression="used = :false AND expires_at > :now AND client_id = :client",
                ExpressionAttributeValues={":true": True, ":false": False, ":now": now, ":client": client_id},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            self._handle_reuse(code_hash, client_id, now)
            return None
        return CodeRecord.from_item(response["Attributes"])

    def _handle_reuse(self, code_hash: str, client_id: str, now: int) -> None:
        key = {"pk": f"CODE#{code_hash}", "sk": "CODE"}
        item = self.table.get_item(Key=key).get("Item")
        if item is None or not item.get("used") or item.get("client_id") != client_id:
            return
        self.table.update_item(
            Key=key, UpdateExpression="SET reused_at = :now", ExpressionAttributeValues={":now": now}
        )
        token_hash = item.get("access_token_hash")
        if token_hash:
            self.table.delete_item(Key={"pk": f"TOKEN#{token_hash}", "sk": "TOKEN"})
        logger.warning(
            "authorization code reused",
            extra={
                "client_id": client_id,
                "request_id": item.get("request_id"),
                "token_revoked": bool(token_hash),
            },
        )

    def attach_access_token(self, code_hash: str, token_hash: str) -> bool:
        """Record which access token a code produced; False when the code was reused meanwhile."""
        try:
            self.table.update_item(
                Key={"pk": f"CODE#{code_hash}", "sk": "CODE"},
                UpdateExpression="SET access_token_hash = :token",
                ConditionExpression="attribute_not_exists(reused_at)",
                ExpressionAttributeValues={":token": token_hash},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            return False
        return True

    # ------------------------------------------------------------- access tokens
    def save_access_token(self, record: TokenRecord) -> None:
        """Store a new access token's record."""
        self.table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(pk)")

    def get_access_token(self, token: str) -> TokenRecord | None:
        """Return an unexpired access token's record, or None."""
        item = self.table.get_item(Key={"pk": f"TOKEN#{sha256_hex(token)}", "sk": "TOKEN"}).get("Item")
        if item is None:
            return None
        record = TokenRecord.from_item(item)
        return record if record.expires_at > self.now() else None

    def delete_access_token(self, token_hash: str) -> None:
        """Delete an access token by its hash."""
        self.table.delete_item(Key={"pk": f"TOKEN#{token_hash}", "sk": "TOKEN"})


def _registration(item: Mapping[str, Any]) -> ClientRegistration:
    fields = {k: v for k, v in aws.plain(item).items() if k not in ("pk", "sk")}
    return ClientRegistration.model_validate(fields)
