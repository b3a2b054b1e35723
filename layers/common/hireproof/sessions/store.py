"""Verification sessions in the verification table: invitations, tokens, decisions, credentials.

One item per onboarding and purpose (`<onboarding_id>.<purpose>`). The invitation token is
never stored. The item contains its SHA-256 (`token_hash`, indexed by ByTokenHash), so a
table read cannot be replayed as a link. Every state change is a conditional write, so
two concurrent requests cannot both decide a session or both reveal its credential.

Errors raised after the session is found carry a message in the session's language,
because the verification page shows them to the hire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import SecretStr

from hireproof import audit, aws
from hireproof.config import int_env, require_env
from hireproof.errors import (
    AttemptsExhaustedError,
    ConflictError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
    NotFoundError,
    TransientError,
)
from hireproof.i18n import resolve_locale, translate
from hireproof.models import VerificationPurpose
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import evidence, mail, tasks
from hireproof.sessions.models import (
    OPEN_STATUSES,
    Credential,
    DecisionRecord,
    EvidenceKind,
    InviteResult,
    Session,
    SessionStatus,
    session_id_for,
)

logger = Logger(child=True)

DEFAULT_INVITATION_TTL_SECONDS = 86_400
DEFAULT_MAX_REMINDERS = 3
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INTERACTIVE_LINK_SECONDS = 900
# Sessions that the person starts and finishes in one sitting, with a short-lived token.
INTERACTIVE_PURPOSES = frozenset({VerificationPurpose.LOGIN, VerificationPurpose.RECOVERY})
# Presigned uploads one session may request, retakes included; stops a leaked link from
# being used as free storage.
MAX_UPLOADS_PER_SESSION = 30
# The item outlives its last link by this long, so the workflow and a reviewer can still
# read the decision. The audit table keeps the permanent record.
RETENTION_SECONDS = 30 * 86_400
TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 256
_ACTOR = "hireproof"
_OPEN = [status.value for status in OPEN_STATUSES]


def _table() -> Any:
    return aws.table(require_env("VERIFICATION_TABLE"))


def _now() -> int:
    return int(time.time())


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")


def interactive_link_seconds() -> int:
    """Return the lifetime of a sign-in or recovery session's token (INTERACTIVE_LINK_SECONDS)."""
    return int_env("INTERACTIVE_LINK_SECONDS", DEFAULT_INTERACTIVE_LINK_SECONDS)


def invitation_ttl_seconds() -> int:
    """Return the lifetime of one invitation link (INVITATION_TTL_SECONDS)."""
    return int_env("INVITATION_TTL_SECONDS", DEFAULT_INVITATION_TTL_SECONDS)


def max_reminders() -> int:
    """Return how many reminders one session may send (VERIFICATION_MAX_REMINDERS)."""
    return int_env("VERIFICATION_MAX_REMINDERS", DEFAULT_MAX_REMINDERS)


