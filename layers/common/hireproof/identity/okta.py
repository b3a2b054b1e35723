"""Okta adapter: the Users API life cycle, called with OAuth 2.0 for Okta from a service app.

Life cycle (Okta user statuses): stage_user creates the user with `activate=false`, which
leaves it STAGED. activate_user calls `lifecycle/activate?sendEmail=false`, which moves a
user without a password to PROVISIONED. issue_initial_credential calls
`lifecycle/reactivate?sendEmail=false` on the PROVISIONED user, which returns a new activation
URL and invalidates the previous one, so Okta sends no e-mail and the URL reaches only the
caller. The hire's user becomes ACTIVE when they complete activation through the URL.

Resets: issue_password_reset calls `lifecycle/reset_password?sendEmail=false`, which returns
a one-time reset URL and moves the user to RECOVERY, where Okta refuses sign-in until the
reset is completed. reset_mfa unenrolls every factor through the Factors API and then issues
the same reset URL, through which the user sets a new password and enrolls the factors that
the org's enrollment policy requires. The Factors API could enroll a factor instead, but
only one of a type the caller chooses, not the user.

Authentication: Okta documents private_key_jwt as the only client authentication for
service apps that request access tokens with Okta scopes, so a client secret is not
accepted here. The client assertion is an RS256 JWT with iss and sub equal to the client id
and aud equal to the token URL, valid for five minutes (Okta allows at most one hour).
The default scopes are okta.users.manage and okta.groups.manage.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
import requests
from aws_lambda_powertools import Logger
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
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

PROVIDER = "okta"
# NOTE: the scope that DELETE /api/v1/users/{id}/sessions needs is assumed to be
# okta.users.manage; an org that requires okta.sessions.manage can add it in the secret.
DEFAULT_SCOPES = ("okta.users.manage", "okta.groups.manage")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_LIFETIME_SECONDS = 300

# Statuses in which the user can sign in or finish signing in.
_SIGN_IN_STATUSES = frozenset({"ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"})
# Factor types whose phone number is also a recovery method. removeRecoveryEnrollment=true
# removes both, so that a phone an attacker registered cannot recover the account either.
_PHONE_FACTOR_TYPES = frozenset({"sms", "call"})


class OktaProvider:
    """IdentityProvider for an Okta org."""

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
        org_url: str,
        client_id: str,
        private_key: str,
        key_id: str | None = None,
        token_url: str | None = None,
        scopes: list[str] | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        """Configure the adapter.

        `private_key` is the service app's RSA private key as PEM or as a JWK in JSON; the
        JWK's `kid` is used when `key_id` is not given. `token_url` defaults to the org
        authorization server, `{org_url}/oauth2/v1/token`.
        """
        if not org_url or not client_id:
            raise ConfigurationError("okta needs the org URL and the service app client id")
        self._org_url = org_url.rstrip("/")
        self._client_id = client_id
        self._token_url = token_url or f"{self._org_url}/oauth2/v1/token"
        self._private_key, jwk_key_id = _load_private_key(private_key)
        self._key_id = key_id or jwk_key_id
        self._api = ProviderApiClient(
            provider=PROVIDER,
            base_url=self._org_url,
            client_id=client_id,
            token_url=self._token_url,
            scopes=list(scopes or DEFAULT_SCOPES),
            token_request_parameters=self._client_assertion_parameters,
            describe_error=_describe_error,
            describe_token_error=_describe_token_error,
            verify=verify,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ life cycle
    def stage_user(self, staged: StagedUser) -> str:
        """Create the user STAGED, or return the id of the user that already has the login."""
        existing = find_existing_user(self, staged)
        if existing is not None:
            logger.info("okta user already exists", extra={"provider_user_id": existing})
            return existing

        profile: dict[str, str] = {
            "login": staged.user_name,
            "email": staged.work_email,
            "firstName": staged.given_name,
            "lastName": staged.family_name,
            "displayName": staged.display_name,
        }
        if staged.department:
            profile["department"] = staged.department
        if staged.manager_email:
            manager_id = self.find_user_by_email(staged.manager_email)
            if manager_id is not None:
                profile["managerId"] = manager_id

        response = self._api.send(
            "POST",
            "/api/v1/users",
            operation="create user",
            params={"activate": "false"},
            json={"profile": profile},
        )
        if response.status_code == 400:
            # A parallel run may have created the user between the lookup and this request;
            # Okta then rejects the duplicate login with E0000001.
            raced = find_existing_user(self, staged)
            if raced is not None:
                logger.info("okta user created concurrently", extra={"provider_user_id": raced})
                return raced
        body = self._api.check(response, "create user")
        user_id = str(body["id"])
        logger.info(
            "okta user staged", extra={"provider_user_id": user_id, "status": body.get("status")}
        )
        return user_id

    def activate_user(self, user_id: str) -> None:
        """Activate a STAGED or DEPROVISIONED user without an e-mail; it becomes PROVISIONED."""
        status = self._status(user_id)
        if status in ("STAGED", "DEPROVISIONED"):
            # The activation URL in this response is discarded unread: issue_initial_credential
            # replaces it with a new one when the hire is ready to receive it.
            self._api.call(
                "POST",
                f"/api/v1/users/{path_segment(user_id)}/lifecycle/activate",
                operation="activate user",
                params={"sendEmail": "false"},
            )
            logger.info("okta user activated", extra={"provider_user_id": user_id})
            return
        if status == "SUSPENDED":
            raise IdentityProviderError(
                f"okta activate user {user_id} rejected: the user is SUSPENDED; call restore_user"
            )
        logger.info(
            "okta user already activated", extra={"provider_user_id": user_id, "status": status}
        )

    def issue_initial_credential(self, user_id: str) -> InitialCredential:
        """Return a new activation URL for a PROVISIONED user; the previous URL stops working."""
        status = self._status(user_id)
        if status != "PROVISIONED":
            raise IdentityProviderError(
                f"okta issue initial credential for {user_id} rejected: the user is {status}, "
                "and only a PROVISIONED user has an activation link; call activate_user first "
                "or, for a user who already finished activation, reset the password in Okta"
            )
        body = self._api.call(
            "POST",
            f"/api/v1/users/{path_segment(user_id)}/lifecycle/reactivate",
            operation="reactivate user",
            params={"sendEmail": "false"},
        )
        activation_url = body.get("activationUrl") if isinstance(body, dict) else None
        if not activation_url:
            raise IdentityProviderError("okta reactivate user returned no activationUrl")
        logger.info("okta activation link issued", extra={"provider_user_id": user_id})
        # Okta does not return the link's expiry, which an org setting governs, so
        # expires_at stays empty.
        return InitialCredential(
            kind=CredentialKind.ACTIVATION_LINK,
            value=activation_url,
            expires_at=None,
            sign_in_url=self._org_url,
        )

    def suspend_user(self, user_id: str) -> None:
        """Suspend an ACTIVE user; deactivate a user who has not finished activation yet."""
        status = self._status(user_id)
        if status == "ACTIVE":
            self._lifecycle(user_id, "suspend", "suspend user")
        elif status == "PROVISIONED" or status in _SIGN_IN_STATUSES:
            # Okta suspends only ACTIVE users; deactivation is the block that exists for the
            # others, and restore_user activates them again.
            self._lifecycle(user_id, "deactivate", "deactivate user", params={"sendEmail": "false"})
        logger.info(
            "okta user suspended", extra={"provider_user_id": user_id, "previous_status": status}
        )

    def disable_user(self, user_id: str) -> None:
        """Deactivate the user (DEPROVISIONED) without an e-mail; a no-op when already done."""
        status = self._status(user_id)
        if status != "DEPROVISIONED":
            self._lifecycle(user_id, "deactivate", "deactivate user", params={"sendEmail": "false"})
        logger.info(
            "okta user disabled", extra={"provider_user_id": user_id, "previous_status": status}
        )

    def restore_user(self, user_id: str) -> None:
        """Unsuspend a SUSPENDED user, or activate a DEPROVISIONED one again.

        A user restored from DEPROVISIONED is PROVISIONED and needs a new activation link
        from issue_initial_credential.
        """
        status = self._status(user_id)
        if status == "SUSPENDED":
            self._lifecycle(user_id, "unsuspend", "unsuspend user")
        elif status == "DEPROVISIONED":
            self._lifecycle(user_id, "activate", "activate user", params={"sendEmail": "false"})
        logger.info(
            "okta user restored", extra={"provider_user_id": user_id, "previous_status": status}
        )

    def revoke_sessions(self, user_id: str) -> None:
        """Clear the user's Okta sessions and the OAuth tokens Okta issued to them."""
        self._api.call(
            "DELETE",
            f"/api/v1/users/{path_segment(user_id)}/sessions",
            operation="clear user sessions",
            params={"oauthTokens": "true"},
        )
        logger.info("okta sessions revoked", extra={"provider_user_id": user_id})

    def add_to_groups(self, user_id: str, group_names: list[str]) -> None:
        """Assign the user to each named Okta group; Okta ignores an existing assignment."""
        for group_name in dict.fromkeys(group_names):
            group_id = self._group_id(group_name)
            self._api.call(
                "PUT",
                f"/api/v1/groups/{path_segment(group_id)}/users/{path_segment(user_id)}",
                operation="assign user to group",
            )
            logger.info(
                "okta group assigned", extra={"provider_user_id": user_id, "group_id": group_id}
            )

    def find_user_by_email(self, email: str) -> str | None:
        """Return the id of the user whose login, or failing that whose e-mail, is `email`."""
        email = email.lower()
        response = self._api.send(
            "GET", f"/api/v1/users/{path_segment(email)}", operation="get user by login"
        )
        if response.status_code != 404:
            body = self._api.check(response, "get user by login")
            return str(body["id"])

        # Okta serves `search` from an index that can lag behind writes, while the exact
        # login lookup above reads the user directly.
        users = self._api.call(
            "GET",
            "/api/v1/users",
            operation="search users by e-mail",
            params={"search": f'profile.email eq "{_quote_filter_value(email)}"'},
        )
        if not users:
            return None
        if len(users) > 1:
            logger.warning("okta e-mail matches several users", extra={"match_count": len(users)})
        return str(users[0]["id"])

    # ------------------------------------------------------------------ resets
    def issue_password_reset(self, user_id: str) -> InitialCredential:
        """Start a password reset and return its one-time URL.

        The user stays in RECOVERY, where Okta rejects sign-in, until they use the URL. Each
        call issues a new URL. Okta sends no e-mail and keeps the user's sessions, so
        call revoke_sessions to end them.
        """
        self._require_resettable(user_id, "issue password reset")
        credential = self._reset_password_link(user_id)
        logger.info("okta password reset link issued", extra={"provider_user_id": user_id})
        return credential

    def reset_mfa(self, user_id: str) -> InitialCredential:
        """Unenroll every factor, then return a one-time password reset URL to enroll anew.

        Factors are unenrolled one by one rather than with `lifecycle/reset_factors`. Okta
        documents that operation only for a user who still has an enrolled factor, so a retry
        after a completed reset has no documented outcome. Here a factor that is already gone
        returns 404 and counts as removed. Okta enrolls the email factor again by itself when
        the enrollment policy requires it, so the list can be non-empty afterwards.
        """
        self._require_resettable(user_id, "reset MFA")
        removed = self._unenroll_factors(user_id)
        credential = self._reset_password_link(user_id)
        logger.info(
            "okta factors reset", extra={"provider_user_id": user_id, "removed_factors": removed}
        )
        return credential

    # ------------------------------------------------------------------ helpers
    def _require_resettable(self, user_id: str, operation: str) -> None:
        status = self._status(user_id)
        if status not in _SIGN_IN_STATUSES:
            raise IdentityProviderError(
                f"okta {operation} for {user_id} rejected: the user is {status}, and only a user "
                "who has finished activation can reset; restore or activate the user first"
            )

    def _reset_password_link(self, user_id: str) -> InitialCredential:
        body = self._api.call(
            "POST",
            f"/api/v1/users/{path_segment(user_id)}/lifecycle/reset_password",
            operation="reset password",
            params={"sendEmail": "false"},
        )
        reset_url = body.get("resetPasswordUrl") if isinstance(body, dict) else None
        if not reset_url:
            raise IdentityProviderError("okta reset password returned no resetPasswordUrl")
        # Okta does not return the link's expiry, which an org setting governs.
        return InitialCredential(
            kind=CredentialKind.PASSWORD_RESET_LINK,
            value=reset_url,
            expires_at=None,
            sign_in_url=self._org_url,
        )

    def _unenroll_factors(self, user_id: str) -> int:
        """Unenroll each factor of the user and return how many the requests removed."""
        factors_path = f"/api/v1/users/{path_segment(user_id)}/factors"
        factors = self._api.call("GET", factors_path, operation="list factors") or []
        removed = 0
        for factor in factors:
            params = None
            if factor.get("factorType") in _PHONE_FACTOR_TYPES:
                params = {"removeRecoveryEnrollment": "true"}
            response = self._api.send(
                "DELETE",
                f"{factors_path}/{path_segment(str(factor['id']))}",
                operation="unenroll factor",
                params=params,
            )
            # Unenrolling an Okta Verify push or signed_nonce factor also removes the user's
            # other Okta Verify factors, so a later factor of the list may already be gone.
            if response.status_code == 404:
                continue
            self._api.check(response, "unenroll factor")
            removed += 1
        return removed

    def _status(self, user_id: str) -> str:
        body = self._api.call("GET", f"/api/v1/users/{path_segment(user_id)}", operation="get user")
        return str(body["status"])

    def _lifecycle(
        self, user_id: str, action: str, operation: str, params: dict[str, str] | None = None
    ) -> None:
        self._api.call(
            "POST",
            f"/api/v1/users/{path_segment(user_id)}/lifecycle/{action}",
            operation=operation,
            params=params,
        )

    def _group_id(self, group_name: str) -> str:
        quoted_name = _quote_filter_value(group_name)
        groups = self._api.call(
            "GET",
            "/api/v1/groups",
            operation="search groups",
            params={"search": f'type eq "OKTA_GROUP" and profile.name eq "{quoted_name}"'},
        )
        matches = [
            group for group in groups or [] if group.get("profile", {}).get("name") == group_name
        ]
        if not matches:
            raise IdentityProviderError(
                f"okta group {group_name!r} not found; create it in Okta or fix the group mapping"
            )
        if len(matches) > 1:
            raise IdentityProviderError(
                f"okta group name {group_name!r} matches {len(matches)} groups"
            )
        return str(matches[0]["id"])

    def _client_assertion_parameters(self) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "iat": now,
            "exp": now + CLIENT_ASSERTION_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        assertion = jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers)
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}


