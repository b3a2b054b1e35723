"""The claims of HireProof's ID tokens and userinfo responses, built from one verified login.

HireProof keeps no login session: every authorization runs a new document-and-face
verification, and `auth_time` is the time that verification finished. So `max_age` and
`prompt=login` are met by construction, and `prompt=none` always fails with `login_required`.

Claims by scope:

| scope | claims |
|---|---|
| openid (required) | sub, auth_time, acr, amr, verified_claims (its `claims` member stays empty) |
| email | email |
| profile | name, given_name, family_name, and the names inside verified_claims |
| groups | groups |

`email_verified` is left out: the address is the one in the HR record of the person whose
documents were checked, but no step proves that this person controls the mailbox.

`verified_claims` follows the OpenID Identity Assurance Schema Definition 1.0 (final, October
2024): the `verification` member names the trust framework, the time, HireProof's procedure and
one `document` evidence with its checks and document details.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hireproof.hashing import keyed_hash

ACR_DOCUMENT_LIVENESS = "urn:hireproof:acr:document-liveness"
"""An identity document was checked and a live face, proven by a liveness check, matched its portrait."""
ACR_DOCUMENT_FACE = "urn:hireproof:acr:document-face"
"""An identity document was checked and a face photo matched its portrait, without a liveness check.