def max_attempts() -> int:
    """Return how many submits a hire has before retakes run out (VERIFICATION_MAX_ATTEMPTS)."""
    return int_env("VERIFICATION_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of an invitation token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _get_item(session_id: str) -> dict[str, Any] | None:
    item = _table().get_item(Key={"session_id": session_id}, ConsistentRead=True).get("Item")
    return dict(item) if item is not None else None


def get_session(session_id: str) -> Session:
    """Return one session, or raise NotFoundError."""
    item = _get_item(session_id)
    if item is None:
        raise NotFoundError(f"verification session {session_id} not found", field="session_id")
    return Session.from_item(item)


# ----------------------------------------------------------------- invitations
def _reminders_left(reminders_sent: int) -> int:
    return max(0, max_reminders() - reminders_sent)


def _result(session: Session, *, email_sent: bool) -> InviteResult:
    return InviteResult(
        session_id=session.session_id,
        reminders_sent=session.reminders_sent,
        reminders_left=_reminders_left(session.reminders_sent),
        status=session.status,
        email_sent=email_sent,
    )


def _start_round(
    session_id: str,
    onboarding_id: str,
    purpose: VerificationPurpose,
    locale: str,
    token_hash: str,
    previous: Session | None,
) -> Session:
    """Write a fresh session, replacing a finished one (a new round, e.g. a re-verification)."""
    now = _now()
    token_expires_at = now + invitation_ttl_seconds()
    item: dict[str, Any] = {
        "session_id": session_id,
        "onboarding_id": onboarding_id,
        "purpose": purpose.value,
        "status": SessionStatus.INVITED.value,
        "locale": locale,
        "token_hash": token_hash,
        "token_expires_at": token_expires_at,
        "attempts_left": max_attempts(),
        "reminders_sent": 0,
        "uploads_issued": 0,
        "evidence": {},
        "credential_shown": False,
        "created_at": now,
        "expires_at": token_expires_at + RETENTION_SECONDS,
    }
    if previous is None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(session_id)"}
    else:
        condition = {
            "ConditionExpression": "token_hash = :previous",
            "ExpressionAttributeValues": {":previous": previous.token_hash},
        }
    try:
        _table().put_item(Item=item, **condition)
    except ClientError as exc:
        if _conditional_failed(exc):
            message = f"session {session_id} changed during the invitation; retry"
            raise TransientError(message) from exc
        raise
    return Session.from_item(item)


def start_interactive(
    onboarding_id: str,
    purpose: VerificationPurpose,
    locale: str,
    *,
    ttl_seconds: int,
    decoy: bool = False,
    attributes: Mapping[str, Any] | None = None,
) -> tuple[Session, str]:
    """Create a session that the person opens at once in the browser that asked for it.

    Used for sign-ins and recoveries: no e-mail is sent, the token goes back to the caller.
    Each start gets its own opaque session id (the page receives it), so a second sign-in never
    ends one in progress, and the id reveals neither the person nor a decoy.
    Returns the session and its token, which is stored only as a hash.
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = _now()
    token_expires_at = now + ttl_seconds
    session_id = f"{purpose.value}-{secrets.token_hex(12)}"
    item: dict[str, Any] = {
        **dict(attributes or {}),
        "session_id": session_id,
        "onboarding_id": onboarding_id,
        "purpose": purpose.value,
        "status": SessionStatus.INVITED.value,
        "locale": locale,
        "token_hash": hash_token(token),
        "token_expires_at": token_expires_at,
        "attempts_left": max_attempts(),
        "reminders_sent": 0,
        "uploads_issued": 0,
        "evidence": {},
        "credential_shown": False,
        "decoy": decoy,
        "created_at": now,
        "expires_at": token_expires_at + RETENTION_SECONDS,
    }
    _table().put_item(Item=item, ConditionExpression="attribute_not_exists(session_id)")
    return Session.from_item(item), token


def set_continue_path(session_id: str, path: str) -> None:
    """Set where the page goes after a sign-in's decision; only before the session is opened."""
    try:
        _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET continue_path = :path",
            ConditionExpression="#status = :invited",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":path": path, ":invited": SessionStatus.INVITED.value},
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise ConflictError(f"session {session_id} is not new; its next page is fixed") from exc
        raise


def _rotate_token(session: Session, token_hash: str, locale: str, *, reminder: bool) -> Session:
    """Replace an open session's token; the previous link stops working at once.

    The locale follows the HR record, so the page speaks the language of the latest e-mail.
    """
    now = _now()
    token_expires_at = now + invitation_ttl_seconds()
    update = (
        "SET token_hash = :new, token_expires_at = :exp, expires_at = :ttl, rotated_at = :now,"
        " locale = :locale"
    )
    condition = "token_hash = :previous AND #status IN (:invited, :in_progress)"
    values: dict[str, Any] = {
        ":new": token_hash,
        ":exp": token_expires_at,
        ":ttl": token_expires_at + RETENTION_SECONDS,
        ":now": now,
        ":locale": locale,
        ":previous": session.token_hash,
        ":invited": SessionStatus.INVITED.value,
        ":in_progress": SessionStatus.IN_PROGRESS.value,
    }
    if reminder:
        update += ", reminders_sent = reminders_sent + :one"
        condition += " AND reminders_sent < :max_reminders"
        values.update({":one": 1, ":max_reminders": max_reminders()})
    try:
        response = _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise TransientError(
                f"session {session.session_id} changed during the invitation; retry"
            ) from exc
        raise
    return Session.from_item(response["Attributes"])


