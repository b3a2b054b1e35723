"""CloudflareAccessAdmin against FakeCloudflareApi over HTTPS on 127.0.0.1, and its configuration.

pytest-socket: the `allow_hosts` marker lets these tests connect to 127.0.0.1 even when the
unit suite runs with --disable-socket; every other host stays blocked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities import parameters

from hireproof.access.gateway_admin import (
    CloudflareAccessAdmin,
    GatewayAdmin,
    NoGatewayAdmin,
    gateway_admin_from_env,
    reset_gateway_admin_cache,
)
from hireproof.errors import ConfigurationError, GatewayAdminError, TransientError
from hireproof.http_errors import status_for
from hireproof.local.fakes.cloudflare_api import FakeCloudflareApi
from template_resources import StackResources, mocked_stack

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

EMAIL = "Jane.Doe@Example.com"


@pytest.fixture
def fake() -> Iterator[FakeCloudflareApi]:
    service = FakeCloudflareApi()
    service.start()
    yield service
    service.stop()


def make_admin(fake: FakeCloudflareApi, **changes: str) -> CloudflareAccessAdmin:
    secret = {**fake.secret_value(), **changes}
    return CloudflareAccessAdmin(
        secret["account_id"],
        secret["api_token"],
        secret["base_url"],
        verify=fake.ca_bundle_path,
        timeout=(2.0, 2.0),
    )


def test_cloudflare_admin_matches_protocol(fake: FakeCloudflareApi) -> None:
    assert isinstance(make_admin(fake), GatewayAdmin)
    assert isinstance(NoGatewayAdmin("not configured"), GatewayAdmin)


def test_revoke_user_sends_documented_request(fake: FakeCloudflareApi) -> None:
    make_admin(fake).revoke_user(EMAIL)

    [call] = fake.calls
    assert call.method == "POST"
    assert call.path == f"/client/v4/accounts/{fake.account_id}/access/organizations/revoke_user"
    assert call.headers["authorization"] == f"Bearer {fake.api_token}"
    assert call.json() == {"email": EMAIL}
    assert fake.revocations_of(EMAIL) == 1


def test_revoke_user_twice_succeeds(fake: FakeCloudflareApi) -> None:
    admin = make_admin(fake)

    admin.revoke_user(EMAIL)
    admin.revoke_user(EMAIL)

    assert fake.revocations_of(EMAIL) == 2


def test_wrong_token_raises_gateway_admin_error(fake: FakeCloudflareApi) -> None:
    with pytest.raises(GatewayAdminError) as raised:
        make_admin(fake, api_token="not-the-token").revoke_user(EMAIL)

    assert "10000" in str(raised.value)
    assert "not-the-token" not in str(raised.value)
    assert EMAIL not in str(raised.value)
    assert fake.revocations == []


def test_wrong_account_raises_gateway_admin_error(fake: FakeCloudflareApi) -> None:
    with pytest.raises(GatewayAdminError, match="9109"):
        make_admin(fake, account_id="0" * 32).revoke_user(EMAIL)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_server_errors_raise_transient_error(fake: FakeCloudflareApi, status: int) -> None:
    fake.inject_fault(status=status, body={"success": False, "errors": [{"code": 1, "message": "x"}]})

    with pytest.raises(TransientError, match=f"HTTP {status}"):
        make_admin(fake).revoke_user(EMAIL)


def test_success_false_raises_gateway_admin_error(fake: FakeCloudflareApi) -> None:
    fake.inject_fault(status=200, body={"success": False, "errors": [{"code": 12345, "message": EMAIL}]})

    with pytest.raises(GatewayAdminError) as raised:
        make_admin(fake).revoke_user(EMAIL)

    assert "12345" in str(raised.value)
    assert EMAIL not in str(raised.value)


def test_timeout_raises_transient_error(fake: FakeCloudflareApi) -> None:
    fake.inject_fault(delay_seconds=3.0)

    with pytest.raises(TransientError, match="Timeout"):
        make_admin(fake).revoke_user(EMAIL)


def test_plain_http_base_url_rejected() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        CloudflareAccessAdmin("account", "token", "http://127.0.0.1:9")


def test_gateway_admin_error_maps_to_502() -> None:
    assert status_for(GatewayAdminError("rejected")) == 502


def test_no_gateway_admin_logs_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        NoGatewayAdmin("GATEWAY_ADMIN_SECRET_ARN is not set").revoke_user(EMAIL)

    assert "gateway session revocation skipped" in caplog.text
    assert EMAIL not in caplog.text


# ----------------------------------------------------------------- configuration from the environment
@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    with mocked_stack() as resources:
        parameters.clear_caches()
        reset_gateway_admin_cache()
        monkeypatch.setenv("GATEWAY_ADMIN_SECRET_ARN", resources.name("GatewayAdminSecret"))
        yield resources
        parameters.clear_caches()
        reset_gateway_admin_cache()


def _store_secret(stack: StackResources, value: object) -> None:
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.name("GatewayAdminSecret"), SecretString=json.dumps(value)
    )
    parameters.clear_caches()


def test_template_secret_means_not_configured(stack: StackResources) -> None:
    admin = gateway_admin_from_env()

    assert isinstance(admin, NoGatewayAdmin)


def test_unset_secret_variable_means_not_configured(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_ADMIN_SECRET_ARN")

    admin = gateway_admin_from_env()

    assert isinstance(admin, NoGatewayAdmin)
    assert "GATEWAY_ADMIN_SECRET_ARN" in admin.reason


def test_secret_with_credentials_builds_cloudflare_admin(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch, fake: FakeCloudflareApi
) -> None:
    _store_secret(stack, fake.secret_value())
    monkeypatch.setenv("GATEWAY_ADMIN_CA_BUNDLE", fake.ca_bundle_path)

    admin = gateway_admin_from_env()
    admin.revoke_user(EMAIL)

    assert isinstance(admin, CloudflareAccessAdmin)
    assert fake.revocations_of(EMAIL) == 1


def test_half_configured_secret_raises(stack: StackResources) -> None:
    _store_secret(stack, {"account_id": "abc"})

    with pytest.raises(ConfigurationError, match="both account_id and api_token"):
        gateway_admin_from_env()


def test_secret_that_is_not_json_raises(stack: StackResources) -> None:
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.name("GatewayAdminSecret"), SecretString="account=abc"
    )
    parameters.clear_caches()

    with pytest.raises(ConfigurationError, match="not JSON"):
        gateway_admin_from_env()
