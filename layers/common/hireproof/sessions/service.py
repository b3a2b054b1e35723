"""Verification API operations for the hire: open the session, issue uploads, decide, reveal.

Every function takes a session already authenticated by its invitation token
(`authenticate`) and returns the response model of one route. Messages are in the
session's language.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from hireproof import audit
from hireproof.config import require_env
from hireproof.errors import (
    ConflictError,
    InvalidRequestError,
    InvitationNotFoundError,
    NotFoundError,
    PayloadTooLargeError,
    RetakeRequiredError,
    TransientError,
    UnsupportedMediaTypeError,
)
from hireproof.i18n import format_address, language_from_accept_language, translate
from hireproof.models import Decision, Hire, OnboardingState, VerificationPurpose
from hireproof.onboarding import store as onboarding_store
from hireproof.sessions import evaluation, evidence, store, tasks
from hireproof.sessions.models import (
    CredentialView,
    DecisionRecord,
    DecisionView,
    EvidenceKind,
    LivenessView,
    NextStep,
    Session,
    SessionStatus,
    SessionView,
    UploadRequest,
    UploadView,
)
from hireproof.verification import policy, reuse
from hireproof.verification.engine import HireFacts

logger = Logger(child=True)
metrics = Metrics()

STEPS: tuple[EvidenceKind, ...] = (EvidenceKind.ID_FRONT, EvidenceKind.ID_BACK, EvidenceKind.SELFIE)
LIVENESS_STEP = "liveness"
# Rekognition expires an unused Face Liveness session after 3 minutes.
LIVENESS_SESSION_SECONDS = 180
RETAKES_EXHAUSTED = "retakes_exhausted"
# Onboarding states that follow an approval (a PASSED decision or a reviewer's approval).
APPROVED_STATES = frozenset(
    {
        OnboardingState.VERIFIED,
        OnboardingState.SHIPPED,
        OnboardingState.DELIVERED,
        OnboardingState.ACTIVE,
    }
)
_BEARER = "bearer "
# A sign-in has no workflow: the OpenID Connect provider reads the decision from the session.
WORKFLOW_PURPOSES = frozenset(
    {
        VerificationPurpose.ONBOARDING,
        VerificationPurpose.DEVICE_RECIPIENT,
        VerificationPurpose.REVERIFICATION,
        VerificationPurpose.RECOVERY,
    }
)
NOT_ELIGIBLE = "not_eligible"
_DECOY_FACTS = HireFacts(given_name="-", family_name="-", verification_date=dt.date(2000, 1, 1))

ModelT = TypeVar("ModelT", bound=BaseModel)


def authenticate(
    authorization: str | None, accept_language: str | None, *, allow_decided: bool = False
) -> Session:
    """Return the session of an `Authorization: Bearer <invitation token>` header.

    Errors before a session is found use the language of the Accept-Language header.
    """
    language = language_from_accept_language(accept_language)
    if not authorization or not authorization.lower().startswith(_BEARER):
        raise InvitationNotFoundError(
            translate("api.error.invitation_missing", language), field="authorization"
        )
    token = authorization[len(_BEARER) :].strip()
    return store.session_for_token(token, allow_decided=allow_decided, fallback_locale=language)


def parse_body(model: type[ModelT], body: str | None, locale: str) -> ModelT:
    """Validate a JSON request body; an empty body counts as `{}`."""
    try:
        return model.model_validate_json(body or "{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = translate("api.error.invalid_request", locale)
        raise InvalidRequestError(message, field=field) from exc


def steps() -> list[str]:
    """Return the capture steps: the ID's two sides, then a selfie or a Face Liveness check."""
    last = EvidenceKind.SELFIE.value if evaluation.liveness_mode() == "local_selfie" else LIVENESS_STEP
    return [EvidenceKind.ID_FRONT.value, EvidenceKind.ID_BACK.value, last]


def open_session(session: Session) -> SessionView:
    """Mark the session IN_PROGRESS and tell the waiting workflow the hire is active."""
    tasks.send_heartbeat(session)
    session = store.mark_in_progress(session)
    logger.info("verification session opened", extra={"session_id": session.session_id})
    return SessionView(
        session_id=session.session_id,
        purpose=session.purpose,
        locale=session.locale,
        status=session.status,
        attempts_left=session.attempts_left,
        steps=steps(),
        step_labels={step: translate(f"api.step.{step}", session.locale) for step in steps()},
        liveness_mode=evaluation.liveness_mode(),
        expires_at=session.token_expires().isoformat(timespec="seconds"),
    )


