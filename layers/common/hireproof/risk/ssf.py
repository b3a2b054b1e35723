"""Receive OpenID Shared Signals: Security Event Tokens (SETs) pushed over HTTP (RFC 8935).

A transmitter (an identity provider, an EDR or MDM product) POSTs one SET per request with
`Content-Type: application/secevent+jwt`. `SetReceiver.receive` validates it, maps its CAEP
or RISC event to a RiskEvent and publishes that on the event bus, where the one risk consumer
applies it like every other risk event. Every rejection raises SetRejectedError with the RFC
8935 `err` code, which the HTTP layer returns as 400 `{"err": ..., "description": ...}`.

Validation of one SET, in order:

1. the body is at most 64 KiB of compact JWS;
2. header `typ` is `secevent+jwt`, `alg` is RS256 and `kid` is present;
3. `iss` is a configured transmitter (`SSF_TRANSMITTERS`), else `invalid_issuer`;
4. the signature checks against that transmitter's JWKS, else `invalid_key`;
5. `aud` contains the transmitter's configured audience, else `invalid_audience`;
6. `iat`, `jti` and `events` (exactly one event, as the CAEP interoperability profile
   requires) are present, `sub` and `exp` are absent (SSF forbids them), `iat` is at most
   5 minutes ahead and at most 30 days old.

A valid SET is claimed by its jti (`pk=SSF#<issuer hash>, sk=JTI#<jti>`, expiring after 31
days), so a replayed SET gets 202 and has no effect. SETs older than 30 days are
rejected, so a replay cannot outlive its jti record.

Event mapping (CAEP and RISC 1.0 event types):

| event type                       | level                                  |
|----------------------------------|----------------------------------------|
| caep risk-level-change           | current_level                          |
| caep session-revoked             | HIGH                                   |
| caep credential-change           | MEDIUM                                 |
| caep assurance-level-change      | MEDIUM when change_direction=decrease  |
| caep device-compliance-change    | MEDIUM not-compliant, LOW compliant    |
| risc account-disabled            | HIGH                                   |
| risc credential-compromise       | HIGH                                   |
| risc identifier-changed          | MEDIUM                                 |

Other event types (stream verification, session-established, assurance increases, ...) are
accepted with 202 and change nothing. The reason code is built from the event's fields, for
example `credential_update_password`. A risk-level-change's `principal` and `risk_reason` are
folded into a snake_case code of at most 64 characters, and `reason_admin` and `reason_user`
are never read.

Subject mapping: the subject is `sub_id`, or the event's `subject` member as drafts before
SSF 1.0 sent it.

- `email`: the person whose work e-mail it is;
- `account` (`acct:` URI): the same, with the `acct:` prefix removed;
- `iss_sub` and `opaque`: an identifier that is an e-mail address maps as `email`. Any other
  identifier must be a HireProof person id (a transmitter can be given those), because
  HireProof keeps no index of identity-provider user ids;
- `complex`: its `user` member, mapped as above; `aliases`: the first identifier that maps.

A subject that maps to nobody gets 202 like any other, so the receiver does not reveal
who exists, and is audited as `unknown_subject` under the transmitter (`ssf:<issuer hash>`),
without the identifier.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from hireproof import audit, aws
from hireproof.access import persons
from hireproof.access.persons import RiskLevel
from hireproof.config import optional_env, require_env
from hireproof.errors import ConfigurationError, NotFoundError, SetRejectedError, SigningKeyNotFoundError
from hireproof.jwks import JwksCache, check_jwks_url
from hireproof.risk.bus import publish_risk_event
from hireproof.risk.models import RiskEvent, RiskEventKind, reason_code

logger = Logger(child=True)

SET_MEDIA_TYPE = "application/secevent+jwt"
SET_TYPES = frozenset({"secevent+jwt", "application/secevent+jwt"})
ALGORITHM = "RS256"
MAX_SET_BYTES = 64 * 1024
MAX_JTI_LENGTH = 128
MAX_CLOCK_SKEW_SECONDS = 300
MAX_SET_AGE = dt.timedelta(days=30)
JTI_TTL = MAX_SET_AGE + dt.timedelta(days=1)
CAEP_PREFIX = "https://schemas.openid.net/secevent/caep/event-type/"
RISC_PREFIX = "https://schemas.openid.net/secevent/risc/event-type/"

# The error codes of RFC 8935, section 2.4.
INVALID_REQUEST = "invalid_request"
INVALID_KEY = "invalid_key"
INVALID_ISSUER = "invalid_issuer"
INVALID_AUDIENCE = "invalid_audience"
AUTHENTICATION_FAILED = "authentication_failed"

_RECEIVED = "RECEIVED"
_PROCESSED = "PROCESSED"


class TransmitterSettings(BaseModel):
    """One transmitter this receiver accepts: its `iss`, its keys and the `aud` it must send."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    jwks_uri: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    audience: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