def _load_private_key(private_key: str) -> tuple[RSAPrivateKey, str | None]:
    """Parse a PEM or JWK RSA private key; return it with the JWK's kid when there is one."""
    text = private_key.strip()
    key: object
    kid: str | None = None
    try:
        if text.startswith("{"):
            jwk = json.loads(text)
            key = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
            kid = jwk.get("kid")
        else:
            key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, jwt.exceptions.InvalidKeyError) as exc:
        raise ConfigurationError("okta private_key is not a PEM or JWK RSA private key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ConfigurationError("okta private_key must be an RSA private key")
    return key, kid


def _describe_error(response: requests.Response) -> str:
    """Name an Okta error: `errorCode errorSummary; causes; errorId`."""
    body = json_body(response)
    if not isinstance(body, dict) or "errorCode" not in body:
        return "no Okta error body"
    parts = [f"{body['errorCode']} {redact(str(body.get('errorSummary', '')))}"]
    causes = [
        redact(str(cause.get("errorSummary", "")))
        for cause in body.get("errorCauses") or []
        if isinstance(cause, dict)
    ]
    if causes:
        parts.append("; ".join(causes))
    if body.get("errorId"):
        parts.append(f"errorId {body['errorId']}")
    return "; ".join(parts)


def _describe_token_error(error: OAuth2Error) -> str:
    if error.error == "invalid_dpop_proof":
        return (
            "invalid_dpop_proof: the service app requires DPoP, which this adapter does not "
            "send; turn off 'Require Demonstrating Proof of Possession' on the app"
        )
    return f"{error.error}: {redact(error.description or '')}"


def _quote_filter_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