def create_upload(session: Session, request: UploadRequest) -> UploadView:
    """Issue a presigned S3 POST for one image and record its key as the latest of its kind."""
    key = store.reserve_upload(session, request.kind)
    post = evidence.presigned_post(key, request.content_type)
    tasks.send_heartbeat(session)
    logger.info("evidence upload issued", extra={"session_id": session.session_id, "kind": request.kind})
    return UploadView(
        kind=request.kind,
        key=key,
        url=post["url"],
        fields={name: str(value) for name, value in post["fields"].items()},
        max_bytes=evidence.MAX_UPLOAD_BYTES,
        expires_in=evidence.UPLOAD_URL_SECONDS,
    )


def create_liveness(session: Session) -> LivenessView:
    """Create a Face Liveness session for the page to stream to, and keep its id on the session.

    Raises NotFoundError when the configured engine has no liveness check (the local engine).
    """
    liveness_session_id = evaluation.create_liveness_session(
        verification_session_id=session.session_id, hire_id=session.onboarding_id
    )
    store.record_liveness_session(session, liveness_session_id)
    tasks.send_heartbeat(session)
    logger.info("liveness session created", extra={"session_id": session.session_id})
    return LivenessView(
        liveness_session_id=liveness_session_id,
        region=require_env("AWS_REGION"),
        expires_in=LIVENESS_SESSION_SECONDS,
        identity_pool_id=require_env("LIVENESS_IDENTITY_POOL_ID"),
    )


# ----------------------------------------------------------------- submit
def needs_workflow(session: Session) -> bool:
    """Return whether a workflow waits for this session's decision (a decoy has none)."""
    return session.purpose in WORKFLOW_PURPOSES and not session.decoy


def next_step(session: Session) -> NextStep:
    """Return what the page shows after the decision."""
    if session.purpose is VerificationPurpose.LOGIN:
        # Every outcome goes back to the relying party, as a code or as access_denied.
        return NextStep.CONTINUE
    if session.decision is Decision.PASSED:
        if session.purpose is VerificationPurpose.ONBOARDING:
            return NextStep.CREDENTIAL_PENDING
        if session.purpose is VerificationPurpose.RECOVERY:
            if session.recovery_channel == "help_desk":
                return NextStep.RECOVERY_AGENT
            return NextStep.RECOVERY_CHOICE
        return NextStep.DONE
    if session.purpose is VerificationPurpose.RECOVERY:
        return NextStep.CONTACT_HELP_DESK
    if session.decision is Decision.NEEDS_REVIEW:
        return NextStep.UNDER_REVIEW
    return NextStep.CONTACT_HR


def _decision_view(session: Session) -> DecisionView:
    step = next_step(session)
    if session.decision is None:
        raise ValueError(f"session {session.session_id} has no decision")
    return DecisionView(
        session_id=session.session_id,
        decision=session.decision,
        # Reasons stay with HR and reviewers unless the hire passed: telling an impostor
        # which check failed would help the next attempt.
        reasons=list(session.reasons) if session.decision == Decision.PASSED else [],
        next_step=step,
        message=translate(f"api.next_step.{step.value}", session.locale),
        # The laptop only ever ships to the HR home address that this verification confirmed.
        ships_to=(
            format_address(onboarding_store.get_hire(session.onboarding_id).home_address, session.locale)
            if step is NextStep.CREDENTIAL_PENDING
            else None
        ),
        continue_url=session.continue_path if step is NextStep.CONTINUE else None,
    )


def _missing_evidence(session: Session, kind: EvidenceKind) -> InvalidRequestError:
    label = translate(f"api.step.{kind.value}", session.locale)
    return InvalidRequestError(
        translate("api.error.evidence_missing", session.locale, step=label), field=kind.value
    )


def _load_images(session: Session) -> dict[EvidenceKind, bytes]:
    """Load the latest image of each kind; a liveness session replaces the selfie."""
    images: dict[EvidenceKind, bytes] = {}
    for kind in STEPS:
        key = session.evidence.get(kind)
        if kind is EvidenceKind.SELFIE and key is None and session.liveness_session_id:
            continue
        data = evidence.load(key) if key else None
        if data is None:
            raise _missing_evidence(session, kind)
        images[kind] = data
    return images