def transmitters_from_env() -> tuple[TransmitterSettings, ...]:
    """Return the transmitters of `SSF_TRANSMITTERS`: a JSON list of {issuer, jwks_uri, audience}.

    Unset or `[]` means no transmitter, so every SET is rejected with invalid_issuer. Raises
    ConfigurationError when the value is not such a list, a jwks_uri is not https, or an
    issuer appears twice.
    """
    raw = optional_env("SSF_TRANSMITTERS", "[]")
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError("SSF_TRANSMITTERS is not JSON", field="SSF_TRANSMITTERS") from exc
    if not isinstance(entries, list):
        raise ConfigurationError(
            "SSF_TRANSMITTERS must be a JSON list of {issuer, jwks_uri, audience}", field="SSF_TRANSMITTERS"
        )
    try:
        transmitters = tuple(TransmitterSettings.model_validate(entry) for entry in entries)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        location = ".".join(str(part) for part in first["loc"]) or "entry"
        raise ConfigurationError(
            f"SSF_TRANSMITTERS has an invalid {location}: {first['msg']}", field="SSF_TRANSMITTERS"
        ) from None
    issuers = [transmitter.issuer for transmitter in transmitters]
    if len(set(issuers)) != len(issuers):
        raise ConfigurationError("SSF_TRANSMITTERS names an issuer twice", field="SSF_TRANSMITTERS")
    for transmitter in transmitters:
        check_jwks_url(transmitter.jwks_uri)
    return transmitters


def issuer_hash(issuer: str) -> str:
    """Return a short, stable key for an issuer, for record keys and event ids."""
    return hashlib.sha256(issuer.encode()).hexdigest()[:16]


def _reject(err: str, description: str, field: str | None = None) -> SetRejectedError:
    return SetRejectedError(description, err=err, field=field)


# ----------------------------------------------------------------- the HTTP request
def check_content_type(content_type: str | None) -> None:
    """Raise invalid_request unless the media type is application/secevent+jwt."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != SET_MEDIA_TYPE:
        raise _reject(
            INVALID_REQUEST,
            f"Content-Type must be {SET_MEDIA_TYPE}, got {media_type or 'none'}",
            "content-type",
        )


def push_body(event: Mapping[str, Any]) -> bytes:
    """Return the SET bytes of an API Gateway HTTP API event; raise invalid_request when over 64 KiB."""
    body = event.get("body") or ""
    # Base64 is 4/3 the size of its data; checking first bounds the decoding work.
    if len(body) > MAX_SET_BYTES * 4 // 3 + 4:
        raise _reject(INVALID_REQUEST, f"the SET is over {MAX_SET_BYTES} bytes", "body")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _reject(INVALID_REQUEST, "the base64-encoded body cannot be decoded", "body") from exc
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_SET_BYTES:
        raise _reject(INVALID_REQUEST, f"the SET is over {MAX_SET_BYTES} bytes", "body")
    return data


# ----------------------------------------------------------------- the token
@dataclass(frozen=True)
class SecurityEventToken:
    """The claims of a validated SET that the receiver uses."""

    issuer: str
    jti: str
    issued_at: dt.datetime
    event_type: str
    event: Mapping[str, Any]
    subject: Mapping[str, Any] | None
    toe: dt.datetime | None = None

    @property
    def issuer_key(self) -> str:
        """The issuer's hash, as used in record keys and event ids."""
        return issuer_hash(self.issuer)

    @property
    def short_type(self) -> str:
        """The event type without the CAEP or RISC prefix, or the full URI for other types."""
        for prefix in (CAEP_PREFIX, RISC_PREFIX):
            if self.event_type.startswith(prefix):
                return self.event_type[len(prefix) :]
        return self.event_type


