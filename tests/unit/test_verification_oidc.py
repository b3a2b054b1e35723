"""OidcVerifierEngine against FakeOidcProvider over HTTPS on 127.0.0.1, state in moto's verification table.

The tests play the hire's browser: they open the authorization URL that `start` returns, read
`code` and `state` from the provider's redirect and hand them to `complete`. The provider
signs real ID tokens; a test changes a claim or the signing key to provoke one failure.

pytest-socket: the `allow_hosts` marker lets these tests connect to 127.0.0.1 even when the
unit suite runs with --disable-socket; every other host stays blocked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities import parameters

from hireproof.errors import (
    ConfigurationError,
    IdTokenInvalidError,
    TransientError,
    VerificationEngineError,
    VerifierStateError,
)
from hireproof.local.fakes.oidc_provider import DEFAULT_PERSON, FakeOidcProvider
from hireproof.models import Decision
from hireproof.verification.engine import EngineResult, FaceMetric, FieldSource, HireFacts, LivenessStatus
from hireproof.verification.images import fingerprint_document_number
from hireproof.verification.oidc_engine import STATE_PREFIX, OidcVerifierEngine, OidcVerifierSettings
from hireproof.verification.policy import PolicySettings, decide
from template_resources import StackResources, mocked_stack

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

KEY = b"fingerprint-key-for-tests-only!!"
SESSION = "bamboohr-4821.onboarding"
HIRE_ID = "bamboohr-4821"
TODAY = dt.datetime.now(dt.UTC).date()
HIRE = HireFacts(
    given_name="Renée",
    middle_name="Claire",
    family_name="Dubois",
    date_of_birth=dt.date(1990, 5, 14),
    verification_date=TODAY,
)
PROD = PolicySettings.for_stage("prod")


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


@pytest.fixture
def provider() -> Iterator[FakeOidcProvider]:
    fake = FakeOidcProvider()
    fake.start()
    yield fake
    fake.stop()


def make_engine(provider: FakeOidcProvider, **changes: Any) -> OidcVerifierEngine:
    settings: dict[str, Any] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": provider.redirect_uri,
        "ca_bundle": provider.ca_bundle_path,
        "timeout": (2.0, 5.0),
        **changes,
    }
    return OidcVerifierEngine(OidcVerifierSettings.model_validate(settings))


@pytest.fixture
def engine(stack: StackResources, provider: FakeOidcProvider) -> OidcVerifierEngine:
    return make_engine(provider)


def follow(url: str, provider: FakeOidcProvider) -> dict[str, str]:
    """Open the authorization URL as the hire's browser; return the redirect's query parameters."""
    response = requests.get(url, allow_redirects=False, verify=provider.ca_bundle_path, timeout=5)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.redirect_uri
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def authorize(
    engine: OidcVerifierEngine, provider: FakeOidcProvider, session_id: str = SESSION
) -> tuple[str, str]:
    """Start the flow and let the provider approve; return (state, code)."""
    redirect = follow(engine.start(session_id, HIRE_ID), provider)
    return redirect["state"], redirect["code"]


def verify(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> EngineResult:
    state, code = authorize(engine, provider)
    return engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)


def state_item(stack: StackResources, state: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(stack.name("VerificationTable"))
    item = table.get_item(Key={"session_id": STATE_PREFIX + state}, ConsistentRead=True).get("Item")
    return dict(item) if item is not None else None


def rejected_check(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> str:
    """Run one verification that must fail ID token validation; return the failed check."""
    with pytest.raises(IdTokenInvalidError) as caught:
        verify(engine, provider)
    assert caught.value.field is not None
    return caught.value.field


# ----------------------------------------------------------------- the flow
def test_start_stores_state_returns_pkce_url(
    stack: StackResources, engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    url = engine.start(SESSION, HIRE_ID)

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{provider.base_url}/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == provider.client_id
    assert query["redirect_uri"] == provider.redirect_uri
    assert query["scope"] == "openid profile"
    assert query["code_challenge_method"] == "S256"
    item = state_item(stack, query["state"])
    assert item is not None
    assert item["verification_session_id"] == SESSION
    assert item["hire_id"] == HIRE_ID
    assert item["nonce"] == query["nonce"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(item["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode()
    assert item["code_verifier"] not in url
    assert 0 < int(item["expires_at"]) - time.time() <= 900


def test_complete_maps_claims_to_result(
    stack: StackResources, engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    state, code = authorize(engine, provider)

    result = engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    assert result.engine == "oidc_provider"
    assert result.document.source is FieldSource.OIDC_PROVIDER
    assert (result.document.given_name.value, result.document.given_name.confidence) == ("Renée", 100.0)
    assert result.document.middle_name.value == "Claire"
    assert result.document.family_name.value == "Dubois"
    assert result.document.date_of_birth.value == dt.date(1990, 5, 14)
    # govtid_expired false: valid at least on the day the token was issued.
    assert result.document.expiry_date.value == TODAY
    assert result.face_match.metric is FaceMetric.SIMILARITY
    assert result.face_match.score == 100.0
    assert result.liveness.status is LivenessStatus.NOT_CHECKED
    assert "document_expiry_from_provider_flag" in result.notes
    assert state_item(stack, state) is None, "the state is spent"


def test_token_request_basic_auth_and_verifier(
    stack: StackResources, engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    state, code = authorize(engine, provider)
    verifier = (state_item(stack, state) or {})["code_verifier"]

    engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    [request] = provider.calls_to("POST", "/token")
    form = request.form()
    assert request.headers["authorization"].startswith("Basic ")
    assert "client_secret" not in form
    assert "client_id" not in form
    assert form["code_verifier"] == verifier
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == provider.redirect_uri


def test_discovery_and_jwks_fetched_once(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    verify(engine, provider)
    verify(engine, provider)

    assert len(provider.calls_to("GET", "/.well-known/openid-configuration")) == 1
    assert len(provider.calls_to("GET", "/jwks")) == 1


def test_es256_provider_is_accepted(stack: StackResources) -> None:
    with FakeOidcProvider(algorithm="ES256") as es_provider:
        assert isinstance(es_provider, FakeOidcProvider)
        result = verify(make_engine(es_provider), es_provider)

    assert result.document.family_name.value == "Dubois"


def test_logs_contain_no_secrets(
    engine: OidcVerifierEngine, provider: FakeOidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    state, code = authorize(engine, provider)
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    # botocore logs whole requests at DEBUG in any application; Lambda runs at INFO.
    ours = "\n".join(
        record.getMessage() + str(record.__dict__)
        for record in caplog.records
        if not record.name.startswith(("botocore", "boto3"))
    )
    assert SESSION in ours
    assert "/token" in ours, "the token request was logged by urllib3 at DEBUG"
    token = provider.tokens_issued[-1]
    for secret in (
        provider.client_secret,
        code,
        state,
        token["nonce"],
        token["family_name"],
        token["birthdate"],
    ):
        assert secret not in ours


# ----------------------------------------------------------------- state
def test_replayed_state_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    state, code = authorize(engine, provider)
    engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    with pytest.raises(VerifierStateError) as caught:
        engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    assert caught.value.field == "state"
    assert len(provider.calls_to("POST", "/token")) == 1


def test_other_sessions_state_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    state, code = authorize(engine, provider)

    with pytest.raises(VerifierStateError, match="another session"):
        engine.complete(state, code, session_id="bamboohr-9999.onboarding", fingerprint_key=KEY)
    with pytest.raises(VerifierStateError, match="already used"):
        engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)
    assert provider.calls_to("POST", "/token") == []


def test_expired_state_is_rejected(
    stack: StackResources, engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    state, code = authorize(engine, provider)
    table = boto3.resource("dynamodb").Table(stack.name("VerificationTable"))
    table.update_item(
        Key={"session_id": STATE_PREFIX + state},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )

    with pytest.raises(VerifierStateError, match="expired"):
        engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)


def test_malformed_state_is_rejected(engine: OidcVerifierEngine) -> None:
    with pytest.raises(VerifierStateError, match="malformed"):
        engine.complete("x" * 500, "code", session_id=SESSION, fingerprint_key=KEY)


# ----------------------------------------------------------------- the token endpoint
def test_pkce_verifier_mismatch_rejected(
    stack: StackResources, engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    state, code = authorize(engine, provider)
    table = boto3.resource("dynamodb").Table(stack.name("VerificationTable"))
    table.update_item(
        Key={"session_id": STATE_PREFIX + state},
        UpdateExpression="SET code_verifier = :other",
        ExpressionAttributeValues={":other": "A" * 64},
    )

    with pytest.raises(VerificationEngineError, match="invalid_grant") as caught:
        engine.complete(state, code, session_id=SESSION, fingerprint_key=KEY)

    assert not isinstance(caught.value, IdTokenInvalidError)
    assert len(provider.calls_to("POST", "/token")) == 1
    assert provider.tokens_issued == []


def test_wrong_client_secret_rejected(stack: StackResources, provider: FakeOidcProvider) -> None:
    engine = make_engine(provider, client_secret="not-the-secret")

    with pytest.raises(VerificationEngineError, match="invalid_client"):
        verify(engine, provider)
    assert provider.tokens_issued == []


def test_token_endpoint_outage_is_transient(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.inject_fault(status=503, body={"error": "temporarily_unavailable"}, path_prefix="/token")

    with pytest.raises(TransientError):
        verify(engine, provider)


def test_discovery_issuer_must_match_exactly(stack: StackResources, provider: FakeOidcProvider) -> None:
    engine = make_engine(provider, issuer=provider.issuer + "/")

    with pytest.raises(ConfigurationError, match="issuer"):
        engine.start(SESSION, HIRE_ID)


def test_from_environment_reads_secret_and_settings(
    stack: StackResources, provider: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = boto3.client("secretsmanager").create_secret(
        Name="oidc-verifier",
        SecretString=json.dumps(
            {
                "client_id": provider.client_id,
                "client_secret": provider.client_secret,
                "attests_liveness": True,
            }
        ),
    )
    monkeypatch.setenv("OIDC_VERIFIER_SECRET_ARN", secret["ARN"])
    monkeypatch.setenv("OIDC_VERIFIER_ISSUER", provider.issuer)
    monkeypatch.setenv("OIDC_VERIFIER_REDIRECT_URI", provider.redirect_uri)
    monkeypatch.setenv("OIDC_VERIFIER_CA_BUNDLE", provider.ca_bundle_path)
    parameters.clear_caches()

    engine = OidcVerifierEngine.from_environment()

    assert engine.settings.attests_liveness is True
    assert engine.settings.client_secret.get_secret_value() == provider.client_secret
    assert verify(engine, provider).liveness.status is LivenessStatus.PASSED


def test_from_environment_rejects_plain_http_issuer(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = boto3.client("secretsmanager").create_secret(
        Name="oidc-verifier", SecretString=json.dumps({"client_id": "c", "client_secret": "s"})
    )
    monkeypatch.setenv("OIDC_VERIFIER_SECRET_ARN", secret["ARN"])
    monkeypatch.setenv("OIDC_VERIFIER_ISSUER", "http://idv.example.test")
    monkeypatch.setenv("OIDC_VERIFIER_REDIRECT_URI", "https://verify.example.test/callback")
    parameters.clear_caches()

    with pytest.raises(ConfigurationError, match="issuer"):
        OidcVerifierEngine.from_environment()


# ----------------------------------------------------------------- the ID token
def test_wrong_nonce_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"nonce": "a-nonce-from-another-flow"}

    assert rejected_check(engine, provider) == "nonce"


def test_wrong_issuer_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"iss": provider.issuer + "/"}

    assert rejected_check(engine, provider) == "iss"


def test_wrong_audience_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"aud": "another-client"}

    assert rejected_check(engine, provider) == "aud"


def test_several_audiences_need_azp(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"aud": [provider.client_id, "another-client"]}

    assert rejected_check(engine, provider) == "azp"


def test_expired_token_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    now = int(time.time())
    provider.claim_overrides = {"iat": now - 900, "exp": now - 61 - 5}

    assert rejected_check(engine, provider) == "exp"


def test_expiry_within_leeway_accepted(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    now = int(time.time())
    provider.claim_overrides = {"iat": now - 300, "exp": now - 30}

    assert verify(engine, provider).document.family_name.value == "Dubois"


def test_future_iat_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"iat": int(time.time()) + 300}

    assert rejected_check(engine, provider) == "iat"


def test_token_without_nonce_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"nonce": None}

    assert rejected_check(engine, provider) == "nonce"


def test_at_hash_mismatch_is_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}

    assert rejected_check(engine, provider) == "at_hash"


def test_token_without_at_hash_is_accepted(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    provider.claim_overrides = {"at_hash": None}

    assert verify(engine, provider).document.given_name.value == "Renée"


def test_rs512_token_rejected(stack: StackResources) -> None:
    with FakeOidcProvider(algorithm="RS512") as rs512:
        assert isinstance(rs512, FakeOidcProvider)
        rs512.advertised_algorithms = ("RS256", "RS512")
        assert rejected_check(make_engine(rs512), rs512) == "alg"


def test_provider_without_rs256_es256_rejected(stack: StackResources) -> None:
    with FakeOidcProvider(algorithm="RS512") as rs512:
        assert isinstance(rs512, FakeOidcProvider)
        with pytest.raises(ConfigurationError, match="neither RS256 nor ES256"):
            make_engine(rs512).start(SESSION, HIRE_ID)


def test_signature_by_other_key_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    first_kid = provider.signing_kid
    provider.rotate_key()
    provider.header_overrides = {"kid": first_kid}

    assert rejected_check(engine, provider) == "signature"


def test_key_rotation_refetches_jwks_once(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    verify(engine, provider)
    provider.rotate_key(retire_previous=True)

    result = verify(engine, provider)
    verify(engine, provider)

    assert result.document.family_name.value == "Dubois"
    assert len(provider.calls_to("GET", "/jwks")) == 2


def test_unknown_kid_after_refetch_rejected(engine: OidcVerifierEngine, provider: FakeOidcProvider) -> None:
    verify(engine, provider)
    provider.rotate_key(publish=False)

    assert rejected_check(engine, provider) == "kid"
    assert len(provider.calls_to("GET", "/jwks")) == 2


# ----------------------------------------------------------------- claims into the policy
def decided(provider: FakeOidcProvider, **settings: Any) -> tuple[Decision, tuple[str, ...]]:
    engine = make_engine(provider, **settings)
    decision = decide(verify(engine, provider), HIRE, PROD)
    return decision.decision, decision.reasons


def test_matching_claims_pass_in_prod(stack: StackResources, provider: FakeOidcProvider) -> None:
    assert decided(provider, attests_liveness=True) == (Decision.PASSED, ())


def test_unattested_liveness_needs_review(stack: StackResources, provider: FakeOidcProvider) -> None:
    assert decided(provider) == (Decision.NEEDS_REVIEW, ("liveness_not_checked",))


def test_provider_specific_claims_read(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {
        "nt:legal_first_name": "Renée",
        "middle_name": "Claire",
        "nt:legal_last_name": "Dubois",
        "birth_date": "1990-05-14",
        "govtid_expiration": (TODAY + dt.timedelta(days=400)).isoformat(),
        "liveness_passed": True,
    }

    assert decided(provider) == (Decision.PASSED, ())


def test_other_birthdate_fails(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {**DEFAULT_PERSON, "birthdate": "1985-01-02"}

    assert decided(provider, attests_liveness=True) == (Decision.FAILED, ("dob_mismatch",))


def test_other_name_fails(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {**DEFAULT_PERSON, "given_name": "Marcus", "middle_name": None, "family_name": "Okafor"}

    decision, reasons = decided(provider, attests_liveness=True)

    assert decision is Decision.FAILED
    assert "name_mismatch" in reasons


def test_failed_liveness_claim_fails(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {**DEFAULT_PERSON, "liveness_passed": False}

    assert decided(provider) == (Decision.FAILED, ("liveness_failed",))


def test_expired_document_flag_goes_to_review(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {**DEFAULT_PERSON, "govtid_expired": True}

    assert decided(provider, attests_liveness=True) == (Decision.NEEDS_REVIEW, ("document_expired",))


def test_year_only_birthdate_goes_to_review(stack: StackResources, provider: FakeOidcProvider) -> None:
    provider.person = {**DEFAULT_PERSON, "birthdate": "0000-05-14"}

    assert decided(provider, attests_liveness=True) == (Decision.NEEDS_REVIEW, ("dob_unreadable",))


def test_no_attested_face_match_needs_review(stack: StackResources, provider: FakeOidcProvider) -> None:
    decision, reasons = decided(provider, attests_liveness=True, attests_face_match=False)

    assert decision is Decision.NEEDS_REVIEW
    assert reasons == ("face_count_unexpected",)


# ----------------------------------------------------------------- fingerprints for reuse detection
def test_same_person_same_document_fingerprint(
    engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    first = verify(engine, provider)
    second = verify(engine, provider)

    assert first.document_number_fingerprint == second.document_number_fingerprint
    assert first.image_fingerprints.id_front != second.image_fingerprints.id_front


def test_document_number_fingerprint_matches_camera_engines(
    engine: OidcVerifierEngine, provider: FakeOidcProvider
) -> None:
    provider.person = {**DEFAULT_PERSON, "document_number": "D4820017", "issuing_country": "ZZ"}

    result = verify(engine, provider)

    assert result.document_number_fingerprint == fingerprint_document_number(
        KEY, issuer="ZZ", number="D4820017"
    )
