"""The interface every identity provider adapter implements, and the values it exchanges.

An adapter creates the hire's account before verification in a state that grants no access,
and releases it only after the verification passed. For a person who passed a fresh
verification it also resets the password or the MFA factors and returns a one-time
credential. How far each provider supports all this is in its `capabilities`. Every method
is safe to retry: Step Functions retries `TransientError` (throttling, 5xx, timeouts) and
stops on `IdentityProviderError` (a 4xx that a retry will not fix) and on
`ResetNotSupportedError` (the provider's API has no such reset). Error messages name the
provider, the operation and the provider's error code. They contain no token, client secret
or credential, and e-mail addresses are removed from the provider's own error text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, EmailStr, SecretStr, StringConstraints, field_validator

from hireproof.models import Hire

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class StagedUser(BaseModel):
    """The account attributes HireProof sends to the identity provider."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_name: EmailStr
    given_name: NonEmpty
    family_name: NonEmpty
    display_name: NonEmpty
    work_email: EmailStr
    department: str | None = None
    manager_email: EmailStr | None = None

    @field_validator("user_name", "work_email", "manager_email")
    @classmethod
    def _lower_case(cls, value: str | None) -> str | None:
        # Okta, Entra ID and Identity Center compare sign-in names without case, so a
        # lower-case form keeps the existence check before create from missing a user.
        return value.lower() if value is not None else None

    @classmethod
    def from_hire(cls, hire: Hire) -> StagedUser:
        """Build the staged account of a hire; the sign-in name is the work e-mail."""
        given = hire.preferred_name or hire.legal_name.given
        return cls(
            user_name=hire.work_email,
            given_name=hire.legal_name.given,
            family_name=hire.legal_name.family,
            display_name=f"{given} {hire.legal_name.family}",
            work_email=hire.work_email,
            department=hire.department,
            manager_email=hire.manager_email,
        )


class CredentialKind(StrEnum):
    """Kinds of one-time credential a provider hands out, for a first sign-in or a reset."""

    ACTIVATION_LINK = "activation_link"
    """Okta activation URL; the hire sets a password and enrolls factors through it."""

    TEMPORARY_ACCESS_PASS = "temporary_access_pass"  # noqa: S105 - a kind name, not a secret
    """Microsoft Entra ID Temporary Access Pass; a time-limited passcode for first sign-in."""

    IDENTITY_CENTER_FIRST_SIGN_IN = "identity_center_first_sign_in"
    """IAM Identity Center user name; the value is not a secret, see IdentityCenterProvider."""

    PASSWORD_RESET_LINK = "password_reset_link"  # noqa: S105 - a kind name, not a secret
    """Okta one-time password reset URL, with which the user sets a new password and enrolls factors."""


class InitialCredential(BaseModel):
    """The first credential of an account, returned to the caller and nowhere else.

    `value` is a SecretStr so that repr(), str() and model_dump(mode="json") mask it; the caller
    reads it with `value.get_secret_value()` at the one place that hands it to the hire.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CredentialKind
    value: SecretStr
    expires_at: dt.datetime | None = None
    sign_in_url: str | None = None


@dataclass(frozen=True)
class ProviderCapabilities:
    """Limits of a provider's API, so that callers can add a compensating step where needed."""

    inactive_state: bool
    """stage_user creates an account that the provider itself refuses to sign in."""

    blocks_sign_in: bool
    """suspend_user and disable_user make the provider refuse sign-in."""

    revokes_sessions: bool
    """revoke_sessions ends the user's existing sessions at the provider."""

    resets_password: bool
    """issue_password_reset returns a one-time credential instead of raising ResetNotSupportedError."""

    resets_mfa: bool
    """reset_mfa removes the MFA factors instead of raising ResetNotSupportedError."""


@runtime_checkable
class IdentityProvider(Protocol):
    """An identity provider account life cycle: stage, activate, suspend, restore, disable, reset."""

    name: str
    capabilities: ProviderCapabilities

    def stage_user(self, staged: StagedUser) -> str:
        """Create the account inactive and return its provider user id.

        Idempotent: when a user with the same user name or work e-mail exists, return its id
        and create nothing.
        """
        ...

    def activate_user(self, user_id: str) -> None:
        """Allow the account to sign in; a no-op when it already can."""
        ...

    def issue_initial_credential(self, user_id: str) -> InitialCredential:
        """Create the first credential of an activated account and return it.

        The credential is never logged or sent anywhere by the adapter. Calling this again
        replaces the previous credential where the provider allows it.
        """
        ...

    def suspend_user(self, user_id: str) -> None:
        """Block the account temporarily; restore_user undoes it.

        Existing sessions are left alone: call revoke_sessions to end them.
        """
        ...

    def disable_user(self, user_id: str) -> None:
        """Block the account for good, for a failed or withdrawn hire."""
        ...

    def restore_user(self, user_id: str) -> None:
        """Undo suspend_user or disable_user as far as the provider allows.

        Group memberships are not guaranteed to survive, so call add_to_groups again after it.
        """
        ...

    def revoke_sessions(self, user_id: str) -> None:
        """End the user's sessions at the provider, so the next request needs a new sign-in."""
        ...

    def add_to_groups(self, user_id: str, group_names: list[str]) -> None:
        """Add the user to existing groups by name; existing memberships are kept as they are."""
        ...

    def find_user_by_email(self, email: str) -> str | None:
        """Return the id of the user whose sign-in name or e-mail is `email`, or None."""
        ...

    def issue_password_reset(self, user_id: str) -> InitialCredential:
        """Create a one-time credential with which the user sets a new password, and return it.

        The provider sends no e-mail: the caller shows the credential once to the person who
        just passed verification. The adapter never logs it. Calling this again replaces the
        previous credential where the provider allows it. Existing sessions are left alone:
        call revoke_sessions to end them. Raises ResetNotSupportedError when
        `capabilities.resets_password` is False.
        """
        ...

    def reset_mfa(self, user_id: str) -> InitialCredential:
        """Remove every MFA factor of the user and return a one-time credential to enroll anew.

        The password is never removed as a factor. A retry after a partial failure removes
        the factors that are left and replaces the credential. Existing sessions are left
        alone: call revoke_sessions to end them. Raises ResetNotSupportedError when
        `capabilities.resets_mfa` is False.
        """
        ...


def find_existing_user(provider: IdentityProvider, staged: StagedUser) -> str | None:
    """Return the id of the user that has the staged user name or work e-mail, or None."""
    found = provider.find_user_by_email(staged.user_name)
    if found is None and staged.work_email != staged.user_name:
        found = provider.find_user_by_email(staged.work_email)
    return found