def _numeric_time(value: object, claim: str) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _reject(INVALID_REQUEST, f"{claim} must be a NumericDate (seconds since 1970)", claim)
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _reject(INVALID_REQUEST, f"{claim} is out of range", claim) from exc


_JWT_ERRORS: Sequence[tuple[type[jwt.InvalidTokenError], str, str, str]] = (
    (
        jwt.InvalidSignatureError,
        INVALID_KEY,
        "signature",
        "the signature does not match the transmitter's key",
    ),
    (jwt.InvalidAudienceError, INVALID_AUDIENCE, "aud", "aud does not contain this receiver's audience"),
    (jwt.InvalidIssuerError, INVALID_ISSUER, "iss", "iss is not a configured transmitter"),
    (jwt.InvalidAlgorithmError, INVALID_KEY, "alg", "the key cannot verify this algorithm"),
    (jwt.ImmatureSignatureError, INVALID_REQUEST, "iat", "iat is in the future"),
    (jwt.InvalidIssuedAtError, INVALID_REQUEST, "iat", "iat must be a NumericDate"),
)


def _claims_error(exc: jwt.InvalidTokenError) -> SetRejectedError:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        if exc.claim == "aud":
            return _reject(INVALID_AUDIENCE, "aud is missing", "aud")
        return _reject(INVALID_REQUEST, f"{exc.claim} is missing", exc.claim)
    for error_type, err, field, description in _JWT_ERRORS:
        if isinstance(exc, error_type):
            return _reject(err, description, field)
    return _reject(INVALID_REQUEST, f"the SET is not a valid JWT ({type(exc).__name__})")


