"""OktaProvider against FakeOkta over HTTPS on 127.0.0.1.

pytest-socket: the `allow_hosts` marker lets these tests connect to 127.0.0.1 even when the
unit suite runs with --disable-socket; every other host stays blocked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from hireproof.errors import IdentityProviderError, TransientError
from hireproof.identity import CredentialKind, IdentityProvider, StagedUser
from hireproof.identity.okta import OktaProvider
from hireproof.local.fakes.okta import FakeOkta, okta_error

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

JANE = StagedUser(
    user_name="Jane.Doe@Example.com",
    given_name="Jane",
    family_name="Doe",
    display_name="Jane Doe",
    work_email="jane.doe@example.com",
    department="Engineering",
)


@pytest.fixture
def fake_okta() -> Iterator[FakeOkta]:
    fake = FakeOkta()
    fake.start()
    yield fake
    fake.stop()


def make_provider(fake: FakeOkta, read_timeout: float = 5.0) -> OktaProvider:
    secret = fake.secret_value()
    return OktaProvider(
        org_url=fake.base_url,
        client_id=secret["client_id"],
        private_key=secret["private_key"],
        key_id=secret["key_id"],
        verify=fake.ca_bundle_path,
        timeout=(2.0, read_timeout),
    )


@pytest.fixture
def okta(fake_okta: FakeOkta) -> OktaProvider:
    return make_provider(fake_okta)


def activation_token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def secrets_seen(fake: FakeOkta) -> list[str]:
    """Collect every access token, client assertion and the private key the run used."""
    seen = [fake.secret_value()["private_key"].splitlines()[1]]
    for call in fake.calls:
        scheme, _, token = call.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer" and token:
            seen.append(token)
        if call.path == "/oauth2/v1/token":
            seen.append(call.form()["client_assertion"])
    return seen


def test_okta_provider_matches_interface(okta: OktaProvider) -> None:
    assert isinstance(okta, IdentityProvider)
    assert okta.capabilities.inactive_state
    assert okta.capabilities.blocks_sign_in
    assert okta.capabilities.revokes_sessions
    assert okta.capabilities.resets_password
    assert okta.capabilities.resets_mfa


def test_okta_full_lifecycle(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    group_id = fake_okta.add_group("engineering")

    user_id = okta.stage_user(JANE)
    assert fake_okta.users[user_id]["status"] == "STAGED"
    assert fake_okta.users[user_id]["profile"]["login"] == "jane.doe@example.com"
    assert fake_okta.users[user_id]["profile"]["department"] == "Engineering"
    create_call = fake_okta.calls_to("POST", "/api/v1/users")[0]
    assert create_call.query["activate"] == "false"

    okta.activate_user(user_id)
    assert fake_okta.users[user_id]["status"] == "PROVISIONED"

    credential = okta.issue_initial_credential(user_id)
    assert credential.kind is CredentialKind.ACTIVATION_LINK
    assert credential.value.get_secret_value().startswith(f"{fake_okta.base_url}/welcome/")
    assert credential.sign_in_url == fake_okta.base_url
    assert credential.expires_at is None

    fake_okta.complete_activation(activation_token(credential.value.get_secret_value()))
    assert fake_okta.users[user_id]["status"] == "ACTIVE"

    okta.add_to_groups(user_id, ["engineering"])
    assert fake_okta.group_members(group_id) == {user_id}

    fake_okta.sign_in(user_id)
    okta.revoke_sessions(user_id)
    assert user_id not in fake_okta.sessions
    sessions_call = fake_okta.calls_to("DELETE", f"/api/v1/users/{user_id}/sessions")[0]
    assert sessions_call.query["oauthTokens"] == "true"

    okta.suspend_user(user_id)
    assert fake_okta.users[user_id]["status"] == "SUSPENDED"
    with pytest.raises(PermissionError):
        fake_okta.sign_in(user_id)

    okta.restore_user(user_id)
    assert fake_okta.users[user_id]["status"] == "ACTIVE"

    okta.disable_user(user_id)
    assert fake_okta.users[user_id]["status"] == "DEPROVISIONED"
    okta.disable_user(user_id)
    assert fake_okta.users[user_id]["status"] == "DEPROVISIONED"

    assert fake_okta.emails_sent == []


def test_okta_stage_twice_creates_one_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    first = okta.stage_user(JANE)
    second = okta.stage_user(JANE)

    assert first == second
    assert len(fake_okta.users) == 1
    assert len(fake_okta.calls_to("POST", "/api/v1/users")) == 1


def test_okta_stage_finds_user_by_email(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    other_login = JANE.model_copy(update={"user_name": "jdoe@example.com"})
    existing = okta.stage_user(other_login)

    assert okta.stage_user(JANE) == existing
    assert len(fake_okta.users) == 1


def test_okta_stage_sets_manager_id(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    boss = JANE.model_copy(
        update={"user_name": "boss@example.com", "work_email": "boss@example.com"}
    )
    boss_id = okta.stage_user(boss)

    user_id = okta.stage_user(JANE.model_copy(update={"manager_email": "BOSS@example.com"}))

    assert fake_okta.users[user_id]["profile"]["managerId"] == boss_id


def test_okta_stage_race_returns_existing_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    # The lookups miss the user once, as if another run created it in between; the create
    # then meets Okta's duplicate-login rejection.
    fake_okta.inject_fault(
        method="GET",
        path_prefix="/api/v1/users/jane.doe@example.com",
        status=404,
        body=okta_error(404, "E0000007", "Not found: Resource not found").body,
    )
    fake_okta.inject_fault(method="GET", path_prefix="/api/v1/users", status=200, body=[])

    assert okta.stage_user(JANE) == user_id
    assert len(fake_okta.users) == 1
    assert len(fake_okta.calls_to("POST", "/api/v1/users")) == 2


def test_okta_stage_rejected_create_is_raised(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    fake_okta.inject_fault(
        method="POST",
        path_prefix="/api/v1/users",
        status=400,
        body=okta_error(400, "E0000001", "Api validation failed: login").body,
    )

    with pytest.raises(IdentityProviderError, match="E0000001"):
        okta.stage_user(JANE)

    assert fake_okta.users == {}


def test_okta_new_credential_replaces_previous(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)

    first = okta.issue_initial_credential(user_id).value.get_secret_value()
    second = okta.issue_initial_credential(user_id).value.get_secret_value()

    assert first != second
    with pytest.raises(KeyError):
        fake_okta.complete_activation(activation_token(first))
    fake_okta.complete_activation(activation_token(second))
    assert fake_okta.users[user_id]["status"] == "ACTIVE"


def test_okta_credential_needs_activated_user(okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)

    with pytest.raises(IdentityProviderError, match="STAGED"):
        okta.issue_initial_credential(user_id)


def test_okta_activate_is_idempotent(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    okta.activate_user(user_id)

    assert fake_okta.users[user_id]["status"] == "PROVISIONED"
    assert len(fake_okta.calls_to("POST", f"/api/v1/users/{user_id}/lifecycle/activate")) == 1


def test_okta_suspend_provisioned_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    credential = okta.issue_initial_credential(user_id)

    okta.suspend_user(user_id)

    assert fake_okta.users[user_id]["status"] == "DEPROVISIONED"
    with pytest.raises(KeyError):
        fake_okta.complete_activation(activation_token(credential.value.get_secret_value()))
    okta.restore_user(user_id)
    assert fake_okta.users[user_id]["status"] == "PROVISIONED"


def test_okta_activate_rejects_suspended_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    fake_okta.complete_activation(
        activation_token(okta.issue_initial_credential(user_id).value.get_secret_value())
    )
    okta.suspend_user(user_id)

    with pytest.raises(IdentityProviderError, match="SUSPENDED"):
        okta.activate_user(user_id)


def test_okta_add_to_groups_is_idempotent(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    engineering = fake_okta.add_group("engineering")
    everyone = fake_okta.add_group("everyone-verified")
    user_id = okta.stage_user(JANE)

    okta.add_to_groups(user_id, ["engineering", "everyone-verified", "engineering"])
    okta.add_to_groups(user_id, ["engineering"])

    assert fake_okta.group_members(engineering) == {user_id}
    assert fake_okta.group_members(everyone) == {user_id}


def test_okta_add_to_unknown_group(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    fake_okta.add_group("engineering-alumni")
    user_id = okta.stage_user(JANE)

    with pytest.raises(IdentityProviderError, match="'engineering' not found"):
        okta.add_to_groups(user_id, ["engineering"])


def test_okta_find_user_by_email(okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)

    assert okta.find_user_by_email("JANE.DOE@example.com") == user_id
    assert okta.find_user_by_email("nobody@example.com") is None


def test_okta_unknown_user_is_rejected(okta: OktaProvider) -> None:
    with pytest.raises(IdentityProviderError, match="E0000007") as raised:
        okta.activate_user("00unknown")

    assert "status 404" in str(raised.value)


def test_okta_token_is_reused(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    okta.find_user_by_email(JANE.user_name)

    token_calls = fake_okta.calls_to("POST", "/oauth2/v1/token")
    assert len(token_calls) == 1
    form = token_calls[0].form()
    assert form["grant_type"] == "client_credentials"
    assert form["scope"].split() == ["okta.users.manage", "okta.groups.manage"]
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert "client_secret" not in form


def test_okta_revoked_token_is_replaced(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    okta.stage_user(JANE)
    fake_okta.revoke_access_tokens()

    assert okta.find_user_by_email(JANE.user_name) is not None
    assert len(fake_okta.calls_to("POST", "/oauth2/v1/token")) == 2


def test_okta_expiring_token_is_refreshed(fake_okta: FakeOkta) -> None:
    # A lifetime inside the refresh margin makes every request fetch a new token.
    fake_okta.token_lifetime_seconds = 30
    okta = make_provider(fake_okta)

    okta.find_user_by_email("a@example.com")
    okta.find_user_by_email("b@example.com")

    api_calls = [call for call in fake_okta.calls if call.path.startswith("/api/")]
    assert len(api_calls) == 4
    assert len(fake_okta.calls_to("POST", "/oauth2/v1/token")) == len(api_calls)


@pytest.mark.parametrize(
    ("status", "error_code"),
    [(429, "E0000047"), (500, "E0000009"), (503, "E0000009")],
)
def test_okta_throttling_and_5xx_are_transient(
    fake_okta: FakeOkta, okta: OktaProvider, status: int, error_code: str
) -> None:
    fake_okta.inject_fault(
        method="POST",
        path_prefix="/api/v1/users",
        status=status,
        body=okta_error(status, error_code, "API call exceeded rate limit").body,
        headers={"Retry-After": "7"},
    )

    with pytest.raises(TransientError) as raised:
        okta.stage_user(JANE)

    assert f"status {status}" in str(raised.value)
    assert error_code in str(raised.value)
    assert "retry after 7 s" in str(raised.value)


def test_okta_client_error_is_not_transient(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    fake_okta.inject_fault(
        method="POST",
        path_prefix="/api/v1/users",
        status=400,
        body=okta_error(
            400, "E0000001", "Api validation failed: login", ["login: jane.doe@example.com is bad"]
        ).body,
    )

    with pytest.raises(IdentityProviderError) as raised:
        okta.stage_user(JANE.model_copy(update={"user_name": "other@example.com"}))

    assert not isinstance(raised.value, TransientError)
    assert "E0000001" in str(raised.value)
    assert "jane.doe@example.com" not in str(raised.value)


def test_okta_timeout_is_transient(fake_okta: FakeOkta) -> None:
    okta = make_provider(fake_okta, read_timeout=0.5)
    okta.find_user_by_email("warm@example.com")
    fake_okta.inject_fault(method="GET", path_prefix="/api/v1/users", delay_seconds=1.5)

    with pytest.raises(TransientError, match="timed out"):
        okta.find_user_by_email(JANE.user_name)


def test_okta_token_endpoint_outage_is_transient(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    fake_okta.inject_fault(path_prefix="/oauth2/v1/token", status=503, body=b"<html>down</html>")

    with pytest.raises(TransientError, match="token request failed with status 503"):
        okta.stage_user(JANE)


def test_okta_missing_scope_is_rejected(fake_okta: FakeOkta) -> None:
    fake_okta.granted_scopes = frozenset({"okta.users.manage"})
    okta = make_provider(fake_okta)

    with pytest.raises(IdentityProviderError, match=r"invalid_scope.*okta\.groups\.manage"):
        okta.stage_user(JANE)


def test_okta_dpop_requirement_is_explained(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    fake_okta.require_dpop = True

    with pytest.raises(IdentityProviderError, match="Require Demonstrating Proof of Possession"):
        okta.stage_user(JANE)


def test_okta_wrong_key_is_rejected(fake_okta: FakeOkta) -> None:
    stranger = FakeOkta()
    secret = stranger.secret_value()
    okta = OktaProvider(
        org_url=fake_okta.base_url,
        client_id=fake_okta.client_id,
        private_key=secret["private_key"],
        verify=fake_okta.ca_bundle_path,
    )

    with pytest.raises(IdentityProviderError, match="invalid_client") as raised:
        okta.find_user_by_email(JANE.user_name)

    assert secret["private_key"].splitlines()[1] not in str(raised.value)


def test_okta_no_secret_in_logs_or_errors(
    fake_okta: FakeOkta, okta: OktaProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_okta.add_group("engineering")

    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    link = okta.issue_initial_credential(user_id).value.get_secret_value()
    okta.add_to_groups(user_id, ["engineering"])
    fake_okta.inject_fault(method="POST", path_prefix="/api/v1/users", status=429, body={})
    with pytest.raises(TransientError) as raised:
        okta.suspend_user(user_id)
    fake_okta.revoke_access_tokens()
    okta.revoke_sessions(user_id)

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "okta user staged" in logged
    for secret in [*secrets_seen(fake_okta), link, activation_token(link)]:
        assert secret not in logged
        assert secret not in str(raised.value)
    assert "jane.doe@example.com" not in logged


def test_fake_okta_rejects_missing_token(fake_okta: FakeOkta) -> None:
    response = requests.get(
        f"{fake_okta.base_url}/api/v1/users/someone", verify=fake_okta.ca_bundle_path, timeout=5
    )

    assert response.status_code == 401
    assert response.json()["errorCode"] == "E0000011"


def test_fake_okta_rejects_duplicate_login(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    okta.stage_user(JANE)
    token = next(
        call.headers["authorization"]
        for call in fake_okta.calls
        if call.headers.get("authorization", "").startswith("Bearer ")
    )

    response = requests.post(
        f"{fake_okta.base_url}/api/v1/users?activate=false",
        json={
            "profile": {
                "login": "JANE.DOE@example.com",
                "email": "x@example.com",
                "firstName": "J",
                "lastName": "D",
            }
        },
        headers={"Authorization": token},
        verify=fake_okta.ca_bundle_path,
        timeout=5,
    )

    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "E0000001"
    duplicate = "login: An object with this field already exists in the current organization"
    assert body["errorCauses"] == [{"errorSummary": duplicate}]


# ---------------------------------------------------------------- password and MFA resets
def active_user(fake: FakeOkta, okta: OktaProvider) -> str:
    """Stage, activate and finish activation of JANE, and return her user id."""
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)
    fake.complete_activation(
        activation_token(okta.issue_initial_credential(user_id).value.get_secret_value())
    )
    return user_id


def reset_token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def test_okta_password_reset_link_works_once(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.sign_in(user_id)

    credential = okta.issue_password_reset(user_id)

    assert credential.kind is CredentialKind.PASSWORD_RESET_LINK
    url = credential.value.get_secret_value()
    assert url.startswith(f"{fake_okta.base_url}/signin/reset-password/")
    assert credential.sign_in_url == fake_okta.base_url
    assert fake_okta.users[user_id]["status"] == "RECOVERY"
    reset_call = fake_okta.calls_to("POST", f"/api/v1/users/{user_id}/lifecycle/reset_password")[0]
    assert reset_call.query["sendEmail"] == "false"
    with pytest.raises(PermissionError, match="RECOVERY"):
        fake_okta.sign_in(user_id)

    fake_okta.complete_password_reset(reset_token(url))
    assert fake_okta.users[user_id]["status"] == "ACTIVE"
    fake_okta.sign_in(user_id)
    with pytest.raises(KeyError):
        fake_okta.complete_password_reset(reset_token(url))
    assert fake_okta.emails_sent == []


def test_okta_password_reset_retry_replaces_link(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)

    first = okta.issue_password_reset(user_id).value.get_secret_value()
    second = okta.issue_password_reset(user_id).value.get_secret_value()

    assert first != second
    assert fake_okta.users[user_id]["status"] == "RECOVERY"
    with pytest.raises(KeyError):
        fake_okta.complete_password_reset(reset_token(first))
    fake_okta.complete_password_reset(reset_token(second))
    assert fake_okta.users[user_id]["status"] == "ACTIVE"


def test_okta_password_reset_needs_activated_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = okta.stage_user(JANE)
    okta.activate_user(user_id)

    with pytest.raises(IdentityProviderError, match="the user is PROVISIONED"):
        okta.issue_password_reset(user_id)
    with pytest.raises(IdentityProviderError, match="the user is PROVISIONED"):
        okta.reset_mfa(user_id)

    assert fake_okta.calls_to("POST", f"/api/v1/users/{user_id}/lifecycle/reset_password") == []
    assert fake_okta.calls_to("GET", f"/api/v1/users/{user_id}/factors") == []


def test_okta_reset_mfa_unenrolls_every_factor(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.enroll_factor(user_id, "push")
    fake_okta.enroll_factor(user_id, "token:software:totp")
    sms_id = fake_okta.enroll_factor(user_id, "sms")
    fake_okta.enroll_factor(user_id, "webauthn")
    assert user_id in fake_okta.recovery_phones

    credential = okta.reset_mfa(user_id)

    assert fake_okta.factor_types(user_id) == []
    assert user_id not in fake_okta.recovery_phones
    assert credential.kind is CredentialKind.PASSWORD_RESET_LINK
    assert fake_okta.users[user_id]["status"] == "RECOVERY"
    deletes = fake_okta.calls_to("DELETE", f"/api/v1/users/{user_id}/factors/")
    # Unenrolling push also removed the Okta Verify TOTP factor, whose DELETE then got 404.
    assert len(deletes) == 4
    sms_delete = next(call for call in deletes if call.path.endswith(sms_id))
    assert sms_delete.query["removeRecoveryEnrollment"] == "true"
    fake_okta.complete_password_reset(reset_token(credential.value.get_secret_value()))
    assert fake_okta.users[user_id]["status"] == "ACTIVE"


def test_okta_reset_mfa_twice_issues_new_link(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.enroll_factor(user_id, "sms")

    first = okta.reset_mfa(user_id).value.get_secret_value()
    second = okta.reset_mfa(user_id).value.get_secret_value()

    assert first != second
    assert fake_okta.factor_types(user_id) == []
    assert len(fake_okta.calls_to("DELETE", f"/api/v1/users/{user_id}/factors/")) == 1
    with pytest.raises(KeyError):
        fake_okta.complete_password_reset(reset_token(first))


def test_okta_reset_mfa_retry_after_outage(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.enroll_factor(user_id, "sms")
    email_id = fake_okta.enroll_factor(user_id, "email")
    fake_okta.enroll_factor(user_id, "webauthn")
    fake_okta.inject_fault(
        method="DELETE",
        path_prefix=f"/api/v1/users/{user_id}/factors/{email_id}",
        status=503,
        body=okta_error(503, "E0000009", "Internal Server Error").body,
    )

    with pytest.raises(TransientError, match="unenroll factor failed with status 503"):
        okta.reset_mfa(user_id)
    assert fake_okta.factor_types(user_id) == ["email", "webauthn"]
    assert fake_okta.users[user_id]["status"] == "ACTIVE"

    credential = okta.reset_mfa(user_id)

    assert fake_okta.factor_types(user_id) == []
    assert credential.kind is CredentialKind.PASSWORD_RESET_LINK


@pytest.mark.parametrize("reset", ["issue_password_reset", "reset_mfa"])
def test_okta_reset_rejection_is_not_transient(
    fake_okta: FakeOkta, okta: OktaProvider, reset: str
) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.inject_fault(
        method="POST",
        path_prefix=f"/api/v1/users/{user_id}/lifecycle/reset_password",
        status=403,
        body=okta_error(403, "E0000006", "You do not have permission").body,
    )

    with pytest.raises(IdentityProviderError) as raised:
        getattr(okta, reset)(user_id)

    assert not isinstance(raised.value, TransientError)
    assert "reset password was rejected with status 403" in str(raised.value)
    assert "E0000006" in str(raised.value)
    assert fake_okta.users[user_id]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("reset", "method", "path"),
    [
        ("issue_password_reset", "POST", "lifecycle/reset_password"),
        ("reset_mfa", "GET", "factors"),
    ],
)
def test_okta_reset_throttling_is_transient(
    fake_okta: FakeOkta, okta: OktaProvider, reset: str, method: str, path: str
) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.inject_fault(
        method=method,
        path_prefix=f"/api/v1/users/{user_id}/{path}",
        status=429,
        body=okta_error(429, "E0000047", "API call exceeded rate limit").body,
        headers={"Retry-After": "3"},
    )

    with pytest.raises(TransientError, match=r"status 429 \(E0000047") as raised:
        getattr(okta, reset)(user_id)

    assert "retry after 3 s" in str(raised.value)


def test_okta_reset_credentials_not_logged(
    fake_okta: FakeOkta, okta: OktaProvider, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.enroll_factor(user_id, "push")
    caplog.set_level(logging.DEBUG)

    password_link = okta.issue_password_reset(user_id)
    mfa_link = okta.reset_mfa(user_id)
    fake_okta.inject_fault(method="GET", path_prefix=f"/api/v1/users/{user_id}", status=500, body={})
    with pytest.raises(TransientError) as raised:
        okta.reset_mfa(user_id)

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "okta password reset link issued" in logged
    assert "okta factors reset" in logged
    for credential in (password_link, mfa_link):
        url = credential.value.get_secret_value()
        assert url not in repr(credential)
        assert url not in credential.model_dump_json()
        for secret in (url, reset_token(url)):
            assert secret not in logged
            assert secret not in str(raised.value)


def test_okta_reset_mfa_rejects_deactivated_user(fake_okta: FakeOkta, okta: OktaProvider) -> None:
    user_id = active_user(fake_okta, okta)
    fake_okta.enroll_factor(user_id, "sms")
    okta.disable_user(user_id)

    with pytest.raises(IdentityProviderError, match="the user is DEPROVISIONED"):
        okta.reset_mfa(user_id)

    assert fake_okta.factor_types(user_id) == ["sms"]


def test_fake_okta_rejects_unenroll_of_deactivated_user(
    fake_okta: FakeOkta, okta: OktaProvider
) -> None:
    user_id = active_user(fake_okta, okta)
    factor_id = fake_okta.enroll_factor(user_id, "sms")
    okta.disable_user(user_id)
    authorization = fake_okta.calls_to("GET", f"/api/v1/users/{user_id}")[-1].headers["authorization"]

    response = requests.delete(
        f"{fake_okta.base_url}/api/v1/users/{user_id}/factors/{factor_id}",
        headers={"Authorization": authorization},
        verify=fake_okta.ca_bundle_path,
        timeout=5,
    )

    assert response.status_code == 403
    assert response.json()["errorCode"] == "E0000038"
    assert fake_okta.factor_types(user_id) == ["sms"]