def invite(onboarding_id: str, purpose: VerificationPurpose | str, *, reminder: bool) -> InviteResult:
    """Invite a hire to verify, or remind them, with a new single-use link by e-mail.

    - First invitation: creates the session (INVITED) and e-mails the link.
    - Invitation again while the session is open (a retried workflow step): issues a new
      link, because the old token cannot be recovered from its hash.
    - Invitation on a DECIDED, EXPIRED or CANCELLED session: starts a new round, for
      example a re-verification.
    - Reminder: issues a new link on an open session and counts it. A reminder never
      reopens a finished session: it sends nothing and returns the session's status.

    Raises NotFoundError for an unknown onboarding or a reminder without a session,
    ConflictError when no reminders are left, and TransientError on a concurrent change.
    """
    purpose = VerificationPurpose(purpose)
    hire = onboarding_store.get_hire(onboarding_id)
    locale = resolve_locale(hire.locale)
    session_id = session_id_for(onboarding_id, purpose)
    item = _get_item(session_id)
    current = Session.from_item(item) if item is not None else None

    token = secrets.token_urlsafe(TOKEN_BYTES)
    if reminder:
        if current is None:
            raise NotFoundError(
                f"no verification session {session_id} to remind; invite first", field="session_id"
            )
        if current.status not in OPEN_STATUSES:
            logger.info(
                "reminder skipped for a finished session",
                extra={"session_id": session_id, "status": current.status},
            )
            return _result(current, email_sent=False)
        if _reminders_left(current.reminders_sent) == 0:
            raise ConflictError(f"session {session_id} has no reminders left", field="reminder")
        session = _rotate_token(current, hash_token(token), locale, reminder=True)
    elif current is not None and current.status in OPEN_STATUSES:
        session = _rotate_token(current, hash_token(token), locale, reminder=False)
    else:
        session = _start_round(
            session_id, onboarding_id, purpose, locale, hash_token(token), previous=current
        )

    kind = mail.MailKind.REMINDER if reminder else mail.MailKind.INVITATION
    email = mail.compose(
        kind,
        hire=hire,
        purpose=purpose,
        link=mail.verification_link(token),
        ttl_seconds=invitation_ttl_seconds(),
    )
    mail.send(email, to_address=str(hire.personal_email), session_id=session_id)
    audit.record(
        subject_id=onboarding_id,
        action="verification_reminder_sent" if reminder else "verification_invitation_sent",
        outcome=session.status.value,
        actor=_ACTOR,
        details={
            "session_id": session_id,
            "purpose": purpose.value,
            "reminders_sent": session.reminders_sent,
            "locale": email.locale,
        },
    )
    return _result(session, email_sent=True)


