"""hireproof.signatures: HMAC-SHA256 checks, replay windows and header look-up."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from hireproof.errors import SignatureInvalidError, SignatureMissingError, TimestampOutOfWindowError
from hireproof.signatures import (
    check_timestamp,
    header,
    parse_timestamp,
    sign_hmac_sha256,
    verify_hmac_sha256,
)

SECRET = b"unit-test-key"
MESSAGE = b'{"hello": "world"}'
GOOD = hmac.new(SECRET, MESSAGE, hashlib.sha256).hexdigest()


def test_sign_matches_stdlib_hmac() -> None:
    assert sign_hmac_sha256(SECRET, MESSAGE) == GOOD


@pytest.mark.parametrize("signature", [GOOD, GOOD.upper(), f"  {GOOD}\n", GOOD.encode("ascii")])
def test_verify_accepts_digest_any_case(signature: str | bytes) -> None:
    verify_hmac_sha256(SECRET, MESSAGE, signature)


def test_verify_rejects_other_key() -> None:
    other = hmac.new(b"another-key", MESSAGE, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalidError, match="does not match"):
        verify_hmac_sha256(SECRET, MESSAGE, other)


def test_verify_rejects_tampered_message() -> None:
    with pytest.raises(SignatureInvalidError, match="does not match"):
        verify_hmac_sha256(SECRET, MESSAGE + b" ", GOOD)


def test_verify_rejects_truncated_digest() -> None:
    with pytest.raises(SignatureInvalidError):
        verify_hmac_sha256(SECRET, MESSAGE, GOOD[:-2])


@pytest.mark.parametrize("signature", ["not-hex", GOOD[:-1], "zz" * 32, b"\xff\xfe"])
def test_verify_rejects_non_hex(signature: str | bytes) -> None:
    with pytest.raises(SignatureInvalidError):
        verify_hmac_sha256(SECRET, MESSAGE, signature)


@pytest.mark.parametrize("signature", ["", "   ", b""])
def test_verify_empty_signature_missing(signature: str | bytes) -> None:
    with pytest.raises(SignatureMissingError):
        verify_hmac_sha256(SECRET, MESSAGE, signature)


def test_verify_rejects_empty_key() -> None:
    empty_key_digest = hmac.new(b"", MESSAGE, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalidError, match="no signing key"):
        verify_hmac_sha256(b"", MESSAGE, empty_key_digest)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "timestamp",
    [
        "1800000000",
        1_800_000_000,
        "1800000000000",
        "2027-01-15T08:00:00Z",
        "2027-01-15T08:00:00+0000",
        "2027-01-15T17:00:00+09:00",
        "2027-01-15T08:00:00",
    ],
)
def test_parse_timestamp_unix_and_iso(timestamp: str | int) -> None:
    # 1800000000 is 2027-01-15T08:00:00Z.
    assert parse_timestamp(timestamp) == pytest.approx(NOW)


@pytest.mark.parametrize("timestamp", ["yesterday", "2027-13-45T00:00:00Z", True])
def test_parse_timestamp_rejects_unreadable(timestamp: str | bool) -> None:
    with pytest.raises(SignatureInvalidError):
        parse_timestamp(timestamp)


def test_parse_timestamp_empty_missing() -> None:
    with pytest.raises(SignatureMissingError):
        parse_timestamp(" ")


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_check_timestamp_accepts_window_edges(offset: int) -> None:
    assert check_timestamp(str(int(NOW) + offset), NOW) == NOW + offset


@pytest.mark.parametrize("offset", [-301, -3600, 301, 86400])
def test_check_timestamp_rejects_old_future(offset: int) -> None:
    with pytest.raises(TimestampOutOfWindowError):
        check_timestamp(str(int(NOW) + offset), NOW)


def test_check_timestamp_datetime_custom_window() -> None:
    now = dt.datetime.fromtimestamp(NOW, tz=dt.UTC)
    assert check_timestamp(int(NOW) - 50, now, window_seconds=60) == NOW - 50
    with pytest.raises(TimestampOutOfWindowError):
        check_timestamp(int(NOW) - 61, now, window_seconds=60)


def test_header_ignores_case() -> None:
    headers = {"x-bamboohr-signature": "lower", "Signature": "mixed"}
    assert header(headers, "X-BambooHR-Signature") == "lower"
    assert header(headers, "signature") == "mixed"
    assert header(headers, "Greenhouse-Event-ID") is None
    assert header(None, "Signature") is None