def _retake_message(session: Session, reason: str, attempts_left: int) -> str:
    key = f"api.retake.{reason}"
    try:
        message = translate(key, session.locale)
    except KeyError:
        message = translate("api.retake.unknown", session.locale)
    plural = "one" if attempts_left == 1 else "other"
    count = translate(f"api.retake.attempts_left.{plural}", session.locale, attempts_left=attempts_left)
    return f"{message} {count}"


def _evaluate(session: Session) -> DecisionRecord:
    """Run the engine and the policy. A retake uses an attempt and raises; the last one decides."""
    images = _load_images(session)
    # A decoy runs the engine too, against stand-in facts, so its retakes and timing look like a
    # real person's. Only its decision is fixed, below.
    hire: Hire | HireFacts = (
        _DECOY_FACTS.model_copy(update={"verification_date": dt.datetime.now(dt.UTC).date()})
        if session.decoy
        else onboarding_store.get_hire(session.onboarding_id)
    )
    try:
        result, facts = evaluation.measure(
            images,
            hire,
            attempts_left_after=session.attempts_left - 1,
            verification_session_id=session.session_id,
            liveness_session_id=session.liveness_session_id,
        )
    except RetakeRequiredError as exc:
        attempts_left = store.consume_attempt(session)
        metrics.add_metric(name="VerificationRetake", unit=MetricUnit.Count, value=1)
        audit.record(
            subject_id=session.onboarding_id,
            action="verification_retake",
            outcome=exc.reason,
            actor="hire",
            reasons=[exc.reason],
            details={"session_id": session.session_id, "attempts_left": attempts_left},
        )
        if attempts_left > 0:
            raise RetakeRequiredError(
                _retake_message(session, exc.reason, attempts_left),
                reason=exc.reason,
                attempts_left=attempts_left,
                field=exc.field,
            ) from exc
        return DecisionRecord(
            decision=Decision.NEEDS_REVIEW, reasons=[RETAKES_EXHAUSTED, exc.reason], scores={}
        )
    except PayloadTooLargeError as exc:
        raise PayloadTooLargeError(
            translate("api.error.image_too_large", session.locale), field=exc.field
        ) from exc
    except UnsupportedMediaTypeError as exc:
        raise UnsupportedMediaTypeError(
            translate("api.error.image_type", session.locale), field=exc.field
        ) from exc
    if session.decoy:
        return DecisionRecord(decision=Decision.FAILED, reasons=[NOT_ELIGIBLE], scores={})
    verdict = policy.decide(result, facts, evaluation.settings())
    if session.purpose in (VerificationPurpose.LOGIN, VerificationPurpose.RECOVERY):
        verdict = _require_eligible(session, verdict)
    # Reuse detection: the attempt's document and image fingerprints are stored under this
    # onboarding, and one that another onboarding showed first turns the decision FAILED
    # (document_reused / image_reused). See hireproof.verification.reuse.
    verdict = reuse.record_and_check(
        result, verdict, onboarding_id=session.onboarding_id, session_id=session.session_id
    )
    # NOTE: no engine reads the address on the document yet, so matches_home stays None.
    # The kind and issuer of the document are evidence metadata for a sign-in's ID token;
    # names, numbers and dates stay unrecorded.
    return DecisionRecord(
        decision=verdict.decision,
        reasons=list(verdict.reasons),
        unchecked=list(verdict.unchecked),
        scores=dict(verdict.scores),
        document_type=result.document.document_type.value if result.document.document_type else None,
        document_country=result.document.issuing_country.value,
    )


def _require_eligible(session: Session, verdict: policy.VerificationDecision) -> policy.VerificationDecision:
    """Fail a sign-in or recovery whose person lost eligibility while the verification ran."""
    from hireproof.access import persons
    from hireproof.sessions.interactive import eligible

    if eligible(persons.get_person(session.onboarding_id)):
        return verdict
    reasons = (NOT_ELIGIBLE, *(reason for reason in verdict.reasons if reason != NOT_ELIGIBLE))
    return verdict.model_copy(update={"decision": Decision.FAILED, "reasons": reasons})