class SetReceiver:
    """Validates and processes pushed SETs for a fixed list of transmitters.

    One instance lives for the Lambda container, so each transmitter's JWKS is fetched once
    and then cached (see `hireproof.jwks.JwksCache`). `jwks_factory` builds the cache of a
    transmitter; tests pass one whose fetch serves a local key set. `clock` returns seconds
    since 1970.
    """

    def __init__(
        self,
        transmitters: Sequence[TransmitterSettings],
        *,
        jwks_factory: Callable[[TransmitterSettings], JwksCache] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transmitters = {transmitter.issuer: transmitter for transmitter in transmitters}
        ca_bundle = optional_env("SSF_CA_BUNDLE") or None
        self._jwks_factory = jwks_factory or (
            lambda transmitter: JwksCache(transmitter.jwks_uri, ca_bundle=ca_bundle)
        )
        self._jwks: dict[str, JwksCache] = {}
        self._clock = clock

    def _keys(self, transmitter: TransmitterSettings) -> JwksCache:
        if transmitter.issuer not in self._jwks:
            self._jwks[transmitter.issuer] = self._jwks_factory(transmitter)
        return self._jwks[transmitter.issuer]

    def validate(self, body: bytes) -> SecurityEventToken:
        """Return the SET in `body` once it passes every check; see the module docstring."""
        if len(body) > MAX_SET_BYTES:
            raise _reject(INVALID_REQUEST, f"the SET is over {MAX_SET_BYTES} bytes", "body")
        try:
            token = body.decode("ascii").strip()
            header = jwt.get_unverified_header(token)
        except (UnicodeDecodeError, jwt.DecodeError) as exc:
            raise _reject(INVALID_REQUEST, "the body is not a JWS in compact serialization", "body") from exc

        self._check_header(header)
        transmitter = self._transmitter(token)
        try:
            key = self._keys(transmitter).key_for(str(header["kid"]))
        except SigningKeyNotFoundError as exc:
            raise _reject(INVALID_KEY, "no key of the transmitter's JWKS has this kid", "kid") from exc

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=transmitter.audience,
                issuer=transmitter.issuer,
                leeway=MAX_CLOCK_SKEW_SECONDS,
                # exp is checked below: SSF forbids it, whether or not it has passed.
                options={"require": ["iss", "iat", "jti"], "verify_exp": False},
            )
        except jwt.InvalidTokenError as exc:
            raise _claims_error(exc) from exc
        return self._parse_claims(claims)

    def _check_header(self, header: Mapping[str, Any]) -> None:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in SET_TYPES:
            raise _reject(INVALID_REQUEST, "header typ must be secevent+jwt", "typ")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            # Nothing in an unsigned SET shows who sent it.
            raise _reject(AUTHENTICATION_FAILED, "the SET is not signed; sign it with RS256", "alg")
        if alg != ALGORITHM:
            raise _reject(INVALID_KEY, f"the SET is signed with {alg[:20]}; only RS256 is accepted", "alg")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _reject(INVALID_KEY, "header kid is missing; it selects the transmitter's key", "kid")

    def _transmitter(self, token: str) -> TransmitterSettings:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise _reject(INVALID_REQUEST, "the SET payload is not a JSON object", "body") from exc
        issuer = unverified.get("iss")
        transmitter = self.transmitters.get(issuer) if isinstance(issuer, str) else None
        if transmitter is None:
            raise _reject(INVALID_ISSUER, "iss is not a transmitter this receiver accepts", "iss")
        return transmitter

    def _parse_claims(self, claims: Mapping[str, Any]) -> SecurityEventToken:
        if "sub" in claims:
            raise _reject(INVALID_REQUEST, "SSF forbids the sub claim; put the subject in sub_id", "sub")
        if "exp" in claims:
            raise _reject(INVALID_REQUEST, "SSF forbids the exp claim; remove it", "exp")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise _reject(INVALID_REQUEST, f"jti must be a string of 1 to {MAX_JTI_LENGTH} characters", "jti")
        issued_at = _numeric_time(claims["iat"], "iat")
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        if issued_at < now - MAX_SET_AGE:
            raise _reject(INVALID_REQUEST, "iat is more than 30 days ago; the SET is too old", "iat")

        events = claims.get("events")
        if not isinstance(events, Mapping) or len(events) != 1:
            raise _reject(INVALID_REQUEST, "events must be an object with exactly one event", "events")
        [(event_type, event)] = events.items()
        if not isinstance(event, Mapping):
            raise _reject(INVALID_REQUEST, "the event must be a JSON object", "events")
        subject = claims.get("sub_id", event.get("subject"))
        if subject is not None and not isinstance(subject, Mapping):
            raise _reject(INVALID_REQUEST, "sub_id must be a subject identifier object", "sub_id")
        toe = claims.get("toe")
        return SecurityEventToken(
            issuer=str(claims["iss"]),
            jti=jti,
            issued_at=issued_at,
            event_type=str(event_type),
            event=event,
            subject=subject,
            toe=_numeric_time(toe, "toe") if toe is not None else None,
        )

    def receive(self, body: bytes) -> ReceiveResult:
        """Validate one pushed SET and publish the risk event it carries.

        A replayed jti publishes nothing. A delivery retried after a crash may publish again,
        and the risk consumer drops that copy by its event id.
        """
        token = self.validate(body)
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        signal = map_event(token, now=now)
        log_keys = {"issuer_hash": token.issuer_key, "jti": token.jti, "event_type": token.short_type[:200]}
        if not _claim_jti(token, now):
            logger.info("replayed security event ignored", extra=log_keys)
            return ReceiveResult("replayed", None)

        if signal is None:
            result = ReceiveResult("ignored", None)
            logger.info("security event type ignored", extra=log_keys)
        else:
            result = _publish(token, signal)
        _complete_jti(token, now)
        return result


# ----------------------------------------------------------------- event mapping
@dataclass(frozen=True)
class RiskSignal:
    """The risk a SET's event carries, before its subject is resolved."""

    kind: RiskEventKind
    level: RiskLevel
    reason: str
    event_time: dt.datetime


@dataclass(frozen=True)
class ReceiveResult:
    """The outcome of one accepted SET; the HTTP status is 202 in every case."""

    status: Literal["published", "ignored", "replayed", "unknown_subject"]
    event_id: str | None


def _choice(event: Mapping[str, Any], name: str, allowed: Sequence[str]) -> str:
    value = event.get(name)
    if not isinstance(value, str) or value not in allowed:
        raise _reject(INVALID_REQUEST, f"{name} must be one of {', '.join(allowed)}", name)
    return value


def _risk_level_change(event: Mapping[str, Any]) -> tuple[RiskLevel, str]:
    level = event.get("current_level")
    if not isinstance(level, str) or level.upper() not in RiskLevel.__members__:
        raise _reject(INVALID_REQUEST, "current_level must be LOW, MEDIUM or HIGH", "current_level")
    parts = [part for part in (event.get("principal"), event.get("risk_reason")) if isinstance(part, str)]
    return RiskLevel(level.upper()), reason_code(" ".join(parts), default="risk_level_change")


