"""A local Microsoft Entra ID tenant: the Microsoft Graph v1.0 calls HireProof makes.

Graph lives under `/v1.0` and the tenant's token endpoint under
`/{tenant_id}/oauth2/v2.0/token`. Token requests must use the client credentials grant with
the app's client secret in the body and the scope `https://graph.microsoft.com/.default`;
Graph calls need the bearer token the fake issued. Errors have Graph's shape
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`
and token errors the identity platform's `{"error", "error_description", "error_codes", ...}`.

Checked as Graph checks them: a missing or unknown token gets 401
InvalidAuthenticationToken, and an unknown user or group gets 404 Request_ResourceNotFound.
Missing required properties, a password that fails the complexity rule, a duplicate
userPrincipalName and an existing group membership get 400 Request_BadRequest, and so does
a Temporary Access Pass lifetime outside 10 to 43200 minutes. Application permissions are
not modelled, so every valid token may call every endpoint.

Authentication methods: add_method seeds a user's methods. `authentication/methods` lists
them with the password method and any Temporary Access Pass, and the per-type collections
(`phoneMethods`, `fido2Methods`, ...) delete them. As Graph documents, a mobile number cannot
be deleted while an alternateMobile number exists, and the phone that is the user's default
MFA method cannot be deleted at all.

NOTE: Graph documents that a user has at most one Temporary Access Pass, but not the error
for creating a second one, so the fake's 400 badRequest for it is a guess. The 400
badRequest for a phone that cannot be deleted is a guess for the same reason.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
import uuid
from typing import Any

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ODATA_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
REQUIRED_USER_PROPERTIES = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName")
DEFAULT_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)

_USER_PATH = re.compile(r"^/v1\.0/users/(?P<user>[^/]+)$")
_USER_ACTION_PATH = re.compile(
    r"^/v1\.0/users/(?P<user>[^/]+)/(?P<action>revokeSignInSessions|checkMemberGroups)$"
)
_MANAGER_PATH = re.compile(r"^/v1\.0/users/(?P<user>[^/]+)/manager/\$ref$")
_TAP_PATH = re.compile(
    r"^/v1\.0/users/(?P<user>[^/]+)/authentication/temporaryAccessPassMethods(?:/(?P<method>[^/]+))?$"
)
_MEMBERS_REF_PATH = re.compile(r"^/v1\.0/groups/(?P<group>[^/]+)/members/\$ref$")
_METHODS_PATH = re.compile(r"^/v1\.0/users/(?P<user>[^/]+)/authentication/methods$")
_METHOD_PATH = re.compile(
    r"^/v1\.0/users/(?P<user>[^/]+)/authentication/(?P<collection>[A-Za-z0-9]+Methods)/(?P<method>[^/]+)$"
)
# Graph gives the password, the e-mail and each kind of phone the same method id in every
# user. The ids are Graph's, not secrets.
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # noqa: S105
EMAIL_METHOD_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
PHONE_METHOD_IDS = {
    "mobile": "3179e48a-750b-4051-897c-87b9720928f7",
    "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
    "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}
PASSWORD_METHOD_TYPE = "#microsoft.graph.passwordAuthenticationMethod"  # noqa: S105
TEMPORARY_ACCESS_PASS_METHOD_TYPE = (
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod"  # noqa: S105
)
PHONE_METHOD_TYPE = "#microsoft.graph.phoneAuthenticationMethod"
EMAIL_METHOD_TYPE = "#microsoft.graph.emailAuthenticationMethod"
# The collection under /users/{id}/authentication that contains each method type the fake deletes.
METHOD_COLLECTIONS = {
    PHONE_METHOD_TYPE: "phoneMethods",
    EMAIL_METHOD_TYPE: "emailMethods",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2Methods",
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "#microsoft.graph.softwareOathAuthenticationMethod": "softwareOathMethods",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusinessMethods",
    "#microsoft.graph.platformCredentialAuthenticationMethod": "platformCredentialMethods",
}
_EQ_FILTER = re.compile(r"^\s*(?P<prop>[A-Za-z]+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$")


def _timestamp(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_error(status: int, code: str, message: str) -> FakeResponse:
    """Build a Microsoft Graph error response."""
    request_id = str(uuid.uuid4())
    return FakeResponse(
        status,
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": _timestamp(),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        },
    )


class FakeEntra(FakeHttpsService):
    """An Entra ID tenant on 127.0.0.1 with one app registration."""

    def __init__(self, *, token_lifetime_seconds: int = 3599) -> None:
        super().__init__()
        self.tenant_id = str(uuid.uuid4())
        self.client_id = str(uuid.uuid4())
        self.client_secret = secrets.token_urlsafe(30)
        self.token_lifetime_seconds = token_lifetime_seconds
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.members: set[tuple[str, str]] = set()
        self.managers: dict[str, str] = {}
        self.sessions: dict[str, int] = {}
        self.temporary_access_passes: dict[str, dict[str, Any]] = {}
        self.authentication_methods: dict[str, dict[str, dict[str, Any]]] = {}
        self.default_mfa_methods: dict[str, str] = {}
        self._tokens: dict[str, float] = {}

    # ------------------------------------------------------------------ configuration
    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that select this fake."""
        return {
            "IdentityProvider": "entra",
            "IdentityProviderUrl": self.graph_url,
            "IdentityProviderCaBundle": self.ca_bundle_path,
        }

    def secret_value(self) -> dict[str, str]:
        """Return the JSON object the IDENTITY_PROVIDER_SECRET_ARN secret must hold."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "tenant_id": self.tenant_id,
            "token_url": self.token_url,
        }

    @property
    def graph_url(self) -> str:
        """Return the Graph v1.0 base URL of the running fake."""
        return f"{self.base_url}/v1.0"

    @property
    def token_url(self) -> str:
        """Return the tenant's v2.0 token endpoint."""
        return f"{self.base_url}/{self.tenant_id}/oauth2/v2.0/token"

    # ------------------------------------------------------------------ test helpers
    def add_group(self, display_name: str) -> str:
        """Create a security group and return its id."""
        with self._lock:
            group_id = str(uuid.uuid4())
            self.groups[group_id] = {
                "id": group_id,
                "displayName": display_name,
                "securityEnabled": True,
                "mailEnabled": False,
                "groupTypes": [],
            }
            return group_id

    def add_method(
        self, user_id: str, odata_type: str, *, is_default: bool = False, **properties: Any
    ) -> str:
        """Register an authentication method of `odata_type` for the user and return its id.

        `properties` are the method's own fields, such as `phoneType` (default `mobile`) and
        `phoneNumber` of a phone. With `is_default` the method is the user's default MFA
        method. Raises ValueError for a second phone of one type or a second e-mail, which
        Graph does not allow either.
        """
        with self._lock:
            if user_id not in self.users:
                raise KeyError(user_id)
            method: dict[str, Any] = {"@odata.type": odata_type, "createdDateTime": _timestamp()}
            if odata_type == PHONE_METHOD_TYPE:
                method.update(phoneNumber="+1 5550100", phoneType="mobile")
            method.update(properties)
            method["id"] = self._new_method_id(odata_type, method.get("phoneType"))
            methods = self.authentication_methods.setdefault(user_id, {})
            if method["id"] in methods:
                raise ValueError(f"user {user_id} already has method {method['id']}")
            methods[method["id"]] = method
            if is_default:
                self.default_mfa_methods[user_id] = method["id"]
            return str(method["id"])

    def method_types(self, user_id: str) -> list[str]:
        """Return the @odata.type of each method Graph lists for the user but the password, sorted."""
        with self._lock:
            types = [m["@odata.type"] for m in self.authentication_methods.get(user_id, {}).values()]
            if user_id in self.temporary_access_passes:
                types.append(TEMPORARY_ACCESS_PASS_METHOD_TYPE)
            return sorted(types)

    def sign_in(self, user_id: str, temporary_access_pass: str | None = None) -> None:
        """Act as the user signing in; raise PermissionError when Entra ID would refuse it.

        With `temporary_access_pass`, the pass must be the user's current usable one, and a
        one-time pass is used up.
        """
        with self._lock:
            user = self.users[user_id]
            if not user["accountEnabled"]:
                raise PermissionError(f"user {user_id} is disabled")
            if temporary_access_pass is not None:
                method = self.temporary_access_passes.get(user_id)
                if method is None or not method["isUsable"]:
                    raise PermissionError("no usable Temporary Access Pass")
                if not secrets.compare_digest(method["temporaryAccessPass"], temporary_access_pass):
                    raise PermissionError("wrong Temporary Access Pass")
                if method["isUsableOnce"]:
                    method["isUsable"] = False
                    method["methodUsabilityReason"] = "OneTimeUsed"
            self.sessions[user_id] = self.sessions.get(user_id, 0) + 1

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token issued so far."""
        with self._lock:
            self._tokens.clear()

    def group_members(self, group_id: str) -> set[str]:
        """Return the member ids of a group."""
        with self._lock:
            return {member for group, member in self.members if group == group_id}

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Route one request to the token endpoint or to Graph."""
        if request.path == f"/{self.tenant_id}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        if not request.path.startswith("/v1.0/"):
            return graph_error(400, "BadRequest", f"Invalid request path '{request.path}'.")
        unauthenticated = self._authenticate(request)
        if unauthenticated is not None:
            return unauthenticated
        return self._route(request)

    def _route(self, request: FakeRequest) -> FakeResponse:
        path, method = request.path, request.method
        if path == "/v1.0/users" and method == "POST":
            return self._create_user(request)
        if path == "/v1.0/users" and method == "GET":
            return self._list(request, self.users.values(), "users")
        if path == "/v1.0/groups" and method == "GET":
            return self._list(request, self.groups.values(), "groups")
        if match := _USER_PATH.match(path):
            if method == "GET":
                return self._get_user(match["user"], request)
            if method == "PATCH":
                return self._update_user(match["user"], request)
        if (match := _USER_ACTION_PATH.match(path)) and method == "POST":
            if match["action"] == "revokeSignInSessions":
                return self._revoke_sessions(match["user"])
            return self._check_member_groups(match["user"], request)
        if (match := _MANAGER_PATH.match(path)) and method == "PUT":
            return self._set_manager(match["user"], request)
        if match := _TAP_PATH.match(path):
            return self._temporary_access_pass(match["user"], match["method"], request)
        if (match := _METHODS_PATH.match(path)) and method == "GET":
            return self._list_methods(match["user"])
        if (match := _METHOD_PATH.match(path)) and method == "DELETE":
            return self._delete_method(match["user"], match["collection"], match["method"])
        if (match := _MEMBERS_REF_PATH.match(path)) and method == "POST":
            return self._add_member(match["group"], request)
        return graph_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    # ------------------------------------------------------------------ OAuth
    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return _token_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if form.get("client_id") != self.client_id:
            return _token_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{self.tenant_id}'.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self.client_secret):
            return _token_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{self.client_id}'.",
            )
        if form.get("scope") != GRAPH_SCOPE:
            return _token_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope')} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        access_token = secrets.token_urlsafe(64)
        self._tokens[access_token] = time.time() + self.token_lifetime_seconds
        return FakeResponse(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds,
                "ext_expires_in": self.token_lifetime_seconds,
                "access_token": access_token,
            },
        )

    def _authenticate(self, request: FakeRequest) -> FakeResponse | None:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if not token:
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        expires_at = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expires_at is None:
            return graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed."
            )
        if expires_at < time.time():
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        return None

    # ------------------------------------------------------------------ users
    def _create_user(self, request: FakeRequest) -> FakeResponse:
        body = _json_object(request)
        if body is None:
            return graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        for name in REQUIRED_USER_PROPERTIES:
            if body.get(name) in (None, ""):
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{name}' of resource 'User'.",
                )
        password = (body.get("passwordProfile") or {}).get("password")
        if not password:
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'passwordProfile' of resource 'User'.",
            )
        if not _complex_enough(str(password)):
            return graph_error(
                400,
                "Request_BadRequest",
                "The specified password does not comply with password complexity requirements. "
                "Please provide a different password.",
            )
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", str(body["mailNickname"])):
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'mailNickname' of resource 'User'.",
            )
        if self._find_user(str(body["userPrincipalName"])) is not None:
            return graph_error(
                400,
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already exists.",
            )

        user_id = str(uuid.uuid4())
        # The password is checked above and then dropped: Graph never returns it either.
        user: dict[str, Any] = dict.fromkeys(DEFAULT_USER_PROPERTIES)
        user.update({key: value for key, value in body.items() if key != "passwordProfile"})
        user.update(id=user_id, businessPhones=[])
        self.users[user_id] = user
        return FakeResponse(
            201, {"@odata.context": f"{ODATA_CONTEXT}#users/$entity", **self._public(user)}
        )

    def _get_user(self, id_or_upn: str, request: FakeRequest) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        return FakeResponse(
            200, {"@odata.context": f"{ODATA_CONTEXT}#users/$entity", **_select(user, request)}
        )

    def _update_user(self, id_or_upn: str, request: FakeRequest) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        body = _json_object(request)
        if body is None:
            return graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        if "accountEnabled" in body and not isinstance(body["accountEnabled"], bool):
            return graph_error(
                400,
                "BadRequest",
                "Cannot convert the literal to the expected type 'Edm.Boolean'.",
            )
        user.update(body)
        if user["accountEnabled"] is False:
            # Disabling an account blocks new sign-ins; the fake also drops its sessions.
            self.sessions.pop(user["id"], None)
        return FakeResponse(204)

    def _revoke_sessions(self, id_or_upn: str) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        self.sessions.pop(user["id"], None)
        return FakeResponse(200, {"@odata.context": f"{ODATA_CONTEXT}#Edm.Boolean", "value": True})

    def _set_manager(self, id_or_upn: str, request: FakeRequest) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        manager_id = self._referenced_id(request, "users")
        if manager_id is None:
            return graph_error(
                400, "Request_BadRequest", "Invalid URL format specified in @odata.id."
            )
        if manager_id not in self.users:
            return _not_found(manager_id)
        self.managers[user["id"]] = manager_id
        return FakeResponse(204)

    # ------------------------------------------------------------------ Temporary Access Pass
    def _temporary_access_pass(
        self, id_or_upn: str, method_id: str | None, request: FakeRequest
    ) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        current = self.temporary_access_passes.get(user["id"])
        context = f"{ODATA_CONTEXT}#users('{user['id']}')/authentication/temporaryAccessPassMethods"

        if request.method == "GET" and method_id is None:
            # The pass itself is shown only in the response that creates it.
            listed = [_without_pass(current)] if current else []
            return FakeResponse(200, {"@odata.context": context, "value": listed})
        if request.method == "DELETE" and method_id is not None:
            if current is None or current["id"] != method_id:
                return _not_found(method_id)
            del self.temporary_access_passes[user["id"]]
            return FakeResponse(204)
        if request.method == "POST" and method_id is None:
            return self._create_temporary_access_pass(user, current, request, context)
        return graph_error(405, "Request_BadRequest", "The HTTP method is not allowed.")

    def _create_temporary_access_pass(
        self,
        user: dict[str, Any],
        current: dict[str, Any] | None,
        request: FakeRequest,
        context: str,
    ) -> FakeResponse:
        body = _json_object(request) or {}
        lifetime = body.get("lifetimeInMinutes", 60)
        if not isinstance(lifetime, int) or not 10 <= lifetime <= 43200:
            return graph_error(
                400, "badRequest", "lifetimeInMinutes must be between 10 and 43200 minutes."
            )
        if current is not None:
            return graph_error(400, "badRequest", "The user already has a Temporary Access Pass.")
        now = dt.datetime.now(dt.UTC)
        method = {
            "id": str(uuid.uuid4()),
            "temporaryAccessPass": _temporary_access_pass_value(),
            "createdDateTime": _timestamp(now),
            "startDateTime": _timestamp(now),
            "lifetimeInMinutes": lifetime,
            "isUsableOnce": bool(body.get("isUsableOnce", False)),
            "isUsable": True,
            "methodUsabilityReason": "EnabledByPolicy",
        }
        self.temporary_access_passes[user["id"]] = method
        return FakeResponse(201, {"@odata.context": f"{context}/$entity", **method})

    # ------------------------------------------------------------------ authentication methods
    def _list_methods(self, id_or_upn: str) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        listed: list[dict[str, Any]] = [
            {
                "@odata.type": PASSWORD_METHOD_TYPE,
                "id": PASSWORD_METHOD_ID,
                "password": None,
                "createdDateTime": None,
            }
        ]
        listed += [dict(m) for m in self.authentication_methods.get(user["id"], {}).values()]
        current_pass = self.temporary_access_passes.get(user["id"])
        if current_pass is not None:
            listed.append({"@odata.type": TEMPORARY_ACCESS_PASS_METHOD_TYPE, **_without_pass(current_pass)})
        context = f"{ODATA_CONTEXT}#users('{user['id']}')/authentication/methods"
        return FakeResponse(200, {"@odata.context": context, "value": listed})

    def _delete_method(self, id_or_upn: str, collection: str, method_id: str) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        if collection not in METHOD_COLLECTIONS.values():
            return graph_error(
                400, "BadRequest", f"Resource not found for the segment '{collection}'."
            )
        methods = self.authentication_methods.get(user["id"], {})
        method = methods.get(method_id)
        if method is None or METHOD_COLLECTIONS.get(method["@odata.type"]) != collection:
            return _not_found(method_id)
        if method["@odata.type"] == PHONE_METHOD_TYPE:
            problem = self._phone_delete_problem(user["id"], method)
            if problem:
                return graph_error(400, "badRequest", problem)
        del methods[method_id]
        return FakeResponse(204)

    def _new_method_id(self, odata_type: str, phone_type: str | None) -> str:
        if odata_type == PHONE_METHOD_TYPE:
            return PHONE_METHOD_IDS[str(phone_type)]
        if odata_type == EMAIL_METHOD_TYPE:
            return EMAIL_METHOD_ID
        return str(uuid.uuid4())

    def _phone_delete_problem(self, user_id: str, phone: dict[str, Any]) -> str | None:
        if self.default_mfa_methods.get(user_id) == phone["id"]:
            return "The phone method is the user's default authentication method and cannot be deleted."
        has_alternate = any(
            m["@odata.type"] == PHONE_METHOD_TYPE and m.get("phoneType") == "alternateMobile"
            for m in self.authentication_methods.get(user_id, {}).values()
        )
        if phone.get("phoneType") == "mobile" and has_alternate:
            return "A user cannot have an alternateMobile number without a mobile number."
        return None

    # ------------------------------------------------------------------ groups
    def _add_member(self, group_id: str, request: FakeRequest) -> FakeResponse:
        if group_id not in self.groups:
            return _not_found(group_id)
        member_id = self._referenced_id(request, "directoryObjects")
        if member_id is None:
            return graph_error(
                400, "Request_BadRequest", "Invalid URL format specified in @odata.id."
            )
        if member_id not in self.users:
            return _not_found(member_id)
        if (group_id, member_id) in self.members:
            return graph_error(
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the following modified "
                "properties: 'members'.",
            )
        self.members.add((group_id, member_id))
        return FakeResponse(204)

    def _check_member_groups(self, id_or_upn: str, request: FakeRequest) -> FakeResponse:
        user = self._find_user(id_or_upn)
        if user is None:
            return _not_found(id_or_upn)
        body = _json_object(request) or {}
        wanted = body.get("groupIds")
        if not isinstance(wanted, list):
            return graph_error(400, "Request_BadRequest", "groupIds is required.")
        found = [gid for gid in wanted if (gid, user["id"]) in self.members]
        return FakeResponse(
            200, {"@odata.context": f"{ODATA_CONTEXT}#Collection(Edm.String)", "value": found}
        )

    # ------------------------------------------------------------------ helpers
    def _list(self, request: FakeRequest, items: Any, entity_set: str) -> FakeResponse:
        selected = list(items)
        expression = request.query.get("$filter")
        if expression:
            match = _EQ_FILTER.match(expression)
            if match is None:
                return graph_error(400, "BadRequest", "Invalid filter clause")
            wanted = match["value"].replace("''", "'").lower()
            selected = [
                item for item in selected if str(item.get(match["prop"]) or "").lower() == wanted
            ]
        return FakeResponse(
            200,
            {
                "@odata.context": f"{ODATA_CONTEXT}#{entity_set}",
                "value": [_select(item, request) for item in selected],
            },
        )

    def _find_user(self, id_or_upn: str) -> dict[str, Any] | None:
        if id_or_upn in self.users:
            return self.users[id_or_upn]
        wanted = id_or_upn.lower()
        for user in self.users.values():
            if str(user.get("userPrincipalName", "")).lower() == wanted:
                return user
        return None

    def _referenced_id(self, request: FakeRequest, collection: str) -> str | None:
        body = _json_object(request) or {}
        reference = str(body.get("@odata.id", ""))
        prefix = f"{self.graph_url}/{collection}/"
        if not reference.startswith(prefix):
            return None
        return reference[len(prefix) :]

    def _public(self, user: dict[str, Any]) -> dict[str, Any]:
        return {name: user.get(name) for name in DEFAULT_USER_PROPERTIES}


def _select(item: dict[str, Any], request: FakeRequest) -> dict[str, Any]:
    select = request.query.get("$select")
    if select:
        return {name: item.get(name) for name in select.split(",")}
    if "userPrincipalName" in item:
        return {name: item.get(name) for name in DEFAULT_USER_PROPERTIES}
    return dict(item)


def _json_object(request: FakeRequest) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _complex_enough(password: str) -> bool:
    categories = [
        any(ch.islower() for ch in password),
        any(ch.isupper() for ch in password),
        any(ch.isdigit() for ch in password),
        any(not ch.isalnum() for ch in password),
    ]
    return 8 <= len(password) <= 256 and sum(categories) >= 3


def _temporary_access_pass_value() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789$%&@#"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def _without_pass(method: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in method.items() if key != "temporaryAccessPass"}


def _token_error(status: int, error: str, code: int, description: str) -> FakeResponse:
    trace_id = str(uuid.uuid4())
    return FakeResponse(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace_id,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def _not_found(resource_id: str) -> FakeResponse:
    return graph_error(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )
