"""`hireproof recovery start|status|reset`: parsing, SigV4-signed requests and output.

The HTTP calls go to a fake `requests.request`, because unit tests open no sockets. The
workflow tests run the command against the local stack's real routes.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

import hireproof.cli as cli
from hireproof.cli import signed_api
from hireproof.cli.target import Target

REGION = "us-east-1"
RECOVERY_ID = "rcv-0123456789abcdef01234567"


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.ok = 200 <= status < 300
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


@pytest.fixture
def target() -> Target:
    session = boto3.session.Session(
        aws_access_key_id="AKIAHELPDESKTEST0001",
        aws_secret_access_key="help-desk-test-secret",
        region_name=REGION,
    )
    return Target(
        stack_name="hireproof-test",
        region=REGION,
        session=session,
        resources={},
        api_url="https://api.example.test",
    )


def fake_http(monkeypatch: pytest.MonkeyPatch, status: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def request(method: str, url: str, **kwargs: Any) -> FakeResponse:
        sent.append({"method": method, "url": url, **kwargs})
        return FakeResponse(status, body)

    monkeypatch.setattr(signed_api.requests, "request", request)
    return sent


def run(target: Target, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(cli, "resolve_target", lambda arguments, parser: target)
    out = io.StringIO()
    status = cli.main(["--stack", "hireproof-test", *argv], out=out)
    return status, out.getvalue()


def test_recovery_start_by_email_signs_request(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_http(
        monkeypatch,
        201,
        {
            "recovery_id": RECOVERY_ID,
            "person_id": "generic-E-1001",
            "status": "STARTED",
            "channel": "help_desk",
            "email_sent": True,
            "link_expires_at": "2027-01-04T09:15:00+00:00",
        },
    )

    status, output = run(target, monkeypatch, "recovery", "start", "--email", "ada@example.com")

    [request] = sent
    assert status == 0
    assert output == (
        f"recovery {RECOVERY_ID} started for person generic-E-1001; the caller's link was e-mailed "
        "and works until 2027-01-04T09:15:00+00:00\n"
    )
    assert request["method"] == "POST"
    assert request["url"] == "https://api.example.test/recovery/requests"
    assert json.loads(request["data"]) == {"work_email": "ada@example.com"}
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAHELPDESKTEST0001/")
    assert f"/{REGION}/execute-api/aws4_request" in request["headers"]["Authorization"]


def test_recovery_start_by_person_sends_person_id(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_http(monkeypatch, 201, {"recovery_id": RECOVERY_ID, "person_id": "generic-E-1001"})

    status, output = run(target, monkeypatch, "recovery", "start", "--person", "generic-E-1001", "--json")

    assert status == 0
    assert json.loads(sent[0]["data"]) == {"person_id": "generic-E-1001"}
    assert json.loads(output) == {"recovery_id": RECOVERY_ID, "person_id": "generic-E-1001"}


def test_recovery_status_prints_verified_name(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_http(
        monkeypatch,
        200,
        {
            "recovery_id": RECOVERY_ID,
            "person_id": "generic-E-1001",
            "channel": "help_desk",
            "status": "VERIFIED",
            "verified": True,
            "verified_as": "Ada Okonkwo",
            "decision": "PASSED",
            "reset_kind": None,
            "reset_allowed_until": "2027-01-04T09:10:00+00:00",
        },
    )

    status, output = run(target, monkeypatch, "recovery", "status", RECOVERY_ID)

    assert status == 0
    assert sent[0]["method"] == "GET"
    assert sent[0]["url"] == f"https://api.example.test/recovery/requests/{RECOVERY_ID}"
    assert "verified as Ada Okonkwo" in output
    assert "2027-01-04T09:10:00+00:00" in output


def test_recovery_status_not_verified(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_http(
        monkeypatch,
        200,
        {
            "recovery_id": RECOVERY_ID,
            "person_id": "generic-E-1001",
            "channel": "help_desk",
            "status": "FAILED",
            "verified": False,
            "verified_as": None,
        },
    )

    status, output = run(target, monkeypatch, "recovery", "status", RECOVERY_ID)

    assert status == 0
    assert "not verified" in output
    assert "FAILED" in output


def test_recovery_reset_sends_kind(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = fake_http(
        monkeypatch,
        202,
        {"recovery_id": RECOVERY_ID, "kind": "mfa", "status": "RESET_CHOSEN", "credential_path": None},
    )

    status, output = run(target, monkeypatch, "recovery", "reset", RECOVERY_ID, "--kind", "mfa")

    assert status == 0
    assert sent[0]["url"] == f"https://api.example.test/recovery/requests/{RECOVERY_ID}/reset"
    assert json.loads(sent[0]["data"]) == {"kind": "mfa"}
    assert output.startswith(f"mfa reset chosen for recovery {RECOVERY_ID}")


def test_recovery_reset_too_old_reports_message_and_hint(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_http(
        monkeypatch,
        410,
        {"error": "VerificationTooOldError", "message": "Your verification is more than 5 minutes old."},
    )

    status, _ = run(target, monkeypatch, "recovery", "reset", RECOVERY_ID, "--kind", "password")

    error = capsys.readouterr().err
    assert status == 1
    assert "HTTP 410: Your verification is more than 5 minutes old." in error
    assert "start a new recovery" in error


@pytest.mark.parametrize(
    "argv",
    [
        ["recovery", "start"],
        ["recovery", "start", "--person", "generic-E-1", "--email", "a@example.com"],
        ["recovery", "reset", RECOVERY_ID],
        ["recovery", "reset", RECOVERY_ID, "--kind", "everything"],
        ["recovery", "status"],
    ],
)
def test_recovery_rejects_invalid_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(argv)

    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err