def notify_credential_ready(session_id: str) -> InviteResult:
    """E-mail a decided session's hire a new link to collect a credential issued after review.

    The hire's earlier link has usually expired by the time a reviewer approves, so this
    rotates the token of the DECIDED session. The new link opens GET /verify/credential only.
    """
    current = get_session(session_id)
    if current.status is not SessionStatus.DECIDED:
        raise ConflictError(f"session {session_id} is not decided", field="session_id")
    hire = onboarding_store.get_hire(current.onboarding_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = _now()
    token_expires_at = now + invitation_ttl_seconds()
    try:
        response = _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET token_hash = :new, token_expires_at = :exp, rotated_at = :now,"
            " expires_at = :ttl",
            ConditionExpression="token_hash = :previous AND #status = :decided",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":new": hash_token(token),
                ":exp": token_expires_at,
                ":now": now,
                ":ttl": max(current.expires_at, token_expires_at + RETENTION_SECONDS),
                ":previous": current.token_hash,
                ":decided": SessionStatus.DECIDED.value,
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise TransientError(f"session {session_id} changed during the notice; retry") from exc
        raise
    session = Session.from_item(response["Attributes"])
    email = mail.compose(
        mail.MailKind.CREDENTIAL_READY,
        hire=hire,
        purpose=session.purpose,
        link=mail.verification_link(token),
        ttl_seconds=token_expires_at - now,
    )
    mail.send(email, to_address=str(hire.personal_email), session_id=session_id)
    audit.record(
        subject_id=session.onboarding_id,
        action="credential_ready_sent",
        outcome=session.status.value,
        actor=_ACTOR,
        details={"session_id": session_id, "locale": email.locale},
    )
    return _result(session, email_sent=True)


# ----------------------------------------------------------------- the workflow's task token
def register_task_token(session_id: str, task_token: str) -> Session:
    """Store the task token of the workflow state that waits for this session's decision.

    When the session is already DECIDED, its result never reached a waiting task (the
    previous token had timed out), so the stored decision is sent to this token at once.
    Evidence left by such a decision is deleted by the workflow's Record Decision step.
    """
    try:
        response = _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET task_token = :token, task_token_registered_at = :now",
            ConditionExpression="attribute_exists(session_id)",
            ExpressionAttributeValues={":token": task_token, ":now": _now()},
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise NotFoundError(f"verification session {session_id} not found", field="session_id") from exc
        raise
    session = Session.from_item(response["Attributes"])
    logger.info("task token registered", extra={"session_id": session_id, "status": session.status})
    if session.status is SessionStatus.DECIDED:
        tasks.send_decision(session)
    return session


def close(session_id: str, status: SessionStatus) -> bool:
    """Expire or cancel an open session: its link stops working and its evidence is deleted.

    Returns False when the session was not open (already decided or closed).
    """
    if status not in (SessionStatus.EXPIRED, SessionStatus.CANCELLED):
        raise ValueError(f"a session can only be closed as EXPIRED or CANCELLED, not {status}")
    try:
        _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET #status = :status, closed_at = :now",
            ConditionExpression="#status IN (:invited, :in_progress)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": status.value,
                ":now": _now(),
                ":invited": SessionStatus.INVITED.value,
                ":in_progress": SessionStatus.IN_PROGRESS.value,
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            return False
        raise
    evidence.delete_all(session_id)
    logger.info("session closed", extra={"session_id": session_id, "status": status})
    return True


# ----------------------------------------------------------------- the hire's requests
def session_for_token(
    token: str, *, allow_decided: bool = False, fallback_locale: str | None = None
) -> Session:
    """Return the session an invitation token opens, or raise why it does not.

    Raises InvitationNotFoundError (401) for an unknown token, InvitationExpiredError (410)
    for a link past its lifetime, replaced by a newer link, or closed, and
    InvitationUsedError (410) for a DECIDED session unless `allow_decided` (the credential
    route). `fallback_locale` is the language of the message when no session is found.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise InvitationNotFoundError(
            translate("api.error.invitation_not_found", fallback_locale), field="authorization"
        )
    token_hash = hash_token(token)
    page = _table().query(
        IndexName="ByTokenHash",
        KeyConditionExpression="token_hash = :h",
        ExpressionAttributeValues={":h": token_hash},
    )
    if not page["Items"]:
        raise InvitationNotFoundError(
            translate("api.error.invitation_not_found", fallback_locale), field="authorization"
        )

    # The index is eventually consistent: the strongly consistent read decides.
    item = _get_item(page["Items"][0]["session_id"])
    if item is None:
        raise InvitationNotFoundError(
            translate("api.error.invitation_not_found", fallback_locale), field="authorization"
        )
    session = Session.from_item(item)
    if session.token_hash != token_hash:
        raise InvitationExpiredError(
            translate("api.error.invitation_expired", session.locale), field="authorization"
        )
    if session.status is SessionStatus.DECIDED and not allow_decided:
        raise InvitationUsedError(
            translate("api.error.invitation_used", session.locale), field="authorization"
        )
    if session.status in (SessionStatus.EXPIRED, SessionStatus.CANCELLED):
        raise InvitationExpiredError(
            translate("api.error.invitation_expired", session.locale), field="authorization"
        )
    if _now() >= session.token_expires_at:
        raise InvitationExpiredError(
            translate("api.error.invitation_expired", session.locale), field="authorization"
        )
    return session


def _raise_not_open(session_id: str) -> None:
    """Raise the error that explains why a session no longer accepts the hire's requests."""
    session = get_session(session_id)
    if session.status is SessionStatus.DECIDED:
        raise InvitationUsedError(
            translate("api.error.invitation_used", session.locale), field="authorization"
        )
    raise InvitationExpiredError(
        translate("api.error.invitation_expired", session.locale), field="authorization"
    )


def mark_in_progress(session: Session) -> Session:
    """Move an INVITED session to IN_PROGRESS when the hire opens the link."""
    if session.status is not SessionStatus.INVITED:
        return session
    try:
        response = _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression="SET #status = :in_progress, opened_at = :now",
            ConditionExpression="#status = :invited",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":in_progress": SessionStatus.IN_PROGRESS.value,
                ":invited": SessionStatus.INVITED.value,
                ":now": _now(),
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        # A concurrent request moved it first; return what it wrote.
        return get_session(session.session_id)
    return Session.from_item(response["Attributes"])


def reserve_upload(session: Session, kind: EvidenceKind) -> str:
    """Record a new evidence key as the latest image of `kind` and return it.

    Raises AttemptsExhaustedError after MAX_UPLOADS_PER_SESSION uploads.
    """
    key = evidence.new_key(session.session_id, kind)
    try:
        _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression="SET evidence.#kind = :key, uploads_issued = uploads_issued + :one",
            ConditionExpression="#status IN (:invited, :in_progress) AND uploads_issued < :max",
            ExpressionAttributeNames={"#status": "status", "#kind": kind.value},
            ExpressionAttributeValues={
                ":key": key,
                ":one": 1,
                ":max": MAX_UPLOADS_PER_SESSION,
                ":invited": SessionStatus.INVITED.value,
                ":in_progress": SessionStatus.IN_PROGRESS.value,
            },
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = get_session(session.session_id)
        if current.status in OPEN_STATUSES:
            raise AttemptsExhaustedError(
                translate("api.error.upload_limit", session.locale), field="kind"
            ) from exc
        _raise_not_open(session.session_id)
    return key


def record_liveness_session(session: Session, liveness_session_id: str) -> None:
    """Keep the Face Liveness session created for this verification; submit reads it from here.

    The page never sends a liveness session id, so a hire cannot submit a session that was
    created for someone else.
    """
    try:
        _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression="SET liveness_session_id = :liveness",
            ConditionExpression="#status IN (:invited, :in_progress)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":liveness": liveness_session_id,
                ":invited": SessionStatus.INVITED.value,
                ":in_progress": SessionStatus.IN_PROGRESS.value,
            },
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        _raise_not_open(session.session_id)