def _credential_change(event: Mapping[str, Any]) -> tuple[RiskLevel, str]:
    change = _choice(event, "change_type", ("create", "revoke", "update", "delete"))
    credential = event.get("credential_type")
    if not isinstance(credential, str) or not credential:
        raise _reject(INVALID_REQUEST, "credential_type is missing", "credential_type")
    return RiskLevel.MEDIUM, reason_code(f"credential {change} {credential}", default="credential_change")


def _device_compliance_change(event: Mapping[str, Any]) -> tuple[RiskLevel, str]:
    status = _choice(event, "current_status", ("compliant", "not-compliant"))
    if status == "compliant":
        return RiskLevel.LOW, "device_compliant"
    return RiskLevel.MEDIUM, "device_not_compliant"


def _account_disabled(event: Mapping[str, Any]) -> tuple[RiskLevel, str]:
    why = event.get("reason")
    if why in ("hijacking", "bulk-account"):
        return RiskLevel.HIGH, reason_code(f"account disabled {why}", default="account_disabled")
    return RiskLevel.HIGH, "account_disabled"


def _credential_compromise(event: Mapping[str, Any]) -> tuple[RiskLevel, str]:
    credential = event.get("credential_type")
    return RiskLevel.HIGH, reason_code(
        f"credential compromise {credential or ''}", default="credential_compromise"
    )


_MAPPERS: dict[str, tuple[RiskEventKind, Callable[[Mapping[str, Any]], tuple[RiskLevel, str]]]] = {
    f"{CAEP_PREFIX}risk-level-change": (RiskEventKind.RISK_LEVEL_CHANGE, _risk_level_change),
    f"{CAEP_PREFIX}session-revoked": (
        RiskEventKind.SESSION_REVOKED,
        lambda _: (RiskLevel.HIGH, "session_revoked"),
    ),
    f"{CAEP_PREFIX}credential-change": (RiskEventKind.CREDENTIAL_CHANGE, _credential_change),
    f"{CAEP_PREFIX}device-compliance-change": (
        RiskEventKind.DEVICE_COMPLIANCE_CHANGE,
        _device_compliance_change,
    ),
    f"{RISC_PREFIX}account-disabled": (RiskEventKind.ACCOUNT_DISABLED, _account_disabled),
    f"{RISC_PREFIX}credential-compromise": (RiskEventKind.CREDENTIAL_COMPROMISE, _credential_compromise),
    f"{RISC_PREFIX}identifier-changed": (
        RiskEventKind.IDENTIFIER_CHANGED,
        lambda _: (RiskLevel.MEDIUM, "identifier_changed"),
    ),
}


def _event_time(token: SecurityEventToken, now: dt.datetime) -> dt.datetime:
    stamp = token.event.get("event_timestamp")
    event_time = (
        _numeric_time(stamp, "event_timestamp") if stamp is not None else token.toe or token.issued_at
    )
    if event_time > now + dt.timedelta(seconds=MAX_CLOCK_SKEW_SECONDS):
        raise _reject(INVALID_REQUEST, "the event time is in the future", "event_timestamp")
    return event_time


def map_event(token: SecurityEventToken, *, now: dt.datetime) -> RiskSignal | None:
    """Return the risk a SET's event carries, or None for event types without one.

    The event time is `event_timestamp`, else the SET's `toe`, else its `iat`. Raises
    invalid_request when a mapped event lacks a field its type requires.
    """
    if token.event_type == f"{CAEP_PREFIX}assurance-level-change":
        # An increase, or a change of unknown direction, is no risk.
        if token.event.get("change_direction") != "decrease":
            return None
        if not isinstance(token.event.get("current_level"), str):
            raise _reject(INVALID_REQUEST, "current_level is missing", "current_level")
        return RiskSignal(
            RiskEventKind.ASSURANCE_LEVEL_CHANGE,
            RiskLevel.MEDIUM,
            "assurance_level_decrease",
            _event_time(token, now),
        )
    mapper = _MAPPERS.get(token.event_type)
    if mapper is None:
        return None
    kind, read = mapper
    level, reason = read(token.event)
    return RiskSignal(kind, level, reason, _event_time(token, now))


