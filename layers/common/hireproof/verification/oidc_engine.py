"""External OIDC verifier: an identity verification provider checks the hire, its ID token reports it.

For teams that already verify people with a provider such as Nametag. The provider checks
the photo ID and the face; HireProof reads the outcome from the provider's OpenID Connect ID
token and maps it into an `EngineResult`, so that `policy.decide` decides it as it decides
the camera engines' results.

Flow: the authorization code flow with PKCE (RFC 7636, S256) and a nonce (OIDC Core 3.1).

1. `start(session_id, hire_id)` stores state, nonce and code verifier in the verification
   table, in an item keyed `oidc#<state>` that expires (TTL), because the Lambda that
   completes the flow is not the one that started it. It returns the provider's
   authorization URL, where the verification page sends the hire.
2. The provider verifies the hire and redirects back with `code` and `state`. The page
   posts both, with its invitation token, to the verification API.
3. `complete(state, code, session_id=..., fingerprint_key=...)` spends the state (a
   conditional delete, so it works once), exchanges the code at the token endpoint with
   client_secret_basic and the code verifier, validates the ID token and maps its claims.

ID token checks (OIDC Core 3.1.3.7):
- the signature, RS256 or ES256 only, with a key from the provider's JWKS. The JWKS is
  cached and fetched again once when a token names an unknown kid, because that is how
  providers rotate keys;
- iss exactly equal to the discovery document's issuer;
- aud containing the client id, and azp equal to it when present or when there are
  several audiences;
- exp and iat with 60 s of leeway, and nonce equal to the stored one;
- at_hash, when present, equal to the left half of the access token's hash.

Mapping: names, birthdate and the document's expiry become `DocumentFields` with source
`oidc_provider` and confidence 100 (the provider reports no confidence). A provider that
reports only whether the document had expired (`govtid_expired`) gives a bound instead
of a date: not expired means valid on the day the token was issued, expired means the day
before. The face match is attested: similarity 100 when `attests_face_match`, else no face
is counted and the policy sends the verification to review. Liveness is PASSED or FAILED
when the token carries a liveness claim or the provider is configured as checking it, else not_checked.
No image reaches HireProof, so the "front image" fingerprint is the keyed hash of this
attempt's ID token, and the document fingerprint is that of the document number when the
provider reports one (comparable with the camera engines'), else of the provider's
subject: one verified person behind two hires is then `document_reused`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Self
from urllib.parse import quote_plus, urlsplit

import jwt
import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from hireproof import aws
from hireproof.config import optional_env, require_env
from hireproof.errors import (
    ConfigurationError,
    IdTokenInvalidError,
    TransientError,
    VerificationEngineError,
    VerifierStateError,
)
from hireproof.verification.engine import (
    DateField,
    DocumentFields,
    EngineResult,
    FaceMatch,
    FaceMetric,
    FieldSource,
    ImageFingerprints,
    LivenessResult,
    LivenessStatus,
    TextField,
)
from hireproof.verification.images import fingerprint_document_number

logger = Logger(child=True)
# requests-oauthlib logs token request and response bodies (the client secret, the code,
# the ID token) at DEBUG; keep them out of every log whatever the root level.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)

ENGINE_NAME = "oidc_provider"
STATE_PREFIX = "oidc#"
ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
DEFAULT_STATE_TTL_SECONDS = 900
DISCOVERY_CACHE_SECONDS = 3600
JWKS_CACHE_SECONDS = 3600
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)
PROVIDER_CONFIDENCE = 100.0
# Code verifier length (RFC 7636 allows 43-128 characters).
CODE_VERIFIER_LENGTH = 64
_STATE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nonce"]
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


class ClaimNames(BaseModel):
    """Claim names to read each fact from, first present wins.

    The defaults are the OIDC standard claims and common provider-specific alternatives;
    configure others for a provider that names its claims differently.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: tuple[str, ...] = ("given_name", "legal_first_name", "nt:legal_first_name")
    family_name: tuple[str, ...] = ("family_name", "legal_last_name", "nt:legal_last_name")
    middle_name: tuple[str, ...] = ("middle_name", "legal_middle_name")
    birthdate: tuple[str, ...] = ("birthdate", "birth_date", "nt:birth_date")
    document_expiry: tuple[str, ...] = ("govtid_expiration", "document_expiration", "document_expiry")
    document_expired: tuple[str, ...] = ("govtid_expired", "document_expired")
    document_number: tuple[str, ...] = ("govtid_number", "document_number")
    issuing_country: tuple[str, ...] = ("govtid_country", "issuing_country")
    liveness: tuple[str, ...] = ("liveness_passed", "liveness")


