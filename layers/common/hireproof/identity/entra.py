"""Microsoft Entra ID adapter: users and groups through Microsoft Graph v1.0.

Life cycle: stage_user creates the user with `accountEnabled: false` and a random password
that is generated here, sent once in the request body and never stored, logged or returned.
activate_user sets `accountEnabled: true`. issue_initial_credential creates a one-time
Temporary Access Pass, which the hire uses to register their own sign-in methods.
suspend_user and disable_user set `accountEnabled: false`: Entra ID has one switch for both.

Resets: issue_password_reset replaces the user's Temporary Access Pass with a new one-time
pass. The pass signs the user in once without their password, and the adapter does not
change the password itself. reset_mfa deletes every authentication method except the password and
then issues the same kind of pass, with which the user registers new methods.

Authentication: OAuth 2.0 client credentials with a client secret (client_secret_post) at
the tenant's v2.0 token endpoint, scope `https://graph.microsoft.com/.default`. The app
registration needs the application permissions User.ReadWrite.All,
GroupMember.ReadWrite.All and UserAuthenticationMethod.ReadWrite.All, and Temporary Access
Pass must be enabled in the tenant's authentication methods policy.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from typing import Any
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from oauthlib.oauth2 import OAuth2Error

from hireproof.errors import ConfigurationError, IdentityProviderError
from hireproof.identity._http import (
    DEFAULT_TIMEOUT,
    ProviderApiClient,
    json_body,
    path_segment,
    redact,
)
from hireproof.identity.base import (
    CredentialKind,
    InitialCredential,
    ProviderCapabilities,
    StagedUser,
    find_existing_user,
)

logger = Logger(child=True)

PROVIDER = "entra"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# Graph accepts 10 to 43200 minutes for a Temporary Access Pass; the tenant policy can narrow it.
DEFAULT_TAP_LIFETIME_MINUTES = 60
PASSWORD_LENGTH = 64
_MAIL_NICKNAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

# Graph @odata.type names of authentication methods, which are not secrets.
PASSWORD_METHOD_TYPE = "#microsoft.graph.passwordAuthenticationMethod"  # noqa: S105
TEMPORARY_ACCESS_PASS_METHOD_TYPE = (
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod"  # noqa: S105
)
PHONE_METHOD_TYPE = "#microsoft.graph.phoneAuthenticationMethod"
# The Graph v1.0 collection under /users/{id}/authentication that deletes each method type.
# A type missing here, such as one Graph offers only in beta, stops reset_mfa before it
# deletes anything, so that no unknown factor survives a reset unnoticed.
DELETABLE_METHOD_COLLECTIONS = {
    PHONE_METHOD_TYPE: "phoneMethods",
    "#microsoft.graph.emailAuthenticationMethod": "emailMethods",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2Methods",
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "#microsoft.graph.softwareOathAuthenticationMethod": "softwareOathMethods",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
    "#microsoft.graph.platformCredentialAuthenticationMethod": "platformCredentialMethods",
}
# Graph rejects deleting a mobile number while an alternateMobile number exists, so phones
# go last and the mobile number after the others.
_PHONE_DELETE_ORDER = {"alternateMobile": 0, "office": 1, "mobile": 2}


class EntraProvider:
    """IdentityProvider for a Microsoft Entra ID tenant."""

    name = PROVIDER
    capabilities = ProviderCapabilities(
        inactive_state=True,
        blocks_sign_in=True,
        revokes_sessions=True,
        resets_password=True,
        resets_mfa=True,
    )

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        tenant_id: str | None = None,
        token_url: str | None = None,
        graph_url: str = DEFAULT_GRAPH_URL,
        tap_lifetime_minutes: int = DEFAULT_TAP_LIFETIME_MINUTES,
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        """Configure the adapter; `token_url` defaults to the tenant's v2.0 token endpoint."""
        if not client_id or not client_secret:
            raise ConfigurationError(
                "entra needs the app registration's client_id and client_secret"
            )
        if token_url is None:
            if not tenant_id:
                raise ConfigurationError("entra needs tenant_id or token_url")
            token_url = f"https://login.microsoftonline.com/{quote(tenant_id)}/oauth2/v2.0/token"
        if not 10 <= tap_lifetime_minutes <= 43200:
            raise ConfigurationError(
                "entra Temporary Access Pass lifetime must be 10 to 43200 minutes"
            )
        self._graph_url = graph_url.rstrip("/")
        self._tap_lifetime_minutes = tap_lifetime_minutes
        self._api = ProviderApiClient(
            provider=PROVIDER,
            base_url=self._graph_url,
            client_id=client_id,
            token_url=token_url,
            scopes=[GRAPH_SCOPE],
            token_request_parameters=lambda: {"client_secret": client_secret},
            describe_error=_describe_error,
            describe_token_error=_describe_token_error,
            verify=verify,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ life cycle
    def stage_user(self, staged: StagedUser) -> str:
        """Create the user disabled, or return the id of the user that already has the name.

        The manager is set on every call, so a retry after a failed manager update sets it.
        """
        user_id = find_existing_user(self, staged)
        if user_id is not None:
            logger.info("entra user already exists", extra={"provider_user_id": user_id})
        else:
            user_id = self._create_user(staged)
        if staged.manager_email:
            self._set_manager(user_id, staged.manager_email)
        return user_id

    def activate_user(self, user_id: str) -> None:
        """Enable sign-in for the account."""
        self._set_account_enabled(user_id, enabled=True)
        logger.info("entra user activated", extra={"provider_user_id": user_id})

    def issue_initial_credential(self, user_id: str) -> InitialCredential:
        """Replace any Temporary Access Pass of the user with a new one-time pass."""
        credential = self._replace_temporary_access_pass(user_id)
        logger.info("entra temporary access pass issued", extra={"provider_user_id": user_id})
        return credential

    def suspend_user(self, user_id: str) -> None:
        """Disable sign-in for the account."""
        self._set_account_enabled(user_id, enabled=False)
        logger.info("entra user suspended", extra={"provider_user_id": user_id})

    def disable_user(self, user_id: str) -> None:
        """Disable sign-in for the account; the user is kept so that an admin can review it."""
        self._set_account_enabled(user_id, enabled=False)
        logger.info("entra user disabled", extra={"provider_user_id": user_id})

    def restore_user(self, user_id: str) -> None:
        """Enable sign-in for the account again; group memberships are untouched by Graph."""
        self._set_account_enabled(user_id, enabled=True)
        logger.info("entra user restored", extra={"provider_user_id": user_id})

    def revoke_sessions(self, user_id: str) -> None:
        """Invalidate the user's refresh tokens and session cookies (revokeSignInSessions)."""
        self._api.call(
            "POST",
            f"/users/{path_segment(user_id)}/revokeSignInSessions",
            operation="revoke sign-in sessions",
        )
        logger.info("entra sessions revoked", extra={"provider_user_id": user_id})

    def add_to_groups(self, user_id: str, group_names: list[str]) -> None:
        """Add the user as a member of each named group that they are not yet a member of."""
        group_ids = [self._group_id(name) for name in dict.fromkeys(group_names)]
        if not group_ids:
            return
        current = self._member_of(user_id, group_ids)
        for group_id in group_ids:
            if group_id in current:
                continue
            response = self._api.send(
                "POST",
                f"/groups/{path_segment(group_id)}/members/$ref",
                operation="add group member",
                json={"@odata.id": f"{self._graph_url}/directoryObjects/{user_id}"},
            )
            # Graph returns 400 when the membership already exists, which happens when a
            # parallel run added it after the check above.
            if response.status_code == 400 and group_id in self._member_of(user_id, [group_id]):
                continue
            self._api.check(response, "add group member")
            logger.info(
                "entra group member added",
                extra={"provider_user_id": user_id, "group_id": group_id},
            )

    def find_user_by_email(self, email: str) -> str | None:
        """Return the id of the user whose userPrincipalName, or failing that mail, is `email`."""
        email = email.lower()
        response = self._api.send(
            "GET", f"/users/{path_segment(email)}", operation="get user", params={"$select": "id"}
        )
        if response.status_code != 404:
            return str(self._api.check(response, "get user")["id"])

        found = self._api.call(
            "GET",
            "/users",
            operation="list users by mail",
            params={"$filter": f"mail eq '{_quote_odata(email)}'", "$select": "id"},
        )
        users = (found or {}).get("value", [])
        if not users:
            return None
        if len(users) > 1:
            logger.warning("entra mail matches several users", extra={"match_count": len(users)})
        return str(users[0]["id"])

    # ------------------------------------------------------------------ resets
    def issue_password_reset(self, user_id: str) -> InitialCredential:
        """Replace any Temporary Access Pass of the user with a new one-time pass.

        NOTE: the pass signs the user in once without their password but does not change
        it. The new password is set through Microsoft's own flows, such as self-service
        password reset, which HireProof does not drive.
        """
        credential = self._replace_temporary_access_pass(user_id)
        logger.info("entra password reset pass issued", extra={"provider_user_id": user_id})
        return credential

    def reset_mfa(self, user_id: str) -> InitialCredential:
        """Delete every authentication method but the password, then issue a one-time pass.

        NOTE: Graph does not delete the phone number that is the user's default MFA method,
        and the v1.0 API cannot change that default. Such a user gets IdentityProviderError
        after their other methods are gone, and an administrator removes the number.
        """
        methods = self._deletable_methods(user_id)
        for method in methods:
            self._delete_method(user_id, method)
        credential = self._replace_temporary_access_pass(user_id)
        logger.info(
            "entra authentication methods reset",
            extra={"provider_user_id": user_id, "removed_methods": len(methods)},
        )
        return credential

    # ------------------------------------------------------------------ helpers
    def _replace_temporary_access_pass(self, user_id: str) -> InitialCredential:
        methods_path = f"/users/{path_segment(user_id)}/authentication/temporaryAccessPassMethods"
        # Graph allows one Temporary Access Pass per user. Deleting the old one first also
        # means that a retried call hands out the only valid pass.
        existing = self._api.call("GET", methods_path, operation="list temporary access passes")
        for method in (existing or {}).get("value", []):
            self._api.call(
                "DELETE",
                f"{methods_path}/{path_segment(str(method['id']))}",
                operation="delete temporary access pass",
            )

        created = self._api.call(
            "POST",
            methods_path,
            operation="create temporary access pass",
            json={"isUsableOnce": True, "lifetimeInMinutes": self._tap_lifetime_minutes},
        )
        passcode = created.get("temporaryAccessPass") if isinstance(created, dict) else None
        if not passcode:
            raise IdentityProviderError("entra create temporary access pass returned no pass")
        return InitialCredential(
            kind=CredentialKind.TEMPORARY_ACCESS_PASS,
            value=passcode,
            expires_at=_tap_expiry(created, self._tap_lifetime_minutes),
        )

    def _deletable_methods(self, user_id: str) -> list[dict[str, Any]]:
        """List the user's methods to delete, in an order Graph accepts.

        The password is kept, and the Temporary Access Pass is left to
        _replace_temporary_access_pass. Raises IdentityProviderError before any deletion
        when a method has a type this adapter cannot delete.
        """
        listed = self._api.call(
            "GET",
            f"/users/{path_segment(user_id)}/authentication/methods",
            operation="list authentication methods",
        )
        methods = [
            method
            for method in (listed or {}).get("value", [])
            if method.get("@odata.type") not in (PASSWORD_METHOD_TYPE, TEMPORARY_ACCESS_PASS_METHOD_TYPE)
        ]
        unknown = sorted(
            {str(m.get("@odata.type")) for m in methods} - DELETABLE_METHOD_COLLECTIONS.keys()
        )
        if unknown:
            raise IdentityProviderError(
                f"entra reset MFA for {user_id} rejected: the adapter cannot delete methods of "
                f"type {', '.join(unknown)}; remove them in the Microsoft Entra admin center and "
                "retry"
            )
        return sorted(methods, key=_delete_order)

    def _delete_method(self, user_id: str, method: dict[str, Any]) -> None:
        method_type = str(method["@odata.type"])
        collection = DELETABLE_METHOD_COLLECTIONS[method_type]
        response = self._api.send(
            "DELETE",
            f"/users/{path_segment(user_id)}/authentication/{collection}/"
            f"{path_segment(str(method['id']))}",
            operation="delete authentication method",
        )
        # A retry after a partial failure finds some methods already deleted.
        if response.status_code == 404:
            return
        if response.status_code == 400 and method_type == PHONE_METHOD_TYPE:
            detail = _describe_error(response)
            raise IdentityProviderError(
                f"entra delete phone method of {user_id} was rejected with status 400 ({detail}); "
                "Graph keeps the phone number that is the user's default MFA method, so change "
                "the default or remove the number in the Microsoft Entra admin center and retry"
            )
        self._api.check(response, "delete authentication method")

    def _create_user(self, staged: StagedUser) -> str:
        body: dict[str, Any] = {
            "accountEnabled": False,
            "userPrincipalName": staged.user_name,
            "mail": staged.work_email,
            "mailNickname": _mail_nickname(staged.user_name),
            "displayName": staged.display_name,
            "givenName": staged.given_name,
            "surname": staged.family_name,
            "passwordProfile": {
                "forceChangePasswordNextSignIn": True,
                "password": _random_password(),
            },
        }
        if staged.department:
            body["department"] = staged.department

        response = self._api.send("POST", "/users", operation="create user", json=body)
        if response.status_code == 400:
            # A parallel run may have created the user between the lookup and this request;
            # Graph then rejects the duplicate userPrincipalName with Request_BadRequest.
            raced = find_existing_user(self, staged)
            if raced is not None:
                logger.info("entra user created concurrently", extra={"provider_user_id": raced})
                return raced
        created = self._api.check(response, "create user")
        user_id = str(created["id"])
        logger.info("entra user staged", extra={"provider_user_id": user_id})
        return user_id

    def _set_account_enabled(self, user_id: str, *, enabled: bool) -> None:
        self._api.call(
            "PATCH",
            f"/users/{path_segment(user_id)}",
            operation="update accountEnabled",
            json={"accountEnabled": enabled},
        )

    def _set_manager(self, user_id: str, manager_email: str) -> None:
        manager_id = self.find_user_by_email(manager_email)
        if manager_id is None:
            logger.info(
                "entra manager not found; manager left empty", extra={"provider_user_id": user_id}
            )
            return
        self._api.call(
            "PUT",
            f"/users/{path_segment(user_id)}/manager/$ref",
            operation="set manager",
            json={"@odata.id": f"{self._graph_url}/users/{manager_id}"},
        )

    def _group_id(self, group_name: str) -> str:
        found = self._api.call(
            "GET",
            "/groups",
            operation="list groups by displayName",
            params={
                "$filter": f"displayName eq '{_quote_odata(group_name)}'",
                "$select": "id,displayName",
            },
        )
        groups = (found or {}).get("value", [])
        if not groups:
            raise IdentityProviderError(
                f"entra group {group_name!r} not found; create it in Entra ID or fix the "
                "group mapping"
            )
        if len(groups) > 1:
            raise IdentityProviderError(
                f"entra group name {group_name!r} matches {len(groups)} groups"
            )
        return str(groups[0]["id"])

    def _member_of(self, user_id: str, group_ids: list[str]) -> set[str]:
        found = self._api.call(
            "POST",
            f"/users/{path_segment(user_id)}/checkMemberGroups",
            operation="check member groups",
            json={"groupIds": group_ids},
        )
        return {str(group_id) for group_id in (found or {}).get("value", [])}


def _random_password() -> str:
    """Generate a password that meets the Entra ID complexity rules.

    The password is sent once in the create request and never stored, logged or returned.
    """
    alphabet = string.ascii_letters + string.digits + "!#%*+-=?@^_~"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH))
        if (
            any(ch.islower() for ch in password)
            and any(ch.isupper() for ch in password)
            and any(ch.isdigit() for ch in password)
            and any(not ch.isalnum() for ch in password)
        ):
            return password


