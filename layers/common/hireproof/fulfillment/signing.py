"""The request signature shared with the fulfillment service, in both directions.

HireProof signs its orders and the service signs its delivery callbacks the same way:
- `X-HireProof-Timestamp`: Unix seconds when the request was signed.
- `X-HireProof-Signature`: `v1=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>`.

Binding the timestamp into the signed message stops a captured request from being
replayed outside the window with a new timestamp. Several `v1=` values separated by
commas are accepted, so the service can sign with an old and a new key while the shared
secret rotates.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from hireproof import signatures
from hireproof.errors import SignatureInvalidError, SignatureMissingError

TIMESTAMP_HEADER = "X-HireProof-Timestamp"
SIGNATURE_HEADER = "X-HireProof-Signature"
SCHEME_PREFIX = "v1="
WINDOW_SECONDS = 300


def _signed_message(timestamp: str, body: bytes) -> bytes:
    return f"{timestamp}.".encode() + body


def signed_headers(secret: bytes, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Return the timestamp and signature headers for a request with this exact body."""
    signed_at = str(int(time.time()) if timestamp is None else timestamp)
    digest = signatures.sign_hmac_sha256(secret, _signed_message(signed_at, body))
    return {TIMESTAMP_HEADER: signed_at, SIGNATURE_HEADER: f"{SCHEME_PREFIX}{digest}"}


def verify_signed_request(
    secret: bytes,
    headers: Mapping[str, str] | None,
    body: bytes,
    *,
    now: float | dt.datetime | None = None,
    window_seconds: int = WINDOW_SECONDS,
) -> None:
    """Return only when the headers carry a valid, fresh signature of `body`.

    Header names match in any case. `body` must be the bytes received, before any JSON
    parsing, because re-serialized JSON rarely has the same bytes.

    Raises
    ------
    SignatureMissingError
        A header is absent or empty.
    TimestampOutOfWindowError
        The timestamp is more than `window_seconds` from `now`, in either direction.
    SignatureInvalidError
        No `v1=` signature matches.
    """
    if not secret:
        # With an empty key anyone could compute a valid signature.
        raise SignatureInvalidError("no fulfillment signing secret is configured")
    timestamp = signatures.header(headers, TIMESTAMP_HEADER)
    signature = signatures.header(headers, SIGNATURE_HEADER)
    if not timestamp:
        raise SignatureMissingError(f"the {TIMESTAMP_HEADER} header is missing")
    if not signature:
        raise SignatureMissingError(f"the {SIGNATURE_HEADER} header is missing")

    signatures.check_timestamp(timestamp, time.time() if now is None else now, window_seconds)

    candidates = [
        part.strip().removeprefix(SCHEME_PREFIX)
        for part in signature.split(",")
        if part.strip().startswith(SCHEME_PREFIX)
    ]
    if not candidates:
        raise SignatureInvalidError(f"the {SIGNATURE_HEADER} header has no {SCHEME_PREFIX} value")
    message = _signed_message(timestamp.strip(), body)
    for candidate in candidates:
        try:
            signatures.verify_hmac_sha256(secret, message, candidate)
        except (SignatureInvalidError, SignatureMissingError):
            continue
        return
    raise SignatureInvalidError("the request signature does not match the body received")
