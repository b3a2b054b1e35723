"""`hireproof oidc-clients`: register, list, rotate-secret and disable on the OidcTable in moto."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import hireproof.cli as cli
from hireproof.cli.target import StackResource, Target
from hireproof.oidc.clients import verify_secret
from hireproof.oidc.store import OidcStore
from template_resources import REGION, StackResources, mocked_stack

REDIRECT_URI = "https://team.example.test/cdn-cgi/access/callback"


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


@pytest.fixture
def target(stack: StackResources) -> Target:
    resources = {
        logical_id: StackResource(logical_id, stack.template.resource(logical_id).type, name)
        for logical_id, name in stack.names.items()
    }
    return Target(
        stack_name="hireproof-test",
        region=REGION,
        session=boto3.session.Session(region_name=REGION),
        resources=resources,
        api_url="https://api.example.test",
    )


def run(target: Target, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(cli, "resolve_target", lambda arguments, parser: target)
    out = io.StringIO()
    status = cli.main(["--stack", "hireproof-test", *argv], out=out)
    return status, out.getvalue()


def register(target: Target, monkeypatch: pytest.MonkeyPatch, *extra: str) -> dict[str, Any]:
    status, output = run(
        target,
        monkeypatch,
        "oidc-clients",
        "register",
        "--name",
        "Access gateway",
        "--redirect-uri",
        REDIRECT_URI,
        "--json",
        *extra,
    )
    assert status == 0, output
    record: dict[str, Any] = json.loads(output)
    return record


def store(target: Target) -> OidcStore:
    return OidcStore(target.table("OidcTable"))


def test_register_prints_secret_stores_hash(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = register(target, monkeypatch, "--scope", "openid", "--scope", "email")

    stored = store(target).get_client(record["client_id"])
    assert stored is not None
    assert record["client_secret"] not in stored.secret_hash
    assert verify_secret(record["client_secret"], stored.secret_hash)
    assert "secret_hash" not in record
    assert stored.allowed_scopes == ("openid", "email")
    assert stored.redirect_uris == (REDIRECT_URI,)
    assert stored.token_endpoint_auth_method == "client_secret_basic"
    assert not stored.disabled


def test_register_defaults_to_all_scopes(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    record = register(target, monkeypatch, "--auth-method", "client_secret_post")

    assert record["allowed_scopes"] == ["openid", "email", "profile", "groups"]
    assert record["token_endpoint_auth_method"] == "client_secret_post"


def test_register_without_openid_fails(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run(
        target,
        monkeypatch,
        "oidc-clients",
        "register",
        "--name",
        "x",
        "--redirect-uri",
        REDIRECT_URI,
        "--scope",
        "email",
    )

    assert status == 1
    assert output == ""
    assert "must include openid" in capsys.readouterr().err
    assert store(target).list_clients() == []


def test_register_rejects_http_redirect_uri(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(
            target,
            monkeypatch,
            "oidc-clients",
            "register",
            "--name",
            "x",
            "--redirect-uri",
            "http://rp.example.test/cb",
        )

    assert exited.value.code == 2
    assert "must use https" in capsys.readouterr().err


def test_list_shows_clients_without_secrets(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    first = register(target, monkeypatch)
    second = register(target, monkeypatch)

    status, output = run(target, monkeypatch, "oidc-clients", "list")

    assert status == 0
    assert first["client_id"] in output
    assert second["client_id"] in output
    assert "Access gateway" in output
    assert first["client_secret"] not in output
    assert "scrypt$" not in output


def test_rotate_secret_replaces_the_secret(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    record = register(target, monkeypatch)

    status, output = run(target, monkeypatch, "oidc-clients", "rotate-secret", record["client_id"], "--json")

    rotated = json.loads(output)
    stored = store(target).get_client(record["client_id"])
    assert status == 0
    assert stored is not None
    assert rotated["client_secret"] != record["client_secret"]
    assert verify_secret(rotated["client_secret"], stored.secret_hash)
    assert not verify_secret(record["client_secret"], stored.secret_hash)


def test_disable_marks_client_disabled(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    record = register(target, monkeypatch)

    status, output = run(target, monkeypatch, "oidc-clients", "disable", record["client_id"], "--json")

    stored = store(target).get_client(record["client_id"])
    assert status == 0
    assert stored is not None
    assert stored.disabled
    printed = json.loads(output)
    assert printed["disabled"] is True
    assert "client_secret" not in printed


@pytest.mark.parametrize("action", ["rotate-secret", "disable"])
def test_unknown_client_fails_with_hint(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    status, _ = run(target, monkeypatch, "oidc-clients", action, "no-such-client")

    assert status == 1
    error = capsys.readouterr().err
    assert "no OpenID Connect client no-such-client" in error
    assert "oidc-clients list" in error
