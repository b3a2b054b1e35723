"""Check AWS Signature Version 4 on requests to routes that use the AWS_IAM authorizer.

API Gateway accepts a request for an AWS_IAM route when its Authorization header is a valid SigV4
signature for `execute-api` made with credentials of the account. Locally the only credentials are
the runtime's dummy ones, so the signature is recomputed with botocore's SigV4Auth over the request
as received and compared in constant time.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
# API Gateway rejects signatures whose X-Amz-Date is more than 5 minutes from its clock.
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class CallerIdentity:
    """The caller an AWS_IAM route reports in requestContext.authorizer.iam."""

    access_key: str
    account_id: str
    user_arn: str
    user_id: str

    def as_authorizer(self) -> dict[str, object]:
        """Return the `requestContext.authorizer` object of an HTTP API payload 2.0 event."""
        return {
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": self.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        }


@dataclass(frozen=True)
class Verification:
    """The outcome of a signature check; `reason` gives the failure without request values."""

    identity: CallerIdentity | None
    reason: str = ""


def verify(
    *,
    method: str,
    raw_path: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    account_id: str,
    now: datetime.datetime | None = None,
) -> Verification:
    """Verify the SigV4 Authorization header of a received request.

    `raw_path` is the request target as received (path and query string), and `headers` are the
    received header lines in order.
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)

    authorization = (values.get("authorization") or [""])[0]
    match = _AUTHORIZATION.match(authorization)
    if match is None:
        return Verification(None, "missing or malformed Authorization header")
    parts = match.group("credential").split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return Verification(None, "malformed credential scope")
    access_key, scope_date, scope_region, scope_service, _ = parts
    if access_key != access_key_id:
        return Verification(None, "unknown access key")
    if scope_region != region or scope_service != SERVICE:
        return Verification(None, "credential scope is not this region and execute-api")

    signed_headers = match.group("signed").split(";")
    if "host" not in signed_headers:
        return Verification(None, "host header is not signed")
    amz_date = (values.get("x-amz-date") or [""])[0]
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return Verification(None, "missing or malformed X-Amz-Date header")
    if scope_date != amz_date[:8]:
        return Verification(None, "credential scope date differs from X-Amz-Date")
    current = now or datetime.datetime.now(tz=datetime.UTC)
    if abs(current - signed_at) > MAX_CLOCK_SKEW:
        return Verification(None, "X-Amz-Date is more than 5 minutes from the server clock")

    body_hash = hashlib.sha256(body).hexdigest()
    claimed_hashes = values.get("x-amz-content-sha256")
    if claimed_hashes and claimed_hashes[0] != body_hash:
        return Verification(None, "X-Amz-Content-SHA256 does not match the body")

    missing = [name for name in signed_headers if name not in values]
    if missing:
        return Verification(None, "a signed header is missing from the request")
    request = AWSRequest(method=method, url=f"http://{values['host'][0]}{raw_path}", data=body)
    for name in signed_headers:
        for value in values[name]:
            request.headers.add_header(name, value)
    request.context["timestamp"] = amz_date

    signer = SigV4Auth(Credentials(access_key_id, secret_access_key), SERVICE, region)
    canonical_request = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical_request), request)
    if not hmac.compare_digest(expected, match.group("signature")):
        return Verification(None, "signature does not match")

    user_id = "AIDA" + hashlib.sha256(access_key.encode()).hexdigest()[:17].upper()
    return Verification(
        CallerIdentity(
            access_key=access_key,
            account_id=account_id,
            user_arn=f"arn:aws:iam::{account_id}:user/hireproof-local",
            user_id=user_id,
        )
    )
