"""IdentityCenterProvider against moto's identitystore, in process, and botocore's Stubber."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from hireproof.errors import IdentityProviderError, ResetNotSupportedError, TransientError
from hireproof.http_errors import status_for
from hireproof.identity import CredentialKind, IdentityProvider, StagedUser
from hireproof.identity.identity_center import IdentityCenterProvider

STORE_ID = "d-1234567890"
PORTAL_URL = "https://d-1234567890.awsapps.com/start"
JANE = StagedUser(
    user_name="jane.doe@example.com",
    given_name="Jane",
    family_name="Doe",
    display_name="Jane Doe",
    work_email="jane.doe@example.com",
    department="Engineering",
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def client(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("identitystore", region_name="us-east-1")


@pytest.fixture
def center(client: Any) -> IdentityCenterProvider:
    return IdentityCenterProvider(client=client, identity_store_id=STORE_ID, portal_url=PORTAL_URL)


def add_group(client: Any, name: str) -> str:
    return str(client.create_group(IdentityStoreId=STORE_ID, DisplayName=name)["GroupId"])


def group_ids_of(client: Any, user_id: str) -> set[str]:
    response = client.list_group_memberships_for_member(
        IdentityStoreId=STORE_ID, MemberId={"UserId": user_id}
    )
    return {membership["GroupId"] for membership in response["GroupMemberships"]}


def test_identity_center_matches_interface(center: IdentityCenterProvider) -> None:
    assert isinstance(center, IdentityProvider)
    assert not center.capabilities.inactive_state
    assert not center.capabilities.blocks_sign_in
    assert not center.capabilities.revokes_sessions
    assert not center.capabilities.resets_password
    assert not center.capabilities.resets_mfa


def test_identity_center_full_lifecycle(client: Any, center: IdentityCenterProvider) -> None:
    engineering = add_group(client, "engineering")
    verified = add_group(client, "hireproof-verified")

    user_id = center.stage_user(JANE)
    user = client.describe_user(IdentityStoreId=STORE_ID, UserId=user_id)
    assert user["UserName"] == "jane.doe@example.com"
    assert user["DisplayName"] == "Jane Doe"
    assert user["Name"]["GivenName"] == "Jane"
    assert user["Emails"] == [{"Value": "jane.doe@example.com", "Type": "work", "Primary": True}]
    assert group_ids_of(client, user_id) == set()

    center.activate_user(user_id)
    assert group_ids_of(client, user_id) == set()

    credential = center.issue_initial_credential(user_id)
    assert credential.kind is CredentialKind.IDENTITY_CENTER_FIRST_SIGN_IN
    assert credential.value.get_secret_value() == "jane.doe@example.com"
    assert credential.expires_at is None
    assert credential.sign_in_url == PORTAL_URL

    center.add_to_groups(user_id, ["engineering", "hireproof-verified"])
    assert group_ids_of(client, user_id) == {engineering, verified}

    center.suspend_user(user_id)
    assert group_ids_of(client, user_id) == set()

    center.restore_user(user_id)
    assert group_ids_of(client, user_id) == set()
    center.add_to_groups(user_id, ["engineering"])
    assert group_ids_of(client, user_id) == {engineering}

    center.disable_user(user_id)
    assert group_ids_of(client, user_id) == set()


def test_identity_center_stage_twice_creates_one_user(
    client: Any, center: IdentityCenterProvider
) -> None:
    first = center.stage_user(JANE)
    second = center.stage_user(JANE.model_copy(update={"display_name": "Jane Q. Doe"}))

    assert first == second
    assert len(client.list_users(IdentityStoreId=STORE_ID)["Users"]) == 1


def test_identity_center_stage_finds_user_by_email(
    client: Any, center: IdentityCenterProvider
) -> None:
    existing = center.stage_user(JANE.model_copy(update={"user_name": "jdoe@example.com"}))

    assert center.stage_user(JANE) == existing
    assert len(client.list_users(IdentityStoreId=STORE_ID)["Users"]) == 1


def test_identity_center_add_to_groups_is_idempotent(
    client: Any, center: IdentityCenterProvider
) -> None:
    add_group(client, "engineering")
    user_id = center.stage_user(JANE)

    center.add_to_groups(user_id, ["engineering", "engineering"])
    center.add_to_groups(user_id, ["engineering"])

    memberships = client.list_group_memberships_for_member(
        IdentityStoreId=STORE_ID, MemberId={"UserId": user_id}
    )["GroupMemberships"]
    assert len(memberships) == 1


def test_identity_center_add_to_unknown_group(center: IdentityCenterProvider) -> None:
    user_id = center.stage_user(JANE)

    with pytest.raises(IdentityProviderError, match="'engineering' not found"):
        center.add_to_groups(user_id, ["engineering"])


def test_identity_center_find_user_by_email(center: IdentityCenterProvider) -> None:
    user_id = center.stage_user(JANE)

    assert center.find_user_by_email("Jane.Doe@Example.com") == user_id
    assert center.find_user_by_email("nobody@example.com") is None


def test_identity_center_unknown_user_is_rejected(center: IdentityCenterProvider) -> None:
    with pytest.raises(IdentityProviderError, match="ResourceNotFoundException"):
        center.activate_user("a1b2c3d4-5678-90ab-cdef-000000000000")


def test_identity_center_revoke_sessions_warns(
    center: IdentityCenterProvider, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = center.stage_user(JANE)
    caplog.set_level(logging.INFO)

    center.revoke_sessions(user_id)

    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warnings] == [
        "identity center sessions cannot be revoked through the API"
    ]
    assert warnings[0].__dict__["provider_user_id"] == user_id


# ---------------------------------------------------------------- stubbed responses
@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[IdentityCenterProvider, Stubber]]:
    stub_client = boto3.client("identitystore", region_name="us-east-1")
    with Stubber(stub_client) as stubber:
        yield IdentityCenterProvider(client=stub_client, identity_store_id=STORE_ID), stubber
        stubber.assert_no_pending_responses()


def user_identity(user_id: str) -> dict[str, str]:
    return {
        "IdentityStoreId": STORE_ID,
        "UserId": user_id,
        "UserArn": f"arn:aws:identitystore:::user/{user_id}",
    }


def expect_user_not_found(stubber: Stubber, count: int) -> None:
    for _ in range(count):
        stubber.add_client_error(
            "get_user_id", service_error_code="ResourceNotFoundException", http_status_code=404
        )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, TransientError),
        ("InternalServerException", 500, TransientError),
        ("ValidationException", 400, IdentityProviderError),
        ("AccessDeniedException", 403, IdentityProviderError),
    ],
)
def test_identity_center_error_mapping(
    stubbed: tuple[IdentityCenterProvider, Stubber],
    code: str,
    status: int,
    expected: type[Exception],
) -> None:
    center, stubber = stubbed
    expect_user_not_found(stubber, 2)
    stubber.add_client_error(
        "create_user",
        service_error_code=code,
        service_message="Rejected jane.doe@example.com",
        http_status_code=status,
    )
    if expected is IdentityProviderError:
        # A rejected create is followed by one more lookup for a concurrent create.
        expect_user_not_found(stubber, 2)

    with pytest.raises(expected) as raised:
        center.stage_user(JANE)

    assert type(raised.value) is expected
    assert code in str(raised.value)
    assert "jane.doe@example.com" not in str(raised.value)


def test_identity_center_stage_race_returns_existing_user(
    stubbed: tuple[IdentityCenterProvider, Stubber],
) -> None:
    center, stubber = stubbed
    expect_user_not_found(stubber, 2)
    stubber.add_client_error(
        "create_user",
        service_error_code="ConflictException",
        service_message="Duplicate UserName",
        http_status_code=409,
    )
    stubber.add_response("get_user_id", user_identity("a1b2c3d4-5678-90ab-cdef-111111111111"))

    assert center.stage_user(JANE) == "a1b2c3d4-5678-90ab-cdef-111111111111"


def test_identity_center_disabled_user_is_rejected(
    stubbed: tuple[IdentityCenterProvider, Stubber],
) -> None:
    center, stubber = stubbed
    user_id = "a1b2c3d4-5678-90ab-cdef-111111111111"
    stubber.add_response(
        "describe_user",
        {
            **user_identity(user_id),
            "Revision": "1",
            "UserName": "jane.doe@example.com",
            "UserStatus": "DISABLED",
        },
    )

    with pytest.raises(IdentityProviderError, match="DISABLED"):
        center.activate_user(user_id)


def test_identity_center_network_error_is_transient(aws_env: None) -> None:
    class UnreachableClient:
        def get_user_id(self, **_kwargs: Any) -> Any:
            raise EndpointConnectionError(
                endpoint_url="https://identitystore.us-east-1.amazonaws.com"
            )

    center = IdentityCenterProvider(client=UnreachableClient(), identity_store_id=STORE_ID)

    with pytest.raises(TransientError, match="EndpointConnectionError"):
        center.find_user_by_email(JANE.user_name)


@pytest.mark.parametrize(
    ("reset", "console_step"),
    [("issue_password_reset", "Reset password"), ("reset_mfa", "MFA devices")],
)
def test_identity_center_reset_not_supported(
    stubbed: tuple[IdentityCenterProvider, Stubber],
    caplog: pytest.LogCaptureFixture,
    reset: str,
    console_step: str,
) -> None:
    # The Stubber has no queued responses, so any AWS call would fail the test.
    center, _stubber = stubbed
    caplog.set_level(logging.INFO)

    with pytest.raises(ResetNotSupportedError, match=console_step) as raised:
        getattr(center, reset)("a1b2c3d4-5678-90ab-cdef-111111111111")

    assert status_for(raised.value) == 501
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].__dict__["provider_user_id"] == "a1b2c3d4-5678-90ab-cdef-111111111111"