def submit(session: Session) -> DecisionView:
    """Decide the verification from the latest image of each kind and report it to the workflow.

    Order: record the decision (conditional, so a second submit cannot send a second result),
    delete every evidence image, audit, then SendTaskSuccess. Raises ConflictError (409,
    retry) before the workflow has registered its task token, and RetakeRequiredError (422)
    while retakes are left.
    """
    if not session.task_token and needs_workflow(session):
        raise ConflictError(translate("api.error.not_ready_to_submit", session.locale))
    started = time.monotonic()
    record = _evaluate(session)
    # Engine and policy time of an attempt that decided; a retake raises before this line.
    metrics.add_metric(
        name="VerificationDuration",
        unit=MetricUnit.Milliseconds,
        value=round((time.monotonic() - started) * 1000),
    )

    decided, recorded_now = store.record_decision(session, record)
    if not recorded_now:
        return _decision_view(decided)
    try:
        evidence.delete_all(session.session_id)
    except (TransientError, ClientError) as exc:
        # The decision must still reach the workflow; its Record Decision step deletes what
        # is left, and the bucket's one-day lifecycle rule is the last resort.
        logger.error(
            "evidence deletion failed",
            extra={"session_id": session.session_id, "error": type(exc).__name__},
        )
    audit.record(
        subject_id=session.onboarding_id,
        action="verification_decided",
        outcome=record.decision.value,
        actor="hire",
        reasons=record.reasons,
        details={
            "session_id": session.session_id,
            "purpose": session.purpose.value,
            "unchecked": ",".join(record.unchecked),
            **record.scores,
        },
    )
    metrics.add_metric(
        name=f"Verification{record.decision.value.title().replace('_', '')}",
        unit=MetricUnit.Count,
        value=1,
    )
    tasks.send_decision(decided)
    return _decision_view(decided)


# ----------------------------------------------------------------- credential
def collect_credential(session: Session) -> CredentialView:
    """Reveal the onboarding credential once.

    Rule: the session must be DECIDED for the onboarding purpose and the onboarding record's
    state must be VERIFIED or later. The workflow sets VERIFIED for a PASSED decision, and
    Issue Credentials sets it after a reviewer's approval, once the credential is stored.
    Checking the state as well keeps a wrongly stored credential from a hire who was not
    approved.
    A PASSED session whose onboarding is not yet VERIFIED gets 409 (retry), because the
    workflow records the decision a moment after the hire submits.
    """
    locale = session.locale
    if session.status is not SessionStatus.DECIDED:
        raise ConflictError(translate("api.error.verification_not_finished", locale))
    if session.purpose is VerificationPurpose.RECOVERY:
        return _collect_reset(session)
    if session.purpose is not VerificationPurpose.ONBOARDING:
        raise NotFoundError(translate("api.error.credential_none", locale))

    state = onboarding_store.get_onboarding(session.onboarding_id).get("state")
    if state not in APPROVED_STATES:
        # A closed onboarding never issues a credential, so return a final 404, not a 409 retry.
        if state in (OnboardingState.FAILED, OnboardingState.EXPIRED, OnboardingState.ERROR):
            raise NotFoundError(translate("api.error.credential_none", locale))
        if state == OnboardingState.IN_REVIEW or session.decision is Decision.NEEDS_REVIEW:
            raise ConflictError(translate("api.error.credential_under_review", locale))
        if session.decision is Decision.PASSED:
            raise ConflictError(translate("api.error.credential_not_ready", locale))
        raise NotFoundError(translate("api.error.credential_none", locale))

    credential = store.reveal_credential(session.session_id)
    logger.info("credential revealed", extra={"session_id": session.session_id})
    return CredentialView(kind=credential.kind, value=credential.value, expires_at=credential.expires_at)


def _recovery_ended_without_reset(session: Session) -> bool:
    """Return whether the session's recovery ended without storing a reset (error, expiry)."""
    from hireproof.recovery import store as recovery_store
    from hireproof.recovery.models import RecoveryStatus

    if session.has_credential or session.credential_shown or not session.recovery_id:
        return False
    status = recovery_store.get(session.recovery_id).status
    return status in (
        RecoveryStatus.FAILED,
        RecoveryStatus.EXPIRED,
        RecoveryStatus.NEEDS_REVIEW,
        RecoveryStatus.ERROR,
    )


def _collect_reset(session: Session) -> CredentialView:
    """Reveal a recovery's one-time reset once; 409 until the recovery workflow has stored it."""
    if session.decision is not Decision.PASSED:
        raise NotFoundError(translate("api.error.credential_none", session.locale))
    if _recovery_ended_without_reset(session):
        # A final 404, so the page stops polling: no credential is coming.
        raise NotFoundError(translate("api.error.credential_none", session.locale))
    credential = store.reveal_credential(session.session_id)
    logger.info("reset credential revealed", extra={"session_id": session.session_id})
    return CredentialView(kind=credential.kind, value=credential.value, expires_at=credential.expires_at)
