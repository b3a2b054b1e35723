"""HMAC-SHA256 request signatures and replay windows, independent of who signs.

The HR webhooks and the fulfillment callbacks both build a message from the
bytes received (and sometimes a timestamp), then call these helpers. Failures
are typed: `SignatureMissingError`, `SignatureInvalidError` and
`TimestampOutOfWindowError` all map to HTTP 401 in `hireproof.http_errors`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping

from hireproof.errors import SignatureInvalidError, SignatureMissingError, TimestampOutOfWindowError

DEFAULT_WINDOW_SECONDS = 300

# Unix times above this are taken as milliseconds (it is year 33658 in seconds).
_MILLISECONDS_THRESHOLD = 10**12


def sign_hmac_sha256(secret: bytes, message: bytes) -> str:
    """Return the lower-case hex HMAC-SHA256 of `message`, for signing outgoing requests."""
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_hmac_sha256(secret: bytes, message: bytes, signature: str | bytes) -> None:
    """Check a hex-encoded HMAC-SHA256 signature of `message`, and return only when it matches.

    `signature` is the hex digest as text or as ASCII bytes, in upper or lower case.
    Callers strip scheme prefixes such as ``sha256 `` or ``v1=`` first. The comparison
    is constant-time over the decoded digest bytes.

    Raises
    ------
    SignatureMissingError
        The signature is empty.
    SignatureInvalidError
        The signature is not hex, or does not match.
    """
    if not secret:
        # An empty key would make every signature computable by anyone.
        raise SignatureInvalidError("no signing key is configured")
    text = (
        signature.decode("ascii", errors="replace") if isinstance(signature, bytes) else signature
    )
    text = text.strip()
    if not text:
        raise SignatureMissingError("the request signature is empty")
    try:
        received = bytes.fromhex(text)
    except ValueError as exc:
        raise SignatureInvalidError("the request signature is not a hex digest") from exc
    expected = hmac.new(secret, message, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, received):
        raise SignatureInvalidError("the request signature does not match the body received")


def parse_timestamp(timestamp: str | int | float) -> float:
    """Return a signing timestamp as Unix seconds.

    Accepts Unix seconds or milliseconds (a number or digits) and ISO 8601 text with a
    zone offset, such as ``2026-01-31T18:42:00Z`` or ``2026-01-31T18:42:00+0000``. An ISO
    time without an offset is taken as UTC.

    Raises
    ------
    SignatureMissingError
        The timestamp is empty.
    SignatureInvalidError
        The timestamp cannot be read.
    """
    if isinstance(timestamp, bool):
        raise SignatureInvalidError("the request timestamp is not a time")
    if isinstance(timestamp, int | float):
        value = float(timestamp)
    else:
        text = timestamp.strip()
        if not text:
            raise SignatureMissingError("the request timestamp is empty")
        try:
            value = float(text)
        except ValueError:
            value = _parse_iso(text)
    if value > _MILLISECONDS_THRESHOLD:
        value /= 1000.0
    return value


def _parse_iso(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            # Python 3.11 rejects offsets without a colon such as +0000.
            moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError as exc:
            raise SignatureInvalidError(
                "the request timestamp is not a Unix or ISO 8601 time"
            ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def check_timestamp(
    timestamp: str | int | float,
    now: float | dt.datetime,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> float:
    """Reject a signing timestamp more than `window_seconds` before or after `now`.

    Both directions count: a timestamp from the future is as suspect as an old one,
    and the window also bounds clock skew. Returns the timestamp in Unix seconds.

    Raises
    ------
    SignatureMissingError, SignatureInvalidError
        See `parse_timestamp`.
    TimestampOutOfWindowError
        The timestamp is outside the window.
    """
    signed_at = parse_timestamp(timestamp)
    current = now.timestamp() if isinstance(now, dt.datetime) else float(now)
    if abs(current - signed_at) > window_seconds:
        raise TimestampOutOfWindowError(
            f"the request timestamp is more than {window_seconds} seconds from the server time"
        )
    return signed_at


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Return a header value by case-insensitive name, or None when it is absent.

    HTTP APIs deliver header names in lower case and other callers do not.
    """
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
