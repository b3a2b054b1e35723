"""ID token and userinfo claims: what each scope releases, acr and amr, sub, and verified_claims."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from hireproof.hashing import keyed_hash
from hireproof.oidc.claims import (
    ACR_DOCUMENT_FACE,
    ACR_DOCUMENT_LIVENESS,
    ID_TOKEN_TTL_SECONDS,
    VerifiedLogin,
    acr_for,
    amr_for,
    id_token_claims,
    identity_claims,
    subject_for,
    verified_claims,
)

AUTH_TIME = dt.datetime(2026, 12, 1, 9, 30, 15, tzinfo=dt.UTC)
ALL_SCOPES = ("openid", "email", "profile", "groups")
KEY = b"test-hash-key"


def login(**overrides: Any) -> VerifiedLogin:
    fields: dict[str, Any] = {
        "person_id": "generic-E-1001",
        "email": "ada.lovelace@example.com",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "groups": ["engineering", "hireproof-verified"],
        "auth_time": AUTH_TIME,
        "document_type": "driver_license",
        "issuing_country": "US",
        "verification_method": "document_and_liveness",
    }
    fields.update(overrides)
    return VerifiedLogin(**fields)


def test_openid_scope_releases_sub_and_verification_only() -> None:
    claims = identity_claims(login(), subject="sub-1", scopes=("openid",))

    assert set(claims) == {"sub", "verified_claims"}
    assert claims["sub"] == "sub-1"
    assert claims["verified_claims"]["claims"] == {}


def test_all_scopes_release_email_names_and_groups() -> None:
    claims = identity_claims(login(), subject="sub-1", scopes=ALL_SCOPES)

    assert claims["email"] == "ada.lovelace@example.com"
    assert claims["name"] == "Ada Lovelace"
    assert claims["given_name"] == "Ada"
    assert claims["family_name"] == "Lovelace"
    assert claims["groups"] == ["engineering", "hireproof-verified"]
    assert claims["verified_claims"]["claims"] == {"given_name": "Ada", "family_name": "Lovelace"}
    assert "email_verified" not in claims


@pytest.mark.parametrize(
    ("scope", "released", "withheld"),
    [
        ("email", {"email"}, {"name", "groups"}),
        ("profile", {"name", "given_name", "family_name"}, {"email", "groups"}),
        ("groups", {"groups"}, {"email", "name"}),
    ],
)
def test_each_scope_releases_its_claims(scope: str, released: set[str], withheld: set[str]) -> None:
    claims = identity_claims(login(), subject="sub-1", scopes=("openid", scope))

    assert released <= set(claims)
    assert not withheld & set(claims)


def test_liveness_gives_document_liveness_acr_and_user_presence() -> None:
    assert acr_for(login()) == ACR_DOCUMENT_LIVENESS
    assert amr_for(login()) == ["face", "user"]


def test_no_liveness_gives_document_face_acr() -> None:
    without = login(liveness_checked=False, verification_method="local")

    assert acr_for(without) == ACR_DOCUMENT_FACE
    assert amr_for(without) == ["face"]


def test_verified_claims_structure() -> None:
    document = verified_claims(login(verification_id="session-42"), ALL_SCOPES)
    verification = document["verification"]
    [evidence] = verification["evidence"]

    assert verification["trust_framework"] == "hireproof"
    assert verification["time"] == "2026-12-01T09:30:15Z"
    assert verification["verification_process"] == "session-42"
    assert verification["assurance_process"]["procedure"] == "document_and_liveness"
    assert evidence["type"] == "document"
    assert evidence["time"] == "2026-12-01T09:30:15Z"
    assert [check["check_method"] for check in evidence["check_details"]] == ["vri", "bvr"]
    assert evidence["document_details"] == {"type": "driving_permit", "issuer": {"country_code": "US"}}


@pytest.mark.parametrize(
    ("document_type", "expected"),
    [("passport", "passport"), ("id_card", "idcard"), ("DRIVER_LICENSE", "driving_permit")],
)
def test_document_types_map_to_ida_names(document_type: str, expected: str) -> None:
    [evidence] = verified_claims(login(document_type=document_type), ALL_SCOPES)["verification"]["evidence"]

    assert evidence["document_details"]["type"] == expected


@pytest.mark.parametrize("document_type", [None, "other", "library_card"])
def test_unknown_document_type_has_no_details(document_type: str | None) -> None:
    [evidence] = verified_claims(login(document_type=document_type), ALL_SCOPES)["verification"]["evidence"]

    assert "document_details" not in evidence


@pytest.mark.parametrize(("country", "kept"), [("usa", "USA"), ("JP", "JP"), ("U.S.", None), (None, None)])
def test_issuing_country_is_kept_only_as_a_code(country: str | None, kept: str | None) -> None:
    [evidence] = verified_claims(login(issuing_country=country), ALL_SCOPES)["verification"]["evidence"]

    assert evidence["document_details"].get("issuer", {}).get("country_code") == kept


def test_id_token_claims_add_protocol_claims() -> None:
    identity = identity_claims(login(), subject="sub-1", scopes=ALL_SCOPES)

    claims = id_token_claims(
        login(),
        identity=identity,
        issuer="https://idp.example.test",
        audience="client-1",
        nonce="n-1",
        now=1_796_000_000,
        at_hash="hash",
    )

    assert claims["iss"] == "https://idp.example.test"
    assert claims["aud"] == "client-1"
    assert claims["iat"] == 1_796_000_000
    assert claims["exp"] == 1_796_000_000 + ID_TOKEN_TTL_SECONDS
    assert claims["auth_time"] == int(AUTH_TIME.timestamp())
    assert claims["nonce"] == "n-1"
    assert claims["at_hash"] == "hash"
    assert claims["acr"] == ACR_DOCUMENT_LIVENESS
    assert claims["email"] == "ada.lovelace@example.com"


def test_id_token_claims_leave_out_missing_nonce() -> None:
    claims = id_token_claims(
        login(), identity={"sub": "sub-1"}, issuer="https://i", audience="c", nonce=None, now=1
    )

    assert "nonce" not in claims
    assert "at_hash" not in claims


def test_subject_is_keyed_hash_of_person_id() -> None:
    first = subject_for("generic-E-1001", key=KEY)

    assert first == keyed_hash("oidc-sub", "generic-E-1001", key=KEY)
    assert first == subject_for("generic-E-1001", key=KEY)
    assert first != subject_for("generic-E-1002", key=KEY)
    assert first != subject_for("generic-E-1001", key=b"other-key")
    assert "1001" not in first


def test_verified_login_rejects_naive_auth_time() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        login(auth_time=dt.datetime(2026, 12, 1, 9, 30))


def test_verified_login_converts_auth_time_to_utc() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))

    assert login(auth_time=AUTH_TIME.astimezone(tokyo)).auth_time == AUTH_TIME