class OidcVerifierSettings(BaseModel):
    """How to reach one provider and what it attests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(description="Issuer identifier; the discovery document is under it.")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    redirect_uri: str = Field(description="The verification page's callback, registered at the provider.")
    scopes: tuple[str, ...] = ("openid", "profile")
    claims: ClaimNames = ClaimNames()
    attests_face_match: bool = Field(
        default=True, description="The provider compares the person's face with the document portrait."
    )
    attests_liveness: bool = Field(
        default=False, description="The provider runs a liveness check even when no claim reports it."
    )
    state_ttl_seconds: int = Field(default=DEFAULT_STATE_TTL_SECONDS, ge=60, le=3600)
    ca_bundle: str | None = Field(default=None, description="Extra CA bundle; only the local fake needs one.")
    timeout: tuple[float, float] = DEFAULT_TIMEOUT

    @field_validator("issuer", "redirect_uri")
    @classmethod
    def _https(cls, value: str) -> str:
        if not _secure_url(value):
            raise ValueError("must be an https URL")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("must include openid")
        return value


class ProviderMetadata(BaseModel):
    """The parts of the discovery document (OpenID Connect Discovery 1.0) this engine uses."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    code_challenge_methods_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] = ("client_secret_basic",)
    id_token_signing_alg_values_supported: tuple[str, ...] = ()


class _PendingAuthorization(BaseModel):
    """Stored request of one authorization, written by `start` under its state."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    verification_session_id: str
    hire_id: str
    nonce: str
    code_verifier: str
    expires_at: int


def _secure_url(value: str) -> bool:
    """Return whether a URL is https, or http on this machine (the local fakes)."""
    url = urlsplit(value)
    return url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOCAL_HOSTS)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@contextmanager
def _transport_errors(operation: str) -> Iterator[None]:
    """Map requests' TLS, timeout and connection failures to HireProof errors."""
    try:
        yield
    except requests.exceptions.SSLError as exc:
        raise ConfigurationError(f"OIDC provider TLS verification failed for {operation}") from exc
    except requests.Timeout as exc:
        raise TransientError(f"OIDC provider {operation} timed out") from exc
    except requests.ConnectionError as exc:
        raise TransientError(f"OIDC provider {operation} failed to connect") from exc


