"""AWS IAM Identity Center adapter, through the Identity Store API (boto3 `identitystore`).

The Identity Store API has no way to create a user that cannot sign in, nor to disable one,
nor to end a user's sessions. DescribeUser reports `UserStatus` (ENABLED or DISABLED), but
the status changes only in the IAM Identity Center console ("Disable user access"), and
active sessions are deleted only there too. So this adapter models the life cycle as:

- inactive: the user exists with no group memberships, so no account assignment or
  application assignment made to a group reaches them;
- active: the user is added to the groups of their department (add_to_groups);
- suspended and disabled: every group membership is removed.

`capabilities` and the NOTEs at suspend_user and revoke_sessions state what that leaves
open. The user can sign in to the AWS access portal from creation on, and the portal lists
no accounts or applications until a group grants them. Assignments made to the user
directly, outside groups, are not touched.

The first credential: users made with CreateUser have no password. When the instance's
"Send email OTP" setting (Settings, Authentication, Standard authentication) is on, IAM
Identity Center e-mails the user a one-time password at their first sign-in attempt and they
set a password. When it is off, an administrator must generate a one-time password in the
console. Either way HireProof never receives a secret: issue_initial_credential returns the
access portal user name, of kind `identity_center_first_sign_in`.

Resets: neither the Identity Store API nor the IAM Identity Center admin API (`sso-admin`)
has an operation that resets a user's password or removes their MFA devices (checked
against the botocore 1.44 service models). AWS documents both as console procedures
(Users, then Reset password or MFA devices). issue_password_reset and reset_mfa therefore
raise ResetNotSupportedError, and `capabilities` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from hireproof.errors import (
    ConfigurationError,
    IdentityProviderError,
    ResetNotSupportedError,
    TransientError,
)
from hireproof.identity._http import redact
from hireproof.identity.base import (
    CredentialKind,
    InitialCredential,
    ProviderCapabilities,
    StagedUser,
    find_existing_user,
)

logger = Logger(child=True)

PROVIDER = "identity_center"

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "InternalServerException",
        "ServiceUnavailableException",
        "RequestTimeout",
    }
)
_TRANSIENT_BOTOCORE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)

_Result = TypeVar("_Result")


class IdentityCenterProvider:
    """IdentityProvider for the identity store of an IAM Identity Center instance."""

    name = PROVIDER
    capabilities = ProviderCapabilities(
        inactive_state=False,
        blocks_sign_in=False,
        revokes_sessions=False,
        resets_password=False,
        resets_mfa=False,
    )

    def __init__(
        self, *, client: Any, identity_store_id: str, portal_url: str | None = None
    ) -> None:
        """Configure the adapter.

        `client` is a boto3 `identitystore` client; `portal_url` is the AWS access portal URL
        (https://d-xxxxxxxxxx.awsapps.com/start, or the instance's alias) given to the hire.
        """
        if not identity_store_id:
            raise ConfigurationError("identity_center needs the identity store id (d-xxxxxxxxxx)")
        self._client = client
        self._store_id = identity_store_id
        self._portal_url = portal_url or None

    # ------------------------------------------------------------------ life cycle
    def stage_user(self, staged: StagedUser) -> str:
        """Create the user with no group memberships, or return the existing user's id."""
        existing = find_existing_user(self, staged)
        if existing is not None:
            logger.info("identity center user already exists", extra={"provider_user_id": existing})
            return existing

        try:
            user_id = self._aws(
                "create user",
                lambda: self._client.create_user(
                    IdentityStoreId=self._store_id,
                    UserName=staged.user_name,
                    DisplayName=staged.display_name,
                    Name={
                        "GivenName": staged.given_name,
                        "FamilyName": staged.family_name,
                        "Formatted": staged.display_name,
                    },
                    Emails=[{"Value": staged.work_email, "Type": "work", "Primary": True}],
                )["UserId"],
            )
        except IdentityProviderError:
            # A parallel run may have created the user between the lookup and this request;
            # the store then rejects the duplicate UserName with ConflictException.
            raced = find_existing_user(self, staged)
            if raced is None:
                raise
            logger.info(
                "identity center user created concurrently", extra={"provider_user_id": raced}
            )
            return raced
        logger.info("identity center user staged", extra={"provider_user_id": user_id})
        return str(user_id)

    def activate_user(self, user_id: str) -> None:
        """Check that the user exists and is not disabled; group membership grants the access.

        Raises IdentityProviderError when the console disabled the user, because the API
        cannot enable them again.
        """
        self._require_enabled(user_id, "activate user")
        logger.info(
            "identity center has no inactive state; access follows group membership",
            extra={"provider_user_id": user_id},
        )

    def issue_initial_credential(self, user_id: str) -> InitialCredential:
        """Return the access portal user name; IAM Identity Center handles the first password."""
        user = self._describe_user(user_id, "describe user")
        return InitialCredential(
            kind=CredentialKind.IDENTITY_CENTER_FIRST_SIGN_IN,
            value=str(user["UserName"]),
            expires_at=None,
            sign_in_url=self._portal_url,
        )

    def suspend_user(self, user_id: str) -> None:
        """Remove every group membership of the user.

        NOTE: the user can still sign in to the AWS access portal, because the API cannot
        block sign-in. Permission sets or applications assigned to the user directly stay.
        """
        removed = self._remove_all_memberships(user_id)
        logger.info(
            "identity center user suspended by removing group memberships",
            extra={"provider_user_id": user_id, "removed_memberships": removed},
        )

    def disable_user(self, user_id: str) -> None:
        """Remove every group membership of the user; sign-in stays possible, see suspend_user."""
        removed = self._remove_all_memberships(user_id)
        logger.info(
            "identity center user disabled by removing group memberships",
            extra={"provider_user_id": user_id, "removed_memberships": removed},
        )

    def restore_user(self, user_id: str) -> None:
        """Check that the user can be used again; the caller adds the groups back.

        Memberships removed by suspend_user are not remembered here, so add_to_groups must
        follow with the groups the user should have now.
        """
        self._require_enabled(user_id, "restore user")
        logger.info("identity center user restorable", extra={"provider_user_id": user_id})

    def revoke_sessions(self, user_id: str) -> None:
        """Log that sessions cannot be revoked through the API; no call is made.

        NOTE: access portal sessions end only when an administrator deletes them in the
        console (Users, Active sessions) or when they expire. Role sessions already started
        from the portal last until their permission set's session duration ends.
        """
        self._describe_user(user_id, "describe user")
        logger.warning(
            "identity center sessions cannot be revoked through the API",
            extra={"provider_user_id": user_id},
        )

    def add_to_groups(self, user_id: str, group_names: list[str]) -> None:
        """Add the user to each named group that they are not yet a member of."""
        for group_name in dict.fromkeys(group_names):
            group_id = self._group_id(group_name)
            if self._membership_id(group_id, user_id) is not None:
                continue
            try:
                self._aws(
                    "create group membership",
                    partial(
                        self._client.create_group_membership,
                        IdentityStoreId=self._store_id,
                        GroupId=group_id,
                        MemberId={"UserId": user_id},
                    ),
                )
            except IdentityProviderError:
                # A parallel run may have added the membership after the check above, which
                # the store rejects as a conflict.
                if self._membership_id(group_id, user_id) is None:
                    raise
            logger.info(
                "identity center group membership added",
                extra={"provider_user_id": user_id, "group_id": group_id},
            )

    def find_user_by_email(self, email: str) -> str | None:
        """Return the id of the user whose UserName, or failing that whose e-mail, is `email`."""
        email = email.lower()
        for path in ("userName", "emails.value"):
            user_id = self._user_id_by(path, email)
            if user_id is not None:
                return user_id
        return None

    # ------------------------------------------------------------------ resets
    def issue_password_reset(self, user_id: str) -> InitialCredential:
        """Raise ResetNotSupportedError: only the console resets an Identity Center password."""
        logger.warning(
            "identity center password reset is not available through the API",
            extra={"provider_user_id": user_id},
        )
        raise ResetNotSupportedError(
            "identity_center cannot reset a password through its API; an administrator resets "
            "it in the IAM Identity Center console (Users, Reset password)"
        )

    def reset_mfa(self, user_id: str) -> InitialCredential:
        """Raise ResetNotSupportedError: only the console removes a user's MFA devices."""
        logger.warning(
            "identity center MFA reset is not available through the API",
            extra={"provider_user_id": user_id},
        )
        raise ResetNotSupportedError(
            "identity_center cannot remove MFA devices through its API; an administrator "
            "deletes them in the IAM Identity Center console (Users, MFA devices)"
        )

    # ------------------------------------------------------------------ helpers
    def _user_id_by(self, attribute_path: str, value: str) -> str | None:
        response = self._lookup(
            "get user id",
            partial(
                self._client.get_user_id,
                IdentityStoreId=self._store_id,
                AlternateIdentifier={
                    "UniqueAttribute": {"AttributePath": attribute_path, "AttributeValue": value}
                },
            ),
        )
        return None if response is None else str(response["UserId"])

    def _describe_user(self, user_id: str, operation: str) -> dict[str, Any]:
        return self._aws(
            operation,
            lambda: self._client.describe_user(IdentityStoreId=self._store_id, UserId=user_id),
        )

    def _require_enabled(self, user_id: str, operation: str) -> None:
        user = self._describe_user(user_id, operation)
        if user.get("UserStatus") == "DISABLED":
            raise IdentityProviderError(
                f"identity_center {operation} {user_id} rejected: the user is DISABLED; enable "
                "user access in the IAM Identity Center console, the API cannot"
            )

    def _group_id(self, group_name: str) -> str:
        response = self._lookup(
            "get group id",
            partial(
                self._client.get_group_id,
                IdentityStoreId=self._store_id,
                AlternateIdentifier={
                    "UniqueAttribute": {
                        "AttributePath": "displayName",
                        "AttributeValue": group_name,
                    }
                },
            ),
        )
        if response is None:
            raise IdentityProviderError(
                f"identity_center group {group_name!r} not found; create it in the identity "
                "store or fix the group mapping"
            )
        return str(response["GroupId"])

    def _membership_id(self, group_id: str, user_id: str) -> str | None:
        response = self._lookup(
            "get group membership id",
            partial(
                self._client.get_group_membership_id,
                IdentityStoreId=self._store_id,
                GroupId=group_id,
                MemberId={"UserId": user_id},
            ),
        )
        return None if response is None else str(response["MembershipId"])

    def _lookup(self, operation: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """Run a Get...Id call; return None when the store has no such resource."""
        try:
            return call()
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return None
            raise _mapped(exc, operation) from exc
        except BotoCoreError as exc:
            raise _mapped(exc, operation) from exc

    def _remove_all_memberships(self, user_id: str) -> int:
        self._describe_user(user_id, "describe user")
        paginator = self._client.get_paginator("list_group_memberships_for_member")
        membership_ids: list[str] = self._aws(
            "list group memberships",
            lambda: [
                membership["MembershipId"]
                for page in paginator.paginate(
                    IdentityStoreId=self._store_id, MemberId={"UserId": user_id}
                )
                for membership in page["GroupMemberships"]
            ],
        )
        for membership_id in membership_ids:
            self._aws(
                "delete group membership",
                partial(
                    self._client.delete_group_membership,
                    IdentityStoreId=self._store_id,
                    MembershipId=membership_id,
                ),
            )
        return len(membership_ids)

    def _aws(self, operation: str, call: Callable[[], _Result]) -> _Result:
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            raise _mapped(exc, operation) from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _mapped(exc: ClientError | BotoCoreError, operation: str) -> Exception:
    """Return the HireProof error for a botocore error."""
    if isinstance(exc, NoCredentialsError):
        return ConfigurationError(f"identity_center {operation}: no AWS credentials found")
    if isinstance(exc, BotoCoreError):
        if isinstance(exc, _TRANSIENT_BOTOCORE):
            return TransientError(f"identity_center {operation} failed: {type(exc).__name__}")
        return IdentityProviderError(f"identity_center {operation} failed: {type(exc).__name__}")

    code = _error_code(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = redact(str(exc.response.get("Error", {}).get("Message", "")))
    detail = f"{code}: {message}" if message else code
    if code in _TRANSIENT_CODES or status == 429 or status >= 500:
        return TransientError(f"identity_center {operation} failed ({detail})")
    return IdentityProviderError(f"identity_center {operation} was rejected ({detail})")