def consume_attempt(session: Session) -> int:
    """Use up one submit attempt and return how many are left (0 means retakes are exhausted)."""
    try:
        response = _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression="SET attempts_left = attempts_left - :one",
            ConditionExpression="attempts_left > :zero AND #status IN (:invited, :in_progress)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":one": 1,
                ":zero": 0,
                ":invited": SessionStatus.INVITED.value,
                ":in_progress": SessionStatus.IN_PROGRESS.value,
            },
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = get_session(session.session_id)
        if current.status not in OPEN_STATUSES:
            _raise_not_open(session.session_id)
        return 0
    return int(response["Attributes"]["attempts_left"])


def _decimal_scores(scores: Mapping[str, float]) -> dict[str, Decimal]:
    return {name: Decimal(str(value)) for name, value in scores.items()}


def record_decision(session: Session, record: DecisionRecord) -> tuple[Session, bool]:
    """Mark an open session DECIDED with its decision; return the session and whether this call won.

    The write is conditional on the session still being open. So of two concurrent submits,
    only one records a decision and sends it to the workflow, and the other gets the stored one.
    The link's lifetime restarts, so the hire can still collect a credential on the same page.
    """
    now = _now()
    lifetime = (
        interactive_link_seconds() if session.purpose in INTERACTIVE_PURPOSES else invitation_ttl_seconds()
    )
    token_expires_at = now + lifetime
    try:
        response = _table().update_item(
            Key={"session_id": session.session_id},
            UpdateExpression=(
                "SET #status = :decided, decision = :decision, reasons = :reasons,"
                " unchecked = :unchecked, scores = :scores,"
                " document_address_matches_home = :matches_home,"
                " document_type = :document_type, document_country = :document_country,"
                " decided_at = :now, token_expires_at = :exp, expires_at = :ttl, evidence = :none"
            ),
            ConditionExpression="#status IN (:invited, :in_progress)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":decided": SessionStatus.DECIDED.value,
                ":decision": record.decision.value,
                ":reasons": list(record.reasons),
                ":unchecked": list(record.unchecked),
                ":scores": _decimal_scores(record.scores),
                ":matches_home": record.document_address_matches_home,
                ":document_type": record.document_type,
                ":document_country": record.document_country,
                ":now": now,
                ":exp": token_expires_at,
                ":ttl": max(session.expires_at, token_expires_at + RETENTION_SECONDS),
                ":none": {},
                ":invited": SessionStatus.INVITED.value,
                ":in_progress": SessionStatus.IN_PROGRESS.value,
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = get_session(session.session_id)
        if current.status is not SessionStatus.DECIDED:
            _raise_not_open(session.session_id)
        logger.info("decision already recorded", extra={"session_id": session.session_id})
        return current, False
    return Session.from_item(response["Attributes"]), True


# ----------------------------------------------------------------- one-time credential
def _utc(value: dt.datetime | str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("a credential expiry needs a time zone")
    return moment.astimezone(dt.UTC)


def store_credential(
    session_id: str,
    credential_kind: str,
    credential_value: str | SecretStr,
    expires_at: dt.datetime | str | None,
) -> None:
    """Encrypt a one-time credential with KMS and keep it on a DECIDED session until it is revealed.

    The KMS encryption context binds the ciphertext to the session id. `expires_at` None
    means the credential itself does not expire. Storing again before the reveal replaces
    the credential (a retried issuing step). After the reveal it raises ConflictError,
    because a shown credential is never replaced on the same session.
    """
    current = get_session(session_id)
    plaintext = (
        credential_value.get_secret_value() if isinstance(credential_value, SecretStr) else credential_value
    )
    ciphertext = aws.client("kms").encrypt(
        KeyId=require_env("DATA_KEY_ARN"),
        Plaintext=plaintext.encode("utf-8"),
        EncryptionContext={"session_id": session_id},
    )["CiphertextBlob"]
    expiry = _utc(expires_at) if expires_at is not None else None
    retained_until = int(expiry.timestamp()) if expiry else current.token_expires_at
    try:
        _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression=(
                "SET credential_ciphertext = :ciphertext, credential_kind = :kind,"
                " credential_expires_at = :expires, credential_shown = :false,"
                " credential_stored_at = :now, expires_at = :ttl"
            ),
            ConditionExpression="#status = :decided AND credential_shown = :false",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":ciphertext": ciphertext,
                ":kind": credential_kind,
                ":expires": expiry.isoformat(timespec="seconds") if expiry else None,
                ":false": False,
                ":now": _now(),
                ":ttl": max(current.expires_at, retained_until + RETENTION_SECONDS),
                ":decided": SessionStatus.DECIDED.value,
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise ConflictError(
                f"session {session_id} is not decided or its credential was already shown",
                field="session_id",
            ) from exc
        raise
    audit.record(
        subject_id=current.onboarding_id,
        action="credential_stored",
        outcome="stored",
        actor=_ACTOR,
        details={"session_id": session_id, "credential_kind": credential_kind},
    )


def reveal_credential(session_id: str) -> Credential:
    """Decrypt and return a session's credential exactly once, removing the ciphertext.

    Raises ConflictError (409, retry later) when no credential is stored yet, and
    InvitationUsedError (410) once it was shown, InvitationExpiredError (410) once it expired.
    """
    item = _get_item(session_id)
    if item is None:
        raise NotFoundError(f"verification session {session_id} not found", field="session_id")
    session = Session.from_item(item)
    if session.credential_shown:
        raise InvitationUsedError(translate("api.error.credential_shown", session.locale))
    if "credential_ciphertext" not in item:
        raise ConflictError(translate("api.error.credential_not_ready", session.locale))
    expiry = session.credential_expires_at
    if expiry and dt.datetime.fromisoformat(expiry) <= dt.datetime.now(dt.UTC):
        raise InvitationExpiredError(translate("api.error.credential_expired", session.locale))

    ciphertext = item["credential_ciphertext"]
    blob = bytes(ciphertext.value if hasattr(ciphertext, "value") else ciphertext)
    # Decrypt before the write that removes the ciphertext, so a KMS failure loses nothing.
    plaintext = aws.client("kms").decrypt(
        CiphertextBlob=blob,
        KeyId=require_env("DATA_KEY_ARN"),
        EncryptionContext={"session_id": session_id},
    )["Plaintext"]
    try:
        _table().update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET credential_shown = :true, credential_shown_at = :now"
            " REMOVE credential_ciphertext",
            # The stored_at check keeps a credential replaced after this read from being dropped.
            ConditionExpression="credential_shown = :false AND credential_stored_at = :stored_at",
            ExpressionAttributeValues={
                ":true": True,
                ":false": False,
                ":now": _now(),
                ":stored_at": item["credential_stored_at"],
            },
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            message = translate("api.error.credential_shown", session.locale)
            raise InvitationUsedError(message) from exc
        raise
    audit.record(
        subject_id=session.onboarding_id,
        action="credential_revealed",
        outcome="shown",
        actor="hire",
        details={"session_id": session_id, "credential_kind": session.credential_kind},
    )
    return Credential(
        kind=session.credential_kind or "",
        value=bytes(plaintext).decode("utf-8"),
        expires_at=session.credential_expires_at,
    )