class OidcVerifierEngine:
    """Verification through an external OpenID provider of identity verification."""

    name = ENGINE_NAME

    def __init__(self, settings: OidcVerifierSettings, *, table_name: str | None = None) -> None:
        self.settings = settings
        self._table_name = table_name
        self._metadata: ProviderMetadata | None = None
        self._metadata_fetched_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None

    @classmethod
    def from_environment(cls) -> Self:
        """Build the engine from OIDC_VERIFIER_ISSUER, OIDC_VERIFIER_REDIRECT_URI and the secret.

        OIDC_VERIFIER_SECRET_ARN contains JSON: `client_id`, `client_secret` and optionally
        `claims` (a ClaimNames object), `attests_face_match`, `attests_liveness`.
        OIDC_VERIFIER_CA_BUNDLE names an extra CA bundle (local fakes only).
        """
        secret = parameters.get_secret(require_env("OIDC_VERIFIER_SECRET_ARN"), transform="json", max_age=300)
        if not isinstance(secret, Mapping):
            raise ConfigurationError("the secret in OIDC_VERIFIER_SECRET_ARN must be a JSON object")
        try:
            settings = OidcVerifierSettings.model_validate(
                {
                    **secret,
                    "issuer": require_env("OIDC_VERIFIER_ISSUER"),
                    "redirect_uri": require_env("OIDC_VERIFIER_REDIRECT_URI"),
                    "ca_bundle": optional_env("OIDC_VERIFIER_CA_BUNDLE") or None,
                }
            )
        except ValidationError as exc:
            fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
            raise ConfigurationError(f"OIDC verifier settings are invalid: {fields}") from exc
        return cls(settings)

    # ------------------------------------------------------------------ plumbing
    def _table(self) -> Any:
        return aws.table(self._table_name or require_env("VERIFICATION_TABLE"))

    def _verify(self) -> bool | str:
        return self.settings.ca_bundle or True

    def metadata(self) -> ProviderMetadata:
        """Return the provider's discovery document, cached for an hour in this process."""
        if (
            self._metadata is not None
            and time.monotonic() - self._metadata_fetched_at < DISCOVERY_CACHE_SECONDS
        ):
            return self._metadata
        url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with _transport_errors("discovery"):
            response = requests.get(url, timeout=self.settings.timeout, verify=self._verify())
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"OIDC provider discovery failed with status {response.status_code}")
        if response.status_code != 200:
            raise ConfigurationError(f"OIDC provider discovery returned status {response.status_code}")
        try:
            metadata = ProviderMetadata.model_validate_json(response.content)
        except ValidationError as exc:
            raise ConfigurationError("the OIDC provider's discovery document is incomplete") from exc
        self._check_metadata(metadata)
        if self._metadata is None or self._metadata.jwks_uri != metadata.jwks_uri:
            self._jwks = None
        self._metadata, self._metadata_fetched_at = metadata, time.monotonic()
        return metadata

    def _check_metadata(self, metadata: ProviderMetadata) -> None:
        # OpenID Connect Discovery 4.3: the document's issuer is the one it was fetched for.
        if metadata.issuer != self.settings.issuer:
            raise ConfigurationError("the OIDC provider's discovery issuer differs from the configured one")
        methods = metadata.code_challenge_methods_supported
        if methods is not None and "S256" not in methods:
            raise ConfigurationError("the OIDC provider does not support PKCE with S256")
        if "client_secret_basic" not in metadata.token_endpoint_auth_methods_supported:
            raise ConfigurationError("the OIDC provider does not accept client_secret_basic")
        algorithms = metadata.id_token_signing_alg_values_supported
        if algorithms and not set(algorithms) & set(ALGORITHMS):
            raise ConfigurationError("the OIDC provider signs ID tokens with neither RS256 nor ES256")
        for url in (metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri):
            if not _secure_url(url):
                raise ConfigurationError("the OIDC provider's endpoints must be https URLs")

    def _jwks_client(self, jwks_uri: str) -> jwt.PyJWKClient:
        if self._jwks is None:
            context = (
                ssl.create_default_context(cafile=self.settings.ca_bundle)
                if self.settings.ca_bundle
                else None
            )
            self._jwks = jwt.PyJWKClient(
                jwks_uri,
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=self.settings.timeout[1],
                ssl_context=context,
                # ID tokens come from the token endpoint over TLS, not from the browser, so an
                # unknown kid means a rotation: fetch again at once, and only once per token.
                cooldown_duration=0,
            )
        return self._jwks

    # ------------------------------------------------------------------ start
    def start(self, session_id: str, hire_id: str) -> str:
        """Store a new state, nonce and code verifier for a session; return the authorization URL."""
        metadata = self.metadata()
        client = WebApplicationClient(self.settings.client_id)
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = client.create_code_verifier(CODE_VERIFIER_LENGTH)

        now = int(time.time())
        self._table().put_item(
            Item={
                "session_id": STATE_PREFIX + state,
                "verification_session_id": session_id,
                "hire_id": hire_id,
                "nonce": nonce,
                "code_verifier": code_verifier,
                "created_at": now,
                "expires_at": now + self.settings.state_ttl_seconds,
            },
            ConditionExpression="attribute_not_exists(session_id)",
        )

        oauth = OAuth2Session(
            client=client, redirect_uri=self.settings.redirect_uri, scope=list(self.settings.scopes)
        )
        url, _ = oauth.authorization_url(
            metadata.authorization_endpoint,
            state=state,
            nonce=nonce,
            code_challenge=client.create_code_challenge(code_verifier, "S256"),
            code_challenge_method="S256",
        )
        logger.info("oidc verification started", extra={"session_id": session_id, "hire_id": hire_id})
        return str(url)

    # ------------------------------------------------------------------ complete
    def complete(self, state: str, code: str, *, session_id: str, fingerprint_key: bytes) -> EngineResult:
        """Finish the flow for the session that started it and return the provider's measurements.

        Raises:
        - VerifierStateError for a state that is unknown, used, expired or another session's;
        - VerificationEngineError when the provider rejects the code;
        - IdTokenInvalidError for an ID token that fails validation (`field` names the check);
        - TransientError when the provider is unreachable or failing.
        """
        pending = self._consume_state(state, session_id)
        metadata = self.metadata()
        token = self._exchange(metadata, code, pending.code_verifier)
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise IdTokenInvalidError("the OIDC provider returned no ID token", field="id_token")
        claims = self.validate_id_token(
            id_token, nonce=pending.nonce, access_token=str(token.get("access_token", ""))
        )
        logger.info(
            "oidc verification completed", extra={"session_id": session_id, "hire_id": pending.hire_id}
        )
        return self.measurements(claims, id_token=id_token, fingerprint_key=fingerprint_key)

    def _consume_state(self, state: str, session_id: str) -> _PendingAuthorization:
        if not _STATE_PATTERN.fullmatch(state):
            raise VerifierStateError("the verification callback's state is malformed", field="state")
        try:
            response = self._table().delete_item(
                Key={"session_id": STATE_PREFIX + state},
                ConditionExpression="attribute_exists(session_id)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VerifierStateError(
                    "the verification callback's state is unknown or was already used", field="state"
                ) from exc
            raise
        pending = _PendingAuthorization.model_validate(response["Attributes"])
        # The table's TTL deletes late, so an expired item can still be there.
        if pending.expires_at <= time.time():
            raise VerifierStateError("the verification callback's state has expired", field="state")
        if pending.verification_session_id != session_id:
            logger.warning("oidc state of another session", extra={"session_id": session_id})
            raise VerifierStateError("the verification callback belongs to another session", field="state")
        return pending

    def _exchange(self, metadata: ProviderMetadata, code: str, code_verifier: str) -> dict[str, Any]:
        # No scope on this session: oauthlib would otherwise refuse a token whose granted
        # scope differs from the requested one, and the ID token's claims decide anyway.
        oauth = OAuth2Session(
            client=WebApplicationClient(self.settings.client_id), redirect_uri=self.settings.redirect_uri
        )
        oauth.register_compliance_hook("access_token_response", _check_token_status)
        # RFC 6749 2.3.1: client_secret_basic form-urlencodes both parts before Base64.
        auth = HTTPBasicAuth(
            quote_plus(self.settings.client_id), quote_plus(self.settings.client_secret.get_secret_value())
        )
        try:
            with _transport_errors("token request"):
                token: dict[str, Any] = oauth.fetch_token(
                    metadata.token_endpoint,
                    code=code,
                    code_verifier=code_verifier,
                    auth=auth,
                    timeout=self.settings.timeout,
                    verify=self._verify(),
                )
        except OAuth2Error as exc:
            raise VerificationEngineError(
                f"the OIDC provider rejected the authorization code: {exc.error}"
            ) from exc
        return token

    # ------------------------------------------------------------------ the ID token
    def validate_id_token(self, id_token: str, *, nonce: str, access_token: str) -> dict[str, Any]:
        """Validate an ID token from the token endpoint and return its claims."""
        metadata = self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.DecodeError as exc:
            raise IdTokenInvalidError("the ID token is not a JWT", field="id_token") from exc
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise IdTokenInvalidError("the ID token's algorithm is not RS256 or ES256", field="alg")
        key = self._signing_key(metadata.jwks_uri, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=list(ALGORITHMS),
                audience=self.settings.client_id,
                issuer=metadata.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            field, problem = _invalid_claim(exc)
            raise IdTokenInvalidError(f"the ID token failed validation: {problem}", field=field) from exc
        self._check_authorized_party(claims)
        if not isinstance(claims["nonce"], str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise IdTokenInvalidError("the ID token's nonce is not the one sent", field="nonce")
        if "at_hash" in claims and not _at_hash_matches(str(claims["at_hash"]), algorithm, access_token):
            raise IdTokenInvalidError(
                "the ID token's at_hash does not match the access token", field="at_hash"
            )
        return claims

    def _signing_key(self, jwks_uri: str, kid: object) -> jwt.PyJWK:
        if not isinstance(kid, str) or not kid:
            raise IdTokenInvalidError("the ID token names no key (kid)", field="kid")
        try:
            return self._jwks_client(jwks_uri).get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise TransientError("the OIDC provider's JWKS could not be fetched") from exc
        except jwt.PyJWKClientError as exc:
            raise IdTokenInvalidError(
                "the ID token's key is not in the provider's JWKS", field="kid"
            ) from exc

    def _check_authorized_party(self, claims: Mapping[str, Any]) -> None:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if azp is not None and azp != self.settings.client_id:
            raise IdTokenInvalidError("the ID token's azp is another client", field="azp")
        if len(audiences) > 1 and azp is None:
            raise IdTokenInvalidError("an ID token for several audiences needs azp", field="azp")

    # ------------------------------------------------------------------ mapping
    def measurements(
        self, claims: Mapping[str, Any], *, id_token: str, fingerprint_key: bytes
    ) -> EngineResult:
        """Map validated ID token claims into the measurements `policy.decide` reads."""
        names = self.settings.claims
        issued_on = dt.datetime.fromtimestamp(int(claims["iat"]), dt.UTC).date()
        expiry, expiry_note = _expiry(claims, names, issued_on)
        number = _text(claims, names.document_number)
        country = _text(claims, names.issuing_country)
        document = DocumentFields(
            source=FieldSource.OIDC_PROVIDER,
            given_name=_text_field(_text(claims, names.given_name)),
            family_name=_text_field(_text(claims, names.family_name)),
            middle_name=_text_field(_text(claims, names.middle_name)),
            date_of_birth=_date_field(_date(claims, names.birthdate)),
            expiry_date=expiry,
            document_number=_text_field(number),
            issuing_country=_text_field(country),
        )

        notes = ["fields_from_oidc_provider"]
        if expiry_note:
            notes.append(expiry_note)
        if self.settings.attests_face_match:
            notes.append("face_match_attested_by_oidc_provider")

        if number:
            document_fingerprint = fingerprint_document_number(fingerprint_key, issuer=country, number=number)
        else:
            subject = f"oidc_subject|{claims['iss']}|{claims['sub']}"
            document_fingerprint = _keyed_hash(fingerprint_key, subject)
        return EngineResult(
            engine=self.name,
            liveness=self._liveness(claims),
            face_match=self._face_match(),
            document=document,
            image_fingerprints=ImageFingerprints(
                id_front=_keyed_hash(fingerprint_key, f"oidc_id_token|{id_token}")
            ),
            document_number_fingerprint=document_fingerprint,
            notes=tuple(notes),
        )

    def _liveness(self, claims: Mapping[str, Any]) -> LivenessResult:
        attested = _first(claims, self.settings.claims.liveness)
        if isinstance(attested, bool):
            status = LivenessStatus.PASSED if attested else LivenessStatus.FAILED
            return LivenessResult(status=status, confidence=PROVIDER_CONFIDENCE)
        if self.settings.attests_liveness:
            return LivenessResult(status=LivenessStatus.PASSED, confidence=PROVIDER_CONFIDENCE)
        return LivenessResult(status=LivenessStatus.NOT_CHECKED)

    def _face_match(self) -> FaceMatch:
        if self.settings.attests_face_match:
            # The provider releases claims only for a person whose face matched the document.
            return FaceMatch(
                metric=FaceMetric.SIMILARITY,
                score=PROVIDER_CONFIDENCE,
                threshold=PROVIDER_CONFIDENCE,
                reference_faces=1,
                document_faces=1,
            )
        return FaceMatch(
            metric=FaceMetric.SIMILARITY,
            score=None,
            threshold=PROVIDER_CONFIDENCE,
            reference_faces=0,
            document_faces=0,
        )


def _check_token_status(response: requests.Response) -> requests.Response:
    # oauthlib reads only error bodies; a throttled or failing token endpoint must surface
    # as retryable before oauthlib reports a missing token.
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(f"OIDC provider token request failed with status {response.status_code}")
    return response


def _invalid_claim(exc: jwt.InvalidTokenError) -> tuple[str, str]:
    """Name the claim or part of the token a PyJWT validation error is about."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return exc.claim, f"{exc.claim} is missing"
    checks: Sequence[tuple[type[jwt.InvalidTokenError], str, str]] = (
        (jwt.ExpiredSignatureError, "exp", "expired"),
        (jwt.ImmatureSignatureError, "iat", "issued in the future"),
        (jwt.InvalidIssuerError, "iss", "another issuer"),
        (jwt.InvalidAudienceError, "aud", "another audience"),
        (jwt.InvalidIssuedAtError, "iat", "iat is not a number"),
        (jwt.InvalidAlgorithmError, "alg", "algorithm not allowed for the key"),
        (jwt.InvalidSignatureError, "signature", "bad signature"),
    )
    for error_class, field, problem in checks:
        if isinstance(exc, error_class):
            return field, problem
    return "id_token", type(exc).__name__


def _keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _at_hash_matches(at_hash: str, algorithm: str, access_token: str) -> bool:
    digest = jwt.get_algorithm_by_name(algorithm).compute_hash_digest(access_token.encode("ascii"))
    return hmac.compare_digest(at_hash, _b64url(digest[: len(digest) // 2]))


def _first(claims: Mapping[str, Any], names: Sequence[str]) -> Any:
    return next((claims[name] for name in names if claims.get(name) is not None), None)


def _text(claims: Mapping[str, Any], names: Sequence[str]) -> str | None:
    value = _first(claims, names)
    return (value.strip() or None) if isinstance(value, str) else None


def _date(claims: Mapping[str, Any], names: Sequence[str]) -> dt.date | None:
    """Read an RFC 3339 full-date; OIDC's year-only or 0000-MM-DD birthdates count as unread."""
    value = _text(claims, names)
    if value is None or len(value) != 10:
        return None
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.year > 1 else None


def _text_field(value: str | None) -> TextField:
    return TextField(value=value, confidence=PROVIDER_CONFIDENCE) if value else TextField()


def _date_field(value: dt.date | None) -> DateField:
    return DateField(value=value, confidence=PROVIDER_CONFIDENCE) if value else DateField()


def _expiry(claims: Mapping[str, Any], names: ClaimNames, issued_on: dt.date) -> tuple[DateField, str | None]:
    """Return the document's expiry, or the bound an expired flag gives, with a note for the bound."""
    expiry = _date(claims, names.document_expiry)
    if expiry is not None:
        return _date_field(expiry), None
    expired = _first(claims, names.document_expired)
    if isinstance(expired, bool):
        bound = issued_on - dt.timedelta(days=1) if expired else issued_on
        return _date_field(bound), "document_expiry_from_provider_flag"
    return DateField(), None