def _mail_nickname(user_name: str) -> str:
    """Derive mailNickname from the local part; Graph allows only ASCII without @ or spaces."""
    local_part = user_name.split("@", 1)[0]
    nickname = _MAIL_NICKNAME_UNSAFE.sub("", local_part)[:64]
    return nickname or "user"


def _delete_order(method: dict[str, Any]) -> int:
    if method.get("@odata.type") != PHONE_METHOD_TYPE:
        return 0
    return 1 + _PHONE_DELETE_ORDER.get(str(method.get("phoneType")), 0)


def _tap_expiry(created: dict[str, Any], default_lifetime: int) -> dt.datetime:
    lifetime = int(created.get("lifetimeInMinutes") or default_lifetime)
    start_text = created.get("startDateTime")
    start = dt.datetime.now(dt.UTC)
    if isinstance(start_text, str):
        try:
            start = dt.datetime.fromisoformat(start_text.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("entra startDateTime unreadable; expiry counted from now")
    return start + dt.timedelta(minutes=lifetime)


def _describe_error(response: requests.Response) -> str:
    """Name a Graph error: `code: message; request-id`."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no Graph error body"
    detail = f"{error.get('code', 'unknown')}: {redact(str(error.get('message', '')))}"
    inner = error.get("innerError")
    if isinstance(inner, dict) and inner.get("request-id"):
        detail += f"; request-id {inner['request-id']}"
    return detail


def _describe_token_error(error: OAuth2Error) -> str:
    # Entra error descriptions start with an AADSTS code and can name the tenant and app,
    # but never the secret.
    return f"{error.error}: {redact(error.description or '')}"


def _quote_odata(value: str) -> str:
    return value.replace("'", "''")