Only the local face engine produces it, which the local and dev stages allow and prod never does.
"""
ACR_VALUES: tuple[str, ...] = (ACR_DOCUMENT_LIVENESS, ACR_DOCUMENT_FACE)

# RFC 8176 values: "face" is facial recognition, "user" a test of user presence (the liveness check).
AMR_FACE = "face"
AMR_USER_PRESENCE = "user"

TRUST_FRAMEWORK = "hireproof"
"""HireProof's own rules: a document and face check bound to the person's HR record, not a legal framework."""
EVIDENCE_TYPE = "document"
# Predefined check_method values of the eKYC-IDA working group: "vri" is a validation of the
# document from remote images, "bvr" a remote biometric verification of the person against it.
# NOTE: both codes come from the working group's examples and notes, not from its published table
# of predefined values, which was not available here. Compare them with that table before relying on them.
CHECK_DOCUMENT_FROM_IMAGES = "vri"
CHECK_BIOMETRIC_REMOTE = "bvr"

# HireProof's document types (hireproof.verification.engine.DocumentType) and the IDA names.
IDA_DOCUMENT_TYPES: Mapping[str, str] = {
    "driver_license": "driving_permit",
    "driving_permit": "driving_permit",
    "id_card": "idcard",
    "idcard": "idcard",
    "passport": "passport",
}
SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "email": ("email",),
    "profile": ("name", "given_name", "family_name"),
    "groups": ("groups",),
}
VERIFIED_NAME_CLAIMS = ("given_name", "family_name")
ID_TOKEN_TTL_SECONDS = 300
SUBJECT_HASH_PURPOSE = "oidc-sub"
_COUNTRY_CODE = re.compile(r"^[A-Z]{2,3}$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class VerifiedLogin(BaseModel):
    """The person a new verification matched, which the authorization code and tokens carry.

    `auth_time` is when that verification finished, and must be timezone-aware.
    `verification_method` names how the face was checked, the engine name `rekognition`
    or `local`; it becomes `verified_claims.verification.assurance_process.procedure`.
    `liveness_checked` is True when a liveness check proved a live person, which decides acr and amr.
    It defaults to True because prod runs only engines that check liveness. A login verified by
    the local face engine (local and dev stages) must pass False.
    `verification_id` optionally names the verification for audits (`verification_process`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: Text
    email: Text
    given_name: Text
    family_name: Text
    groups: list[Text] = Field(default_factory=list)
    auth_time: dt.datetime
    document_type: str | None = None
    issuing_country: str | None = None
    verification_method: Text
    liveness_checked: bool = True
    verification_id: str | None = None

    @field_validator("auth_time")
    @classmethod
    def _auth_time_is_aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("auth_time must be timezone-aware, such as 2026-12-01T09:30:00+00:00")
        return value.astimezone(dt.UTC)


def subject_for(person_id: str, *, key: bytes | None = None) -> str:
    """Return the `sub` of a person: a keyed hash of the person id, the same for every client.

    The key is the stack's hash key (HASH_KEY_SECRET_ARN) unless `key` is given. A `sub` cannot
    be linked to a person id without that key.
    """
    # NOTE: keyed_hash folds case and punctuation first, so person ids that differ only there
    # (generic-E_1 and generic-e-1) would share a sub. Onboarding ids are `<source>-<employee id>`,
    # and one HR system does not issue two such ids, but a hash of the exact id would rule it out.
    return keyed_hash(SUBJECT_HASH_PURPOSE, person_id, key=key)


def acr_for(login: VerifiedLogin) -> str:
    """Return the Authentication Context Class Reference the login's checks reached."""
    return ACR_DOCUMENT_LIVENESS if login.liveness_checked else ACR_DOCUMENT_FACE


def amr_for(login: VerifiedLogin) -> list[str]:
    """Return the RFC 8176 authentication methods of the login: face, plus user presence with liveness."""
    return [AMR_FACE, AMR_USER_PRESENCE] if login.liveness_checked else [AMR_FACE]


def _iso_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _document_details(login: VerifiedLogin) -> dict[str, Any] | None:
    document_type = IDA_DOCUMENT_TYPES.get((login.document_type or "").strip().lower())
    if document_type is None:
        # IDA requires a type in document_details, so an unknown document gets none.
        return None
    details: dict[str, Any] = {"type": document_type}
    country = (login.issuing_country or "").strip().upper()
    if _COUNTRY_CODE.match(country):
        # IDA requests ICAO 3-letter codes and accepts 2-letter ones, and the engines report either.
        details["issuer"] = {"country_code": country}
    return details


def verified_claims(login: VerifiedLogin, scopes: Collection[str]) -> dict[str, Any]:
    """Build `verified_claims`: how the person was verified, and the names the check confirmed.

    The names appear only with the profile scope; IDA allows an empty `claims` object.
    """
    checks = [{"check_method": CHECK_DOCUMENT_FROM_IMAGES}, {"check_method": CHECK_BIOMETRIC_REMOTE}]
    evidence: dict[str, Any] = {
        "type": EVIDENCE_TYPE,
        "check_details": checks,
        "time": _iso_time(login.auth_time),
    }
    details = _document_details(login)
    if details is not None:
        evidence["document_details"] = details

    verification: dict[str, Any] = {
        "trust_framework": TRUST_FRAMEWORK,
        "time": _iso_time(login.auth_time),
        "assurance_process": {"policy": TRUST_FRAMEWORK, "procedure": login.verification_method},
        "evidence": [evidence],
    }
    if login.verification_id:
        verification["verification_process"] = login.verification_id

    names = {"given_name": login.given_name, "family_name": login.family_name}
    claims = names if "profile" in scopes else {}
    return {"verification": verification, "claims": claims}


def identity_claims(login: VerifiedLogin, *, subject: str, scopes: Collection[str]) -> dict[str, Any]:
    """Return the claims about the person that the granted scopes allow: the userinfo response.

    `subject` is the stable opaque `sub` that `subject_for` returns.
    """
    claims: dict[str, Any] = {"sub": subject}
    if "email" in scopes:
        claims["email"] = login.email
    if "profile" in scopes:
        claims["name"] = f"{login.given_name} {login.family_name}"
        claims["given_name"] = login.given_name
        claims["family_name"] = login.family_name
    if "groups" in scopes:
        claims["groups"] = list(login.groups)
    claims["verified_claims"] = verified_claims(login, scopes)
    return claims


def id_token_claims(
    login: VerifiedLogin,
    *,
    identity: Mapping[str, Any],
    issuer: str,
    audience: str,
    nonce: str | None,
    now: int,
    at_hash: str | None = None,
) -> dict[str, Any]:
    """Return the ID token's claims: the identity claims plus iss, aud, exp, iat and the login's facts.

    `now` is Unix time in whole seconds, and the token expires `ID_TOKEN_TTL_SECONDS` later.
    """
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ID_TOKEN_TTL_SECONDS,
        "auth_time": int(login.auth_time.timestamp()),
        "acr": acr_for(login),
        "amr": amr_for(login),
        **identity,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if at_hash is not None:
        claims["at_hash"] = at_hash
    return claims
