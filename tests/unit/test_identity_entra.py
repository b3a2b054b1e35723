"""EntraProvider against FakeEntra over HTTPS on 127.0.0.1.

pytest-socket: the `allow_hosts` marker lets these tests connect to 127.0.0.1 even when the
unit suite runs with --disable-socket; every other host stays blocked.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
import requests

from hireproof.errors import ConfigurationError, IdentityProviderError, TransientError
from hireproof.identity import CredentialKind, IdentityProvider, StagedUser
from hireproof.identity.entra import EntraProvider
from hireproof.local.fakes.entra import (
    PASSWORD_METHOD_ID,
    PHONE_METHOD_TYPE,
    TEMPORARY_ACCESS_PASS_METHOD_TYPE,
    FakeEntra,
    graph_error,
)

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

JANE = StagedUser(
    user_name="jane.doe@example.com",
    given_name="Jane",
    family_name="Doe",
    display_name="Jane Doe",
    work_email="jane.doe@example.com",
    department="Engineering",
)
BOSS = StagedUser(
    user_name="boss@example.com",
    given_name="Bo",
    family_name="Boss",
    display_name="Bo Boss",
    work_email="boss@example.com",
)


@pytest.fixture
def fake_entra() -> Iterator[FakeEntra]:
    fake = FakeEntra()
    fake.start()
    yield fake
    fake.stop()


def make_provider(
    fake: FakeEntra, *, client_secret: str | None = None, read_timeout: float = 5.0
) -> EntraProvider:
    return EntraProvider(
        client_id=fake.client_id,
        client_secret=client_secret or fake.client_secret,
        token_url=fake.token_url,
        graph_url=fake.graph_url,
        verify=fake.ca_bundle_path,
        timeout=(2.0, read_timeout),
    )


@pytest.fixture
def entra(fake_entra: FakeEntra) -> EntraProvider:
    return make_provider(fake_entra)


def test_entra_provider_matches_interface(entra: EntraProvider) -> None:
    assert isinstance(entra, IdentityProvider)
    assert entra.capabilities.inactive_state
    assert entra.capabilities.blocks_sign_in
    assert entra.capabilities.revokes_sessions
    assert entra.capabilities.resets_password
    assert entra.capabilities.resets_mfa


def test_entra_full_lifecycle(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    group_id = fake_entra.add_group("engineering")
    boss_id = entra.stage_user(BOSS)

    user_id = entra.stage_user(JANE.model_copy(update={"manager_email": "boss@example.com"}))
    user = fake_entra.users[user_id]
    assert user["accountEnabled"] is False
    assert user["userPrincipalName"] == "jane.doe@example.com"
    assert user["mailNickname"] == "jane.doe"
    assert user["department"] == "Engineering"
    assert fake_entra.managers[user_id] == boss_id
    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id)

    entra.activate_user(user_id)
    assert fake_entra.users[user_id]["accountEnabled"] is True

    before = dt.datetime.now(dt.UTC)
    credential = entra.issue_initial_credential(user_id)
    assert credential.kind is CredentialKind.TEMPORARY_ACCESS_PASS
    assert credential.expires_at is not None
    lifetime = credential.expires_at - before
    assert dt.timedelta(minutes=59) < lifetime <= dt.timedelta(minutes=61)
    tap_call = fake_entra.calls_to(
        "POST", f"/v1.0/users/{user_id}/authentication/temporaryAccessPassMethods"
    )[0]
    assert tap_call.json() == {"isUsableOnce": True, "lifetimeInMinutes": 60}

    fake_entra.sign_in(user_id, credential.value.get_secret_value())
    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id, credential.value.get_secret_value())

    entra.add_to_groups(user_id, ["engineering"])
    assert fake_entra.group_members(group_id) == {user_id}

    entra.revoke_sessions(user_id)
    assert user_id not in fake_entra.sessions

    entra.suspend_user(user_id)
    assert fake_entra.users[user_id]["accountEnabled"] is False
    entra.restore_user(user_id)
    assert fake_entra.users[user_id]["accountEnabled"] is True
    entra.disable_user(user_id)
    assert fake_entra.users[user_id]["accountEnabled"] is False


def test_entra_stage_twice_creates_one_user(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    first = entra.stage_user(JANE)
    second = entra.stage_user(JANE)

    assert first == second
    assert len(fake_entra.users) == 1
    assert len(fake_entra.calls_to("POST", "/v1.0/users")) == 1


def test_entra_stage_finds_user_by_mail(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    existing = entra.stage_user(JANE.model_copy(update={"user_name": "jdoe@example.com"}))

    assert entra.stage_user(JANE) == existing
    assert len(fake_entra.users) == 1


def test_entra_stage_race_returns_existing_user(
    fake_entra: FakeEntra, entra: EntraProvider
) -> None:
    user_id = entra.stage_user(JANE)
    # The lookups miss the user once, as if another run created it in between.
    fake_entra.inject_fault(
        method="GET",
        path_prefix="/v1.0/users/jane.doe@example.com",
        status=404,
        body=graph_error(404, "Request_ResourceNotFound", "Resource does not exist.").body,
    )
    fake_entra.inject_fault(
        method="GET",
        path_prefix="/v1.0/users",
        status=200,
        body={"value": []},
    )

    assert entra.stage_user(JANE) == user_id
    assert len(fake_entra.users) == 1
    assert len(fake_entra.calls_to("POST", "/v1.0/users")) == 2


def test_entra_password_is_random_and_complex(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    entra.stage_user(JANE)
    entra.stage_user(BOSS)

    bodies = [call.json() for call in fake_entra.calls_to("POST", "/v1.0/users")]
    passwords = [body["passwordProfile"]["password"] for body in bodies]
    assert len(set(passwords)) == 2
    assert all(len(password) == 64 for password in passwords)
    assert all(body["passwordProfile"]["forceChangePasswordNextSignIn"] for body in bodies)


def test_entra_new_pass_replaces_previous(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = entra.stage_user(JANE)
    entra.activate_user(user_id)

    first = entra.issue_initial_credential(user_id).value.get_secret_value()
    second = entra.issue_initial_credential(user_id).value.get_secret_value()

    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id, first)
    fake_entra.sign_in(user_id, second)
    assert fake_entra.sessions[user_id] == 1


def test_entra_add_to_groups_is_idempotent(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    engineering = fake_entra.add_group("engineering")
    everyone = fake_entra.add_group("everyone-verified")
    user_id = entra.stage_user(JANE)

    entra.add_to_groups(user_id, ["engineering", "everyone-verified"])
    entra.add_to_groups(user_id, ["engineering", "everyone-verified"])

    assert fake_entra.group_members(engineering) == {user_id}
    assert fake_entra.group_members(everyone) == {user_id}
    assert len(fake_entra.calls_to("POST", f"/v1.0/groups/{engineering}/members")) == 1


def test_entra_add_member_race_is_accepted(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    group_id = fake_entra.add_group("engineering")
    user_id = entra.stage_user(JANE)
    fake_entra.members.add((group_id, user_id))
    # The first membership check returns no groups, as if the membership did not exist yet.
    fake_entra.inject_fault(
        method="POST",
        path_prefix=f"/v1.0/users/{user_id}/checkMemberGroups",
        status=200,
        body={"value": []},
    )

    entra.add_to_groups(user_id, ["engineering"])

    assert fake_entra.group_members(group_id) == {user_id}


def test_entra_add_to_unknown_group(entra: EntraProvider) -> None:
    user_id = entra.stage_user(JANE)

    with pytest.raises(IdentityProviderError, match="'engineering' not found"):
        entra.add_to_groups(user_id, ["engineering"])


def test_entra_group_name_with_quote(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    group_id = fake_entra.add_group("o'reilly readers")
    user_id = entra.stage_user(JANE)

    entra.add_to_groups(user_id, ["o'reilly readers"])

    assert fake_entra.group_members(group_id) == {user_id}


def test_entra_find_user_by_email(entra: EntraProvider) -> None:
    user_id = entra.stage_user(JANE)

    assert entra.find_user_by_email("Jane.Doe@Example.com") == user_id
    assert entra.find_user_by_email("nobody@example.com") is None


def test_entra_unknown_user_is_rejected(entra: EntraProvider) -> None:
    with pytest.raises(IdentityProviderError, match="Request_ResourceNotFound") as raised:
        entra.activate_user("00000000-0000-0000-0000-000000000000")

    assert "status 404" in str(raised.value)
    assert "request-id" in str(raised.value)


def test_entra_token_is_reused(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = entra.stage_user(JANE)
    entra.activate_user(user_id)
    entra.revoke_sessions(user_id)

    token_calls = fake_entra.calls_to("POST", f"/{fake_entra.tenant_id}/oauth2/v2.0/token")
    assert len(token_calls) == 1
    form = token_calls[0].form()
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://graph.microsoft.com/.default"
    assert form["client_id"] == fake_entra.client_id
    assert "authorization" not in token_calls[0].headers


def test_entra_revoked_token_is_replaced(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    entra.stage_user(JANE)
    fake_entra.revoke_access_tokens()

    assert entra.find_user_by_email(JANE.user_name) is not None
    token_path = f"/{fake_entra.tenant_id}/oauth2/v2.0/token"
    assert len(fake_entra.calls_to("POST", token_path)) == 2


@pytest.mark.parametrize(
    ("status", "code"), [(429, "TooManyRequests"), (503, "serviceNotAvailable")]
)
def test_entra_throttling_and_5xx_are_transient(
    fake_entra: FakeEntra, entra: EntraProvider, status: int, code: str
) -> None:
    fake_entra.inject_fault(
        method="GET",
        path_prefix="/v1.0/users",
        status=status,
        body=graph_error(status, code, "Too many requests").body,
        headers={"Retry-After": "12"},
    )

    with pytest.raises(TransientError) as raised:
        entra.stage_user(JANE)

    assert f"status {status}" in str(raised.value)
    assert code in str(raised.value)
    assert "retry after 12 s" in str(raised.value)


def test_entra_bad_request_is_not_transient(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    fake_entra.inject_fault(
        method="POST",
        path_prefix="/v1.0/users",
        status=400,
        body=graph_error(
            400, "Request_BadRequest", "Property 'mail' of jane.doe@example.com is invalid."
        ).body,
    )

    with pytest.raises(IdentityProviderError) as raised:
        entra.stage_user(JANE)

    assert not isinstance(raised.value, TransientError)
    assert "Request_BadRequest" in str(raised.value)
    assert "jane.doe@example.com" not in str(raised.value)


def test_entra_timeout_is_transient(fake_entra: FakeEntra) -> None:
    entra = make_provider(fake_entra, read_timeout=0.5)
    entra.find_user_by_email("warm@example.com")
    fake_entra.inject_fault(method="GET", path_prefix="/v1.0/users", delay_seconds=1.5)

    with pytest.raises(TransientError, match="timed out"):
        entra.find_user_by_email(JANE.user_name)


def test_entra_wrong_secret_is_rejected(fake_entra: FakeEntra) -> None:
    wrong_secret = "not-the-secret-" + "x" * 20
    entra = make_provider(fake_entra, client_secret=wrong_secret)

    with pytest.raises(IdentityProviderError, match="invalid_client: AADSTS7000215") as raised:
        entra.stage_user(JANE)

    assert wrong_secret not in str(raised.value)
    assert fake_entra.client_secret not in str(raised.value)


def test_entra_rejects_bad_tap_lifetime() -> None:
    with pytest.raises(ConfigurationError, match="10 to 43200"):
        EntraProvider(
            client_id="app", client_secret="secret", tenant_id="t", tap_lifetime_minutes=5
        )


def test_entra_no_secret_in_logs_or_errors(
    fake_entra: FakeEntra, entra: EntraProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_entra.add_group("engineering")

    user_id = entra.stage_user(JANE)
    entra.activate_user(user_id)
    passcode = entra.issue_initial_credential(user_id).value.get_secret_value()
    entra.add_to_groups(user_id, ["engineering"])
    fake_entra.inject_fault(method="PATCH", path_prefix="/v1.0/users", status=503, body={})
    with pytest.raises(TransientError) as raised:
        entra.suspend_user(user_id)

    password = fake_entra.calls_to("POST", "/v1.0/users")[0].json()["passwordProfile"]["password"]
    tokens = [
        call.headers["authorization"].split(" ", 1)[1]
        for call in fake_entra.calls
        if call.headers.get("authorization", "").startswith("Bearer ")
    ]
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "entra user staged" in logged
    for secret in [fake_entra.client_secret, password, passcode, *tokens]:
        assert secret not in logged
        assert secret not in str(raised.value)
    assert "jane.doe@example.com" not in logged


def test_fake_entra_rejects_missing_token(fake_entra: FakeEntra) -> None:
    response = requests.get(
        f"{fake_entra.graph_url}/users/someone", verify=fake_entra.ca_bundle_path, timeout=5
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_fake_entra_rejects_duplicate_upn(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    entra.stage_user(JANE)
    body = fake_entra.calls_to("POST", "/v1.0/users")[0].json()
    authorization = fake_entra.calls_to("POST", "/v1.0/users")[0].headers["authorization"]

    response = requests.post(
        f"{fake_entra.graph_url}/users",
        json={**body, "userPrincipalName": "JANE.DOE@example.com"},
        headers={"Authorization": authorization},
        verify=fake_entra.ca_bundle_path,
        timeout=5,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert "userPrincipalName already exists" in error["message"]


def test_fake_entra_rejects_weak_password(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    entra.stage_user(JANE)
    body = fake_entra.calls_to("POST", "/v1.0/users")[0].json()
    authorization = fake_entra.calls_to("POST", "/v1.0/users")[0].headers["authorization"]
    body["userPrincipalName"] = "other@example.com"
    body["passwordProfile"]["password"] = "password"

    response = requests.post(
        f"{fake_entra.graph_url}/users",
        json=body,
        headers={"Authorization": authorization},
        verify=fake_entra.ca_bundle_path,
        timeout=5,
    )

    assert response.status_code == 400
    assert "password complexity" in response.json()["error"]["message"]


# ---------------------------------------------------------------- password and MFA resets
FIDO2 = "#microsoft.graph.fido2AuthenticationMethod"
AUTHENTICATOR = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
SOFTWARE_OATH = "#microsoft.graph.softwareOathAuthenticationMethod"
EMAIL = "#microsoft.graph.emailAuthenticationMethod"
HELLO = "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"
PLATFORM_CREDENTIAL = "#microsoft.graph.platformCredentialAuthenticationMethod"


def active_user(fake: FakeEntra, entra: EntraProvider) -> str:
    """Stage and enable JANE, use up her onboarding pass, and return her user id."""
    user_id = entra.stage_user(JANE)
    entra.activate_user(user_id)
    fake.sign_in(user_id, entra.issue_initial_credential(user_id).value.get_secret_value())
    return user_id


def test_entra_password_reset_pass_works_once(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = active_user(fake_entra, entra)

    credential = entra.issue_password_reset(user_id)

    assert credential.kind is CredentialKind.TEMPORARY_ACCESS_PASS
    assert credential.expires_at is not None
    tap_path = f"/v1.0/users/{user_id}/authentication/temporaryAccessPassMethods"
    assert fake_entra.calls_to("POST", tap_path)[-1].json() == {
        "isUsableOnce": True,
        "lifetimeInMinutes": 60,
    }
    # The used onboarding pass was deleted first: Graph keeps one pass per user.
    assert len(fake_entra.calls_to("DELETE", f"{tap_path}/")) == 1
    passcode = credential.value.get_secret_value()
    fake_entra.sign_in(user_id, passcode)
    with pytest.raises(PermissionError, match="no usable Temporary Access Pass"):
        fake_entra.sign_in(user_id, passcode)


def test_entra_password_reset_retry_replaces_pass(
    fake_entra: FakeEntra, entra: EntraProvider
) -> None:
    user_id = active_user(fake_entra, entra)

    first = entra.issue_password_reset(user_id).value.get_secret_value()
    second = entra.issue_password_reset(user_id).value.get_secret_value()

    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id, first)
    fake_entra.sign_in(user_id, second)


def test_entra_reset_mfa_deletes_every_method(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = active_user(fake_entra, entra)
    mobile = fake_entra.add_method(user_id, PHONE_METHOD_TYPE, phoneType="mobile")
    alternate = fake_entra.add_method(user_id, PHONE_METHOD_TYPE, phoneType="alternateMobile")
    office = fake_entra.add_method(user_id, PHONE_METHOD_TYPE, phoneType="office")
    for method_type in (FIDO2, AUTHENTICATOR, SOFTWARE_OATH, EMAIL, HELLO, PLATFORM_CREDENTIAL):
        fake_entra.add_method(user_id, method_type)

    credential = entra.reset_mfa(user_id)

    assert fake_entra.method_types(user_id) == [TEMPORARY_ACCESS_PASS_METHOD_TYPE]
    assert credential.kind is CredentialKind.TEMPORARY_ACCESS_PASS
    deleted = [
        call.path.rsplit("/", 2)[-2:]
        for call in fake_entra.calls_to("DELETE", f"/v1.0/users/{user_id}/authentication/")
    ]
    assert "passwordMethods" not in [collection for collection, _ in deleted]
    # Graph rejects deleting the mobile number while the alternate one exists.
    phones = [method_id for collection, method_id in deleted if collection == "phoneMethods"]
    assert phones == [alternate, office, mobile]
    fake_entra.sign_in(user_id, credential.value.get_secret_value())
    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id, credential.value.get_secret_value())


def test_entra_reset_mfa_keeps_password(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, FIDO2)

    entra.reset_mfa(user_id)

    listed = requests.get(
        f"{fake_entra.graph_url}/users/{user_id}/authentication/methods",
        headers={"Authorization": fake_entra.calls[-1].headers["authorization"]},
        verify=fake_entra.ca_bundle_path,
        timeout=5,
    ).json()["value"]
    assert [method["id"] for method in listed if "password" in method["@odata.type"]] == [
        PASSWORD_METHOD_ID
    ]
    assert fake_entra.method_types(user_id) == [TEMPORARY_ACCESS_PASS_METHOD_TYPE]


def test_entra_reset_mfa_retry_after_outage(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, EMAIL)
    fido2_id = fake_entra.add_method(user_id, FIDO2)
    fake_entra.add_method(user_id, AUTHENTICATOR)
    fake_entra.inject_fault(
        method="DELETE",
        path_prefix=f"/v1.0/users/{user_id}/authentication/fido2Methods/{fido2_id}",
        status=503,
        body=graph_error(503, "serviceNotAvailable", "Service unavailable").body,
    )

    with pytest.raises(TransientError, match="delete authentication method failed with status 503"):
        entra.reset_mfa(user_id)
    # The onboarding pass stays listed, used up, until reset_mfa replaces it.
    assert fake_entra.method_types(user_id) == [FIDO2, AUTHENTICATOR, TEMPORARY_ACCESS_PASS_METHOD_TYPE]

    credential = entra.reset_mfa(user_id)

    assert fake_entra.method_types(user_id) == [TEMPORARY_ACCESS_PASS_METHOD_TYPE]
    fake_entra.sign_in(user_id, credential.value.get_secret_value())


def test_entra_reset_mfa_twice_replaces_pass(fake_entra: FakeEntra, entra: EntraProvider) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, SOFTWARE_OATH)

    first = entra.reset_mfa(user_id).value.get_secret_value()
    second = entra.reset_mfa(user_id).value.get_secret_value()

    assert fake_entra.method_types(user_id) == [TEMPORARY_ACCESS_PASS_METHOD_TYPE]
    with pytest.raises(PermissionError):
        fake_entra.sign_in(user_id, first)
    fake_entra.sign_in(user_id, second)


def test_entra_reset_mfa_unknown_type_deletes_nothing(
    fake_entra: FakeEntra, entra: EntraProvider
) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, FIDO2)
    fake_entra.add_method(user_id, "#microsoft.graph.hardwareOathAuthenticationMethod")

    with pytest.raises(IdentityProviderError, match="hardwareOathAuthenticationMethod") as raised:
        entra.reset_mfa(user_id)

    assert not isinstance(raised.value, TransientError)
    assert "admin center" in str(raised.value)
    assert FIDO2 in fake_entra.method_types(user_id)
    assert fake_entra.calls_to("DELETE", f"/v1.0/users/{user_id}/authentication/fido2") == []


def test_entra_reset_mfa_default_phone_is_rejected(
    fake_entra: FakeEntra, entra: EntraProvider
) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, FIDO2)
    fake_entra.add_method(user_id, PHONE_METHOD_TYPE, is_default=True)

    with pytest.raises(IdentityProviderError, match="default MFA method") as raised:
        entra.reset_mfa(user_id)

    assert "status 400" in str(raised.value)
    assert fake_entra.method_types(user_id) == [PHONE_METHOD_TYPE, TEMPORARY_ACCESS_PASS_METHOD_TYPE]
    # No new pass is issued: the onboarding pass is still the used-up one.
    assert not fake_entra.temporary_access_passes[user_id]["isUsable"]


@pytest.mark.parametrize(
    ("reset", "method", "path"),
    [
        ("issue_password_reset", "POST", "temporaryAccessPassMethods"),
        ("reset_mfa", "GET", "methods"),
    ],
)
def test_entra_reset_denied_is_not_transient(
    fake_entra: FakeEntra, entra: EntraProvider, reset: str, method: str, path: str
) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.inject_fault(
        method=method,
        path_prefix=f"/v1.0/users/{user_id}/authentication/{path}",
        status=403,
        body=graph_error(403, "Authorization_RequestDenied", "Insufficient privileges").body,
    )

    with pytest.raises(IdentityProviderError, match="status 403") as raised:
        getattr(entra, reset)(user_id)

    assert not isinstance(raised.value, TransientError)
    assert "Authorization_RequestDenied" in str(raised.value)


@pytest.mark.parametrize("reset", ["issue_password_reset", "reset_mfa"])
def test_entra_reset_5xx_is_transient(
    fake_entra: FakeEntra, entra: EntraProvider, reset: str
) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.inject_fault(
        method="POST",
        path_prefix=f"/v1.0/users/{user_id}/authentication/temporaryAccessPassMethods",
        status=500,
        body=graph_error(500, "generalException", "General exception").body,
    )

    with pytest.raises(TransientError, match="create temporary access pass failed with status 500"):
        getattr(entra, reset)(user_id)


def test_entra_reset_passes_not_logged(
    fake_entra: FakeEntra, entra: EntraProvider, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = active_user(fake_entra, entra)
    fake_entra.add_method(user_id, AUTHENTICATOR)
    caplog.set_level(logging.DEBUG)

    password_pass = entra.issue_password_reset(user_id)
    mfa_pass = entra.reset_mfa(user_id)
    fake_entra.inject_fault(method="GET", path_prefix=f"/v1.0/users/{user_id}", status=503, body={})
    with pytest.raises(TransientError) as raised:
        entra.reset_mfa(user_id)

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "entra password reset pass issued" in logged
    assert "entra authentication methods reset" in logged
    for credential in (password_pass, mfa_pass):
        passcode = credential.value.get_secret_value()
        assert passcode not in repr(credential)
        assert passcode not in credential.model_dump_json()
        assert passcode not in logged
        assert passcode not in str(raised.value)


def test_fake_entra_keeps_mobile_while_alternate_exists(
    fake_entra: FakeEntra, entra: EntraProvider
) -> None:
    user_id = active_user(fake_entra, entra)
    mobile_id = fake_entra.add_method(user_id, PHONE_METHOD_TYPE, phoneType="mobile")
    fake_entra.add_method(user_id, PHONE_METHOD_TYPE, phoneType="alternateMobile")

    response = requests.delete(
        f"{fake_entra.graph_url}/users/{user_id}/authentication/phoneMethods/{mobile_id}",
        headers={"Authorization": fake_entra.calls[-1].headers["authorization"]},
        verify=fake_entra.ca_bundle_path,
        timeout=5,
    )

    assert response.status_code == 400
    assert "alternateMobile" in response.json()["error"]["message"]
    assert fake_entra.method_types(user_id).count(PHONE_METHOD_TYPE) == 2
