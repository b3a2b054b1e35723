"""A local Okta org: the Users, User Factors, Groups and User Sessions APIs that HireProof calls.

Requests and responses follow Okta's documented shapes: user objects with `status` and
`profile`, lifecycle operations under `/api/v1/users/{id}/lifecycle/...`, and error bodies
`{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}`. The token endpoint
`/oauth2/v1/token` accepts only the client credentials grant with a private_key_jwt client
assertion signed by the key pair the fake generates, and API calls need its bearer token.

Checked as Okta checks them: missing or unknown token (401 E0000011), missing scope (403
E0000006), unknown user or group (404 E0000007), invalid or duplicate login (400 E0000001),
lifecycle operations from a status that does not allow them. Okta's documentation does not
give the exact error of every lifecycle operation in the wrong status, so where it is missing
the fake returns 403 E0000038 "This operation is not allowed in the user's current status."

Password reset and factors: `lifecycle/reset_password` moves the user to RECOVERY, where
sign_in fails, and with `sendEmail=false` returns a `resetPasswordUrl` that
complete_password_reset accepts once. Okta does not list the statuses that allow a reset,
so the fake allows those in which a user can sign in or finish signing in. Factors are seeded
with enroll_factor. Unenrolling an Okta Verify `push` or `signed_nonce` factor also removes
the user's other Okta Verify factors, as Okta documents, and `removeRecoveryEnrollment=true`
on an `sms` or `call` factor also removes the phone from `recovery_phones`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_GRANTED_SCOPES = frozenset({"okta.users.manage", "okta.groups.manage"})
# Okta rejects a client assertion whose exp is more than an hour ahead.
MAX_ASSERTION_LIFETIME_SECONDS = 3600

_USER_PATH = re.compile(r"^/api/v1/users/(?P<user>[^/]+)$")
_LIFECYCLE_PATH = re.compile(r"^/api/v1/users/(?P<user>[^/]+)/lifecycle/(?P<action>[a-z_]+)$")
_SESSIONS_PATH = re.compile(r"^/api/v1/users/(?P<user>[^/]+)/sessions$")
_FACTORS_PATH = re.compile(r"^/api/v1/users/(?P<user>[^/]+)/factors(?:/(?P<factor>[^/]+))?$")
_MEMBERSHIP_PATH = re.compile(r"^/api/v1/groups/(?P<group>[^/]+)/users/(?P<user>[^/]+)$")
_EQ_CLAUSE = re.compile(r'^\s*(?P<attr>[A-Za-z.]+)\s+eq\s+"(?P<value>(?:[^"\\]|\\.)*)"\s*$')
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Statuses from which the fake allows lifecycle/reset_password.
_RESETTABLE_STATUSES = frozenset({"ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"})
# Factors that Okta Verify provides. Unenrolling push or signed_nonce removes all of them.
_OKTA_VERIFY_FACTORS = frozenset({"push", "signed_nonce", "token:software:totp"})
# Id prefixes of Okta's factor ids by type, so that seeded factors look like Okta's.
_FACTOR_ID_PREFIXES = {"push": "opf", "token:software:totp": "ost", "sms": "sms", "email": "emf"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _okta_id(prefix: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(17))


def okta_error(
    status: int, code: str, summary: str, causes: list[str] | None = None
) -> FakeResponse:
    """Build an Okta error response."""
    return FakeResponse(
        status,
        {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": _okta_id("oae"),
            "errorCauses": [{"errorSummary": cause} for cause in causes or []],
        },
    )


class FakeOkta(FakeHttpsService):
    """An Okta org on 127.0.0.1 with one OAuth service app."""

    def __init__(
        self,
        *,
        granted_scopes: frozenset[str] = DEFAULT_GRANTED_SCOPES,
        token_lifetime_seconds: int = 3600,
        require_dpop: bool = False,
    ) -> None:
        super().__init__()
        self.client_id = _okta_id("0oa")
        self.key_id = _okta_id("kid")
        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.granted_scopes = granted_scopes
        self.token_lifetime_seconds = token_lifetime_seconds
        self.require_dpop = require_dpop
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.memberships: set[tuple[str, str]] = set()
        self.sessions: dict[str, int] = {}
        self.emails_sent: list[tuple[str, str]] = []
        self.factors: dict[str, dict[str, dict[str, Any]]] = {}
        self.recovery_phones: dict[str, str] = {}
        self._activation_tokens: dict[str, str] = {}
        self._reset_tokens: dict[str, str] = {}
        self._tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self._assertion_ids: set[str] = set()

    # ------------------------------------------------------------------ configuration
    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that select this fake."""
        return {
            "IdentityProvider": "okta",
            "IdentityProviderUrl": self.base_url,
            "IdentityProviderCaBundle": self.ca_bundle_path,
        }

    def secret_value(self) -> dict[str, str]:
        """Return the JSON object the IDENTITY_PROVIDER_SECRET_ARN secret must hold."""
        private_pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {"client_id": self.client_id, "private_key": private_pem, "key_id": self.key_id}

    @property
    def token_url(self) -> str:
        """Return the org authorization server's token endpoint."""
        return f"{self.base_url}/oauth2/v1/token"

    # ------------------------------------------------------------------ test helpers
    def add_group(self, name: str, group_type: str = "OKTA_GROUP") -> str:
        """Create a group and return its id."""
        with self._lock:
            group_id = _okta_id("00g")
            self.groups[group_id] = {
                "id": group_id,
                "created": _now(),
                "lastUpdated": _now(),
                "lastMembershipUpdated": _now(),
                "objectClass": ["okta:user_group"],
                "type": group_type,
                "profile": {"name": name, "description": None},
            }
            return group_id

    def complete_activation(self, activation_token: str) -> None:
        """Act as the hire opening the activation link: the user becomes ACTIVE."""
        with self._lock:
            user_id = self._activation_tokens.pop(activation_token)
            self._set_status(self.users[user_id], "ACTIVE")

    def complete_password_reset(self, reset_token: str) -> None:
        """Act as the user opening the reset link and setting a password: the user becomes ACTIVE.

        Raises KeyError for a token that was used, replaced or never issued.
        """
        with self._lock:
            user_id = self._reset_tokens.pop(reset_token)
            user = self.users[user_id]
            self._set_status(user, "ACTIVE")
            user["passwordChanged"] = _now()

    def enroll_factor(
        self, user_id: str, factor_type: str, *, phone_number: str = "+1 555 0100"
    ) -> str:
        """Enroll an ACTIVE factor for the user and return its id.

        An `sms` or `call` factor also registers its phone as the user's recovery phone.
        """
        with self._lock:
            if user_id not in self.users:
                raise KeyError(user_id)
            factor_id = _okta_id(_FACTOR_ID_PREFIXES.get(factor_type, "fct"))
            profile: dict[str, Any] = {}
            if factor_type in ("sms", "call"):
                profile = {"phoneNumber": phone_number}
                self.recovery_phones[user_id] = phone_number
            self.factors.setdefault(user_id, {})[factor_id] = {
                "id": factor_id,
                "factorType": factor_type,
                "provider": "OKTA",
                "vendorName": "OKTA",
                "status": "ACTIVE",
                "created": _now(),
                "lastUpdated": _now(),
                "profile": profile,
            }
            return factor_id

    def factor_types(self, user_id: str) -> list[str]:
        """Return the types of the user's enrolled factors, sorted."""
        with self._lock:
            return sorted(f["factorType"] for f in self.factors.get(user_id, {}).values())

    def sign_in(self, user_id: str) -> None:
        """Act as the user signing in; raise PermissionError when Okta would refuse it."""
        with self._lock:
            if self.users[user_id]["status"] != "ACTIVE":
                raise PermissionError(f"user {user_id} is {self.users[user_id]['status']}")
            self.sessions[user_id] = self.sessions.get(user_id, 0) + 1

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token issued so far, as an admin revoking them would."""
        with self._lock:
            self._tokens.clear()

    def group_members(self, group_id: str) -> set[str]:
        """Return the user ids assigned to a group."""
        with self._lock:
            return {user for group, user in self.memberships if group == group_id}

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Route one request to the token endpoint or to the management API."""
        if request.path == "/oauth2/v1/token" and request.method == "POST":
            return self._token(request)
        if not request.path.startswith("/api/v1/"):
            return okta_error(
                404, "E0000022", "The endpoint does not support the provided HTTP method"
            )
        granted = self._authenticate(request)
        if isinstance(granted, FakeResponse):
            return granted
        return self._route(request, granted)

    def _route(self, request: FakeRequest, granted: frozenset[str]) -> FakeResponse:
        path, method = request.path, request.method
        if path == "/api/v1/users" and method == "POST":
            return self._scoped(granted, "okta.users.manage", path) or self._create_user(request)
        if path == "/api/v1/users" and method == "GET":
            return self._scoped(granted, "okta.users.read", path) or self._list_users(request)
        if path == "/api/v1/groups" and method == "GET":
            return self._scoped(granted, "okta.groups.read", path) or self._list_groups(request)
        if (match := _USER_PATH.match(path)) and method == "GET":
            return self._scoped(granted, "okta.users.read", path) or self._get_user(match["user"])
        if (match := _LIFECYCLE_PATH.match(path)) and method == "POST":
            return self._scoped(granted, "okta.users.manage", path) or self._lifecycle(
                match["user"], match["action"], request
            )
        if (match := _FACTORS_PATH.match(path)) and method == "GET" and not match["factor"]:
            return self._scoped(granted, "okta.users.read", path) or self._list_factors(
                match["user"]
            )
        if (match := _FACTORS_PATH.match(path)) and method == "DELETE" and match["factor"]:
            return self._scoped(granted, "okta.users.manage", path) or self._unenroll_factor(
                match["user"], match["factor"], request
            )
        if (match := _SESSIONS_PATH.match(path)) and method == "DELETE":
            return self._scoped(granted, "okta.users.manage", path) or self._clear_sessions(
                match["user"]
            )
        if (match := _MEMBERSHIP_PATH.match(path)) and method == "PUT":
            return self._scoped(granted, "okta.groups.manage", path) or self._assign(
                match["group"], match["user"]
            )
        return okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method")

    # ------------------------------------------------------------------ OAuth
    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form()
        if self.require_dpop and "dpop" not in request.headers:
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "The grant type is not supported by this server."
            )
        if "client_secret" in form or form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            return _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed. Either the client or the client credentials "
                "are invalid.",
            )
        problem = self._check_client_assertion(form.get("client_assertion", ""))
        if problem:
            return _oauth_error(401, "invalid_client", problem)

        requested = frozenset(form.get("scope", "").split())
        if not requested:
            return _oauth_error(400, "invalid_scope", "The authorization server requires a scope.")
        not_granted = sorted(requested - self.granted_scopes)
        if not_granted:
            return _oauth_error(
                400,
                "invalid_scope",
                f"The following scopes are not allowed: {' '.join(not_granted)}",
            )
        access_token = secrets.token_urlsafe(48)
        self._tokens[access_token] = (time.time() + self.token_lifetime_seconds, requested)
        return FakeResponse(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds,
                "access_token": access_token,
                "scope": " ".join(sorted(requested)),
            },
        )

    def _check_client_assertion(self, assertion: str) -> str | None:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self._private_key.public_key(),
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError:
            return "The client_assertion signature is invalid."
        if header.get("kid") not in (None, self.key_id):
            return "The client_assertion kid does not match a key of the client."
        if claims.get("sub") != self.client_id:
            return "The client_assertion sub claim must match the client_id."
        if claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME_SECONDS:
            return "The client_assertion token has an expiration too far into the future."
        jti = claims.get("jti")
        if jti is not None:
            if jti in self._assertion_ids:
                return "The client_assertion token has already been used."
            self._assertion_ids.add(jti)
        return None

    def _authenticate(self, request: FakeRequest) -> frozenset[str] | FakeResponse:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        entry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if entry is None or entry[0] < time.time():
            return okta_error(401, "E0000011", "Invalid token provided")
        return entry[1]

    def _scoped(self, granted: frozenset[str], scope: str, path: str) -> FakeResponse | None:
        # A manage scope includes the matching read scope.
        accepted = {scope, scope.replace(".read", ".manage")}
        if granted & accepted:
            return None
        response = okta_error(
            403, "E0000006", "You do not have permission to perform the requested action"
        )
        response.headers["WWW-Authenticate"] = (
            f'Bearer authorization_uri="{self.token_url}", realm="IdpMyAccountAPI", '
            f'scope="{scope}", error="insufficient_scope", '
            'error_description="The access token provided does not contain the required '
            f'scopes.", resource="{path}"'
        )
        return response

    # ------------------------------------------------------------------ users
    def _create_user(self, request: FakeRequest) -> FakeResponse:
        try:
            body = request.json()
        except ValueError:
            return okta_error(400, "E0000003", "The request body was not well-formed.")
        profile = body.get("profile") if isinstance(body, dict) else None
        if not isinstance(profile, dict):
            return okta_error(
                400, "E0000001", "Api validation failed: profile", ["profile: required"]
            )

        causes = [
            f"{name}: The field cannot be left blank"
            for name in ("login", "email", "firstName", "lastName")
            if not profile.get(name)
        ]
        login = str(profile.get("login") or "")
        if login and not _EMAIL.match(login):
            causes.append("login: Username must be in the form of an email address")
        if profile.get("email") and not _EMAIL.match(str(profile["email"])):
            causes.append("email: Does not match required pattern")
        if causes:
            return okta_error(400, "E0000001", "Api validation failed: login", causes)
        if self._user_by_login(login) is not None:
            return okta_error(
                400,
                "E0000001",
                "Api validation failed: login",
                ["login: An object with this field already exists in the current organization"],
            )

        activate = request.query.get("activate", "true").lower() != "false"
        user_id = _okta_id("00u")
        user: dict[str, Any] = {
            "id": user_id,
            "status": "STAGED",
            "created": _now(),
            "activated": None,
            "statusChanged": None,
            "lastLogin": None,
            "lastUpdated": _now(),
            "passwordChanged": None,
            "type": {"id": "oty1default"},
            "profile": dict(profile),
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{self.base_url}/api/v1/users/{user_id}"}},
        }
        self.users[user_id] = user
        if activate:
            # Activation on create sends the activation e-mail and leaves a user without a
            # password PROVISIONED.
            self._set_status(user, "PROVISIONED")
            self._new_activation_token(user_id)
            self.emails_sent.append((user_id, "activation"))
        return FakeResponse(200, user)

    def _get_user(self, id_or_login: str) -> FakeResponse:
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        return FakeResponse(200, user)

    def _list_users(self, request: FakeRequest) -> FakeResponse:
        expression = request.query.get("search") or request.query.get("filter")
        if not expression:
            return FakeResponse(200, list(self.users.values()))
        matcher = _parse_expression(expression)
        if matcher is None:
            return okta_error(400, "E0000031", "Invalid search criteria.")
        return FakeResponse(200, [user for user in self.users.values() if matcher(user)])

    def _lifecycle(self, id_or_login: str, action: str, request: FakeRequest) -> FakeResponse:
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        status = user["status"]
        send_email = request.query.get("sendEmail", "true").lower() != "false"

        if action in ("activate", "reactivate"):
            allowed = ("STAGED", "DEPROVISIONED") if action == "activate" else ("PROVISIONED",)
            if status not in allowed:
                return _wrong_status()
            self._set_status(user, "PROVISIONED")
            user["activated"] = user["activated"] or _now()
            token = self._new_activation_token(user["id"])
            if send_email:
                self.emails_sent.append((user["id"], action))
                return FakeResponse(200, {})
            return FakeResponse(
                200, {"activationUrl": f"{self.base_url}/welcome/{token}", "activationToken": token}
            )
        if action == "suspend":
            if status != "ACTIVE":
                return okta_error(
                    400,
                    "E0000001",
                    "Api validation failed: status",
                    ["Cannot suspend a user that is not active"],
                )
            self._set_status(user, "SUSPENDED")
            return FakeResponse(200, {})
        if action == "unsuspend":
            if status != "SUSPENDED":
                return okta_error(
                    400,
                    "E0000001",
                    "Api validation failed: status",
                    ["Cannot unsuspend a user that is not suspended"],
                )
            self._set_status(user, "ACTIVE")
            return FakeResponse(200, {})
        if action == "reset_password":
            return self._reset_password(user, send_email, request)
        if action == "deactivate":
            if status == "DEPROVISIONED":
                return _wrong_status()
            self._set_status(user, "DEPROVISIONED")
            self._drop_activation_tokens(user["id"])
            self._drop_reset_tokens(user["id"])
            self.sessions.pop(user["id"], None)
            if send_email:
                self.emails_sent.append((user["id"], "deactivate"))
            return FakeResponse(200, {})
        return okta_error(404, "E0000007", f"Not found: Resource not found: {action} (Operation)")

    def _reset_password(
        self, user: dict[str, Any], send_email: bool, request: FakeRequest
    ) -> FakeResponse:
        if user["status"] not in _RESETTABLE_STATUSES:
            return _wrong_status()
        self._set_status(user, "RECOVERY")
        # A new reset token replaces the user's previous one.
        self._drop_reset_tokens(user["id"])
        token = secrets.token_urlsafe(15)
        self._reset_tokens[token] = user["id"]
        if request.query.get("revokeSessions", "false").lower() == "true":
            self.sessions.pop(user["id"], None)
        if send_email:
            self.emails_sent.append((user["id"], "reset_password"))
            return FakeResponse(200, {})
        return FakeResponse(
            200, {"resetPasswordUrl": f"{self.base_url}/signin/reset-password/{token}"}
        )

    # ------------------------------------------------------------------ factors
    def _list_factors(self, id_or_login: str) -> FakeResponse:
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        return FakeResponse(200, list(self.factors.get(user["id"], {}).values()))

    def _unenroll_factor(
        self, id_or_login: str, factor_id: str, request: FakeRequest
    ) -> FakeResponse:
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        if user["status"] == "DEPROVISIONED":
            # Okta documents that a deactivated user's factors cannot be unenrolled.
            return _wrong_status()
        factors = self.factors.get(user["id"], {})
        factor = factors.pop(factor_id, None)
        if factor is None:
            return _not_found(factor_id, "UserFactor")
        if factor["factorType"] in ("push", "signed_nonce"):
            for other_id in [
                fid for fid, f in factors.items() if f["factorType"] in _OKTA_VERIFY_FACTORS
            ]:
                del factors[other_id]
        remove_recovery = request.query.get("removeRecoveryEnrollment", "false").lower() == "true"
        if factor["factorType"] in ("sms", "call") and remove_recovery:
            self.recovery_phones.pop(user["id"], None)
        return FakeResponse(204)

    def _clear_sessions(self, id_or_login: str) -> FakeResponse:
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        self.sessions.pop(user["id"], None)
        return FakeResponse(204)

    # ------------------------------------------------------------------ groups
    def _list_groups(self, request: FakeRequest) -> FakeResponse:
        groups = list(self.groups.values())
        if "q" in request.query:
            prefix = request.query["q"].lower()
            groups = [g for g in groups if str(g["profile"]["name"]).lower().startswith(prefix)]
        if "search" in request.query:
            matcher = _parse_expression(request.query["search"])
            if matcher is None:
                return okta_error(400, "E0000031", "Invalid search criteria.")
            groups = [g for g in groups if matcher(g)]
        return FakeResponse(200, groups)

    def _assign(self, group_id: str, id_or_login: str) -> FakeResponse:
        if group_id not in self.groups:
            return _not_found(group_id, "UserGroup")
        user = self._find_user(id_or_login)
        if user is None:
            return _not_found(id_or_login, "User")
        self.memberships.add((group_id, user["id"]))
        return FakeResponse(204)

    # ------------------------------------------------------------------ helpers
    def _find_user(self, id_or_login: str) -> dict[str, Any] | None:
        return self.users.get(id_or_login) or self._user_by_login(id_or_login)

    def _user_by_login(self, login: str) -> dict[str, Any] | None:
        wanted = login.lower()
        for user in self.users.values():
            if str(user["profile"].get("login", "")).lower() == wanted:
                return user
        return None

    def _set_status(self, user: dict[str, Any], status: str) -> None:
        user["status"] = status
        user["statusChanged"] = _now()
        user["lastUpdated"] = _now()

    def _new_activation_token(self, user_id: str) -> str:
        # A new activation token replaces the user's previous one.
        self._drop_activation_tokens(user_id)
        token = secrets.token_urlsafe(15)
        self._activation_tokens[token] = user_id
        return token

    def _drop_activation_tokens(self, user_id: str) -> None:
        for token in [t for t, owner in self._activation_tokens.items() if owner == user_id]:
            del self._activation_tokens[token]

    def _drop_reset_tokens(self, user_id: str) -> None:
        for token in [t for t, owner in self._reset_tokens.items() if owner == user_id]:
            del self._reset_tokens[token]