# ----------------------------------------------------------------- subjects
def _as_email(value: object) -> str | None:
    if not isinstance(value, str) or "@" not in value or len(value) > 320:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _person_by_identifier(identifier: object) -> str | None:
    email = _as_email(identifier)
    if email is not None:
        person = persons.find_by_email(email)
        return person.person_id if person else None
    if not isinstance(identifier, str) or not 0 < len(identifier) <= 200:
        return None
    try:
        return persons.get_person(identifier).person_id
    except NotFoundError:
        return None


def resolve_subject(subject: Mapping[str, Any] | None) -> str | None:
    """Return the person id a subject identifier names, or None; see the module docstring."""
    if subject is None:
        return None
    subject_format = subject.get("format")
    if subject_format == "email":
        email = _as_email(subject.get("email"))
        person = persons.find_by_email(email) if email else None
        return person.person_id if person else None
    if subject_format == "account":
        uri = subject.get("uri")
        return _person_by_identifier(uri[5:]) if isinstance(uri, str) and uri.startswith("acct:") else None
    if subject_format == "iss_sub":
        return _person_by_identifier(subject.get("sub"))
    if subject_format == "opaque":
        return _person_by_identifier(subject.get("id"))
    if subject_format == "aliases":
        identifiers = subject.get("identifiers")
        for alias in identifiers if isinstance(identifiers, list) else []:
            person_id = resolve_subject(alias) if isinstance(alias, Mapping) else None
            if person_id is not None:
                return person_id
        return None
    user = subject.get("user")
    if subject_format in ("complex", None) and isinstance(user, Mapping) and user.get("format") != "complex":
        # SSF's complex subject; drafts sent it without a format member.
        return resolve_subject(user)
    return None


# ----------------------------------------------------------------- jti records and publishing
def _jti_key(token: SecurityEventToken) -> dict[str, str]:
    return {"pk": f"SSF#{token.issuer_key}", "sk": f"JTI#{token.jti}"}


def _jti_item(token: SecurityEventToken, status: str, now: dt.datetime) -> dict[str, Any]:
    return {
        **_jti_key(token),
        "status": status,
        "received_at": persons.now_iso(now),
        "expires_at": int((now + JTI_TTL).timestamp()),
    }


def _claim_jti(token: SecurityEventToken, now: dt.datetime) -> bool:
    """Claim the SET's jti; return False when a delivery of it was processed already.

    A claim left RECEIVED by a crash is taken again, so the retry publishes again. The risk
    consumer drops the second copy by its event id.
    """
    try:
        aws.table(require_env("ONBOARDING_TABLE")).put_item(
            Item=_jti_item(token, _RECEIVED, now),
            ConditionExpression="attribute_not_exists(pk) OR #s = :received",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":received": _RECEIVED},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _complete_jti(token: SecurityEventToken, now: dt.datetime) -> None:
    aws.table(require_env("ONBOARDING_TABLE")).put_item(Item=_jti_item(token, _PROCESSED, now))


def _publish(token: SecurityEventToken, signal: RiskSignal) -> ReceiveResult:
    event_id = f"set:{token.issuer_key}:{token.jti}"
    transmitter_subject = f"ssf:{token.issuer_key}"
    person_id = resolve_subject(token.subject)
    if person_id is None:
        subject_format = str((token.subject or {}).get("format", "none"))[:40]
        audit.record(
            subject_id=transmitter_subject,
            action="security_event_dropped",
            outcome="unknown_subject",
            actor=f"ssf:{token.issuer}"[:256],
            reasons=["unknown_subject"],
            details={
                "jti": token.jti,
                "event_type": token.short_type[:200],
                "subject_format": subject_format,
            },
        )
        logger.info(
            "security event for unknown subject",
            extra={"issuer_hash": token.issuer_key, "jti": token.jti, "subject_format": subject_format},
        )
        return ReceiveResult("unknown_subject", event_id)

    risk_event = RiskEvent(
        event_id=event_id,
        source=f"ssf:{token.issuer}"[:256],
        person_id=person_id,
        level=signal.level,
        reason=signal.reason,
        kind=signal.kind,
        event_time=signal.event_time,
    )
    publish_risk_event(risk_event)
    audit.record(
        subject_id=person_id,
        action="security_event_received",
        outcome=signal.level.value,
        actor=risk_event.source,
        reasons=[signal.reason],
        details={"event_id": event_id, "jti": token.jti, "event_type": token.short_type[:200]},
    )
    return ReceiveResult("published", event_id)