def _parse_expression(expression: str) -> Callable[[dict[str, Any]], bool] | None:
    """Parse `attr eq "value"` clauses joined by one of `and` or `or`; None when unsupported."""
    combine: Callable[[Iterable[bool]], bool] = all
    parts = [expression]
    if " and " in expression:
        parts = expression.split(" and ")
    elif " or " in expression:
        parts, combine = expression.split(" or "), any
    clauses = []
    for part in parts:
        match = _EQ_CLAUSE.match(part)
        if match is None:
            return None
        value = json.loads(f'"{match["value"]}"')
        clauses.append((match["attr"].split("."), value.lower()))

    def matcher(resource: dict[str, Any]) -> bool:
        def clause_matches(path: list[str], wanted: str) -> bool:
            current: Any = resource
            for key in path:
                current = current.get(key) if isinstance(current, dict) else None
            return isinstance(current, str) and current.lower() == wanted

        return combine(clause_matches(path, wanted) for path, wanted in clauses)

    return matcher


def _oauth_error(status: int, error: str, description: str) -> FakeResponse:
    return FakeResponse(status, {"error": error, "error_description": description})


def _not_found(resource_id: str, kind: str) -> FakeResponse:
    return okta_error(404, "E0000007", f"Not found: Resource not found: {resource_id} ({kind})")


def _wrong_status() -> FakeResponse:
    return okta_error(
        403, "E0000038", "This operation is not allowed in the user's current status."
    )
