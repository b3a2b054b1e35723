"""Starting a recovery, self-service or through the help desk, and describing one to an agent.

A recovery for a real person is three writes in this order: the verification session, the
recovery item, then the workflow execution named after the recovery id. A decoy gets the
session only. An agent gets the outcome of the verification and the name on the HR record,
never an image, a score or document data.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import audit, aws, ratelimit
from hireproof.access import persons
from hireproof.config import int_env, require_env
from hireproof.errors import ConflictError, NotFoundError, ResetNotSupportedError
from hireproof.i18n import resolve_locale, translate
from hireproof.models import Decision, Hire, VerificationPurpose
from hireproof.onboarding import store as onboarding_store
from hireproof.recovery import choice, store
from hireproof.recovery.models import (
    HelpDeskStartView,
    RecoveryChannel,
    RecoveryStatus,
    RecoveryView,
)
from hireproof.sessions import interactive, mail
from hireproof.sessions import store as sessions_store
from hireproof.sessions.models import SessionStatus

logger = Logger(child=True)

SELF_SERVICE_ACTOR = "self-service"


@dataclass(frozen=True)
class StartedRecovery:
    """The session token for the browser, and the recovery id; None for a decoy."""

    token: str
    recovery_id: str | None


def _attributes(recovery_id: str, channel: RecoveryChannel) -> dict[str, str]:
    return {"recovery_id": recovery_id, "recovery_channel": channel.value}


def require_a_reset(message: str) -> None:
    """Raise ResetNotSupportedError before anything starts when the provider can reset nothing.

    IAM Identity Center has no reset API, so a person would verify for nothing. The error
    depends on the deployment only, never on the e-mail, so it reveals no account.
    """
    capabilities = choice.provider_capabilities()
    if not (capabilities.resets_password or capabilities.resets_mfa):
        raise ResetNotSupportedError(message, field="kind")


def start_self_service(email: str, *, source_ip: str, locale: str) -> StartedRecovery:
    """Start a self-service recovery for the claimed work e-mail `email` (POST /recovery).

    The response is the same for a decoy: a session token and nothing else. Raises
    RateLimitedError before any lookup when the e-mail or the source address used up its starts.
    """
    require_a_reset(translate("page.entry.error.unavailable", locale))
    recovery_id = store.new_recovery_id()
    started = interactive.start_for_email(
        email,
        VerificationPurpose.RECOVERY,
        source_ip=source_ip,
        locale=locale,
        actor=SELF_SERVICE_ACTOR,
        attributes=_attributes(recovery_id, RecoveryChannel.SELF_SERVICE),
    )
    if started.person_id is None:
        # NOTE: a decoy skips the recovery item and StartExecution, so it returns a few
        # milliseconds sooner than a real start. The response itself is identical.
        return StartedRecovery(token=started.token, recovery_id=None)
    _open(
        recovery_id,
        person_id=started.person_id,
        session_id=started.session.session_id,
        channel=RecoveryChannel.SELF_SERVICE,
        actor=SELF_SERVICE_ACTOR,
    )
    return StartedRecovery(token=started.token, recovery_id=recovery_id)


def start_help_desk(
    *, person_id: str | None, work_email: str | None, actor: str, page_url: str
) -> HelpDeskStartView:
    """Start a recovery for a caller and e-mail them a single-use link (POST /recovery/requests).

    `page_url` is the verification page's base URL; the link is `<page_url>/verify#token=...`,
    the same form as `mail.verification_link`.

    Raises NotFoundError for an unknown person, ConflictError for one who is not eligible
    (onboarding and access must both be ACTIVE), and RateLimitedError when the person had
    STARTS_PER_PERSON_PER_HOUR help desk recoveries within the hour.
    """
    require_a_reset(
        "the identity provider of this stack cannot reset a password or MFA factors through its API; "
        "reset the user in the provider's console"
    )
    person = _find_person(person_id, work_email)
    if not interactive.eligible(person):
        raise ConflictError(
            f"person {person.person_id} cannot recover: onboarding {person.onboarding_state or 'unknown'}, "
            f"access {person.access_status.value}; only a person whose onboarding and access are both "
            "ACTIVE can, so restore the person first",
            field="person_id",
        )
    ratelimit.hit(
        f"person#recovery_help_desk#{person.person_id}",
        limit=int_env("STARTS_PER_PERSON_PER_HOUR", interactive.DEFAULT_STARTS_PER_PERSON),
        window_seconds=interactive.RATE_WINDOW_SECONDS,
        message=(
            f"person {person.person_id} had too many recoveries within the hour; "
            "wait for the Retry-After seconds, or investigate why the caller keeps asking"
        ),
    )

    hire = onboarding_store.get_hire(person.person_id)
    recovery_id = store.new_recovery_id()
    started = interactive.start_for_person(
        person.person_id,
        VerificationPurpose.RECOVERY,
        locale=resolve_locale(hire.locale),
        attributes=_attributes(recovery_id, RecoveryChannel.HELP_DESK),
    )
    session_id = started.session.session_id
    _open(
        recovery_id,
        person_id=person.person_id,
        session_id=session_id,
        channel=RecoveryChannel.HELP_DESK,
        actor=actor,
    )

    email = mail.compose(
        mail.MailKind.INVITATION,
        hire=hire,
        purpose=VerificationPurpose.RECOVERY,
        link=f"{page_url.rstrip('/')}/verify#token={started.token}",
        ttl_seconds=interactive.link_seconds(),
    )
    mail.send(email, to_address=str(hire.personal_email), session_id=session_id)
    audit.record(
        subject_id=person.person_id,
        action="recovery_link_sent",
        outcome="sent",
        actor=actor,
        details={"recovery_id": recovery_id, "session_id": session_id, "locale": email.locale},
    )
    return HelpDeskStartView(
        recovery_id=recovery_id,
        person_id=person.person_id,
        status=RecoveryStatus.STARTED,
        channel=RecoveryChannel.HELP_DESK,
        email_sent=True,
        link_expires_at=started.session.token_expires().isoformat(timespec="seconds"),
    )


def _find_person(person_id: str | None, work_email: str | None) -> persons.Person:
    if person_id is not None:
        return persons.get_person(person_id)
    found = persons.find_by_email(work_email or "")
    if found is None:
        raise NotFoundError(
            "no person has that work e-mail; check the spelling, or look the person up by person_id",
            field="work_email",
        )
    return found


def _open(recovery_id: str, *, person_id: str, session_id: str, channel: RecoveryChannel, actor: str) -> None:
    """Create the recovery item, start its execution and audit the start."""
    store.create(recovery_id, person_id=person_id, session_id=session_id, channel=channel, started_by=actor)
    execution_arn = _start_execution(recovery_id, person_id, session_id, channel)
    store.record_execution(recovery_id, execution_arn)
    audit.record(
        subject_id=person_id,
        action="recovery_requested",
        outcome=RecoveryStatus.STARTED.value,
        actor=actor,
        details={"recovery_id": recovery_id, "session_id": session_id, "channel": channel.value},
    )
    logger.info(
        "recovery started",
        extra={"recovery_id": recovery_id, "person_id": person_id, "channel": channel.value},
    )


def _start_execution(recovery_id: str, person_id: str, session_id: str, channel: RecoveryChannel) -> str:
    machine = require_env("RECOVERY_STATE_MACHINE_ARN")
    execution_input = {
        "recovery_id": recovery_id,
        "person_id": person_id,
        "session_id": session_id,
        "channel": channel.value,
    }
    try:
        response = aws.client("stepfunctions").start_execution(
            stateMachineArn=machine, name=recovery_id, input=json.dumps(execution_input)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        # The recovery id is new per request, so only a retry of this very call gets here.
        return f"{machine.replace(':stateMachine:', ':execution:')}:{recovery_id}"
    return str(response["executionArn"])


# ----------------------------------------------------------------- the agent's view
def display_name(hire: Hire) -> str:
    """Return the name an agent confirms with the caller: preferred or given name, then family name."""
    return f"{hire.preferred_name or hire.legal_name.given} {hire.legal_name.family}"


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def describe(recovery_id: str) -> RecoveryView:
    """Return a recovery's status and, once the verification PASSED, the HR record's name."""
    recovery = store.get(recovery_id)
    session = sessions_store.get_session(recovery.session_id)
    decision = session.decision if session.status is SessionStatus.DECIDED else None
    verified = decision is Decision.PASSED
    allowed_until = (
        _iso(session.decided_at + choice.max_verification_age_seconds())
        if verified and session.decided_at is not None
        else None
    )
    return RecoveryView(
        recovery_id=recovery.recovery_id,
        person_id=recovery.person_id,
        channel=recovery.channel,
        status=recovery.status,
        verified=verified,
        verified_as=display_name(onboarding_store.get_hire(recovery.person_id)) if verified else None,
        decision=decision,
        reset_kind=recovery.reset_kind,
        reset_allowed_until=allowed_until,
        created_at=_iso(recovery.created_at),
        updated_at=_iso(recovery.updated_at),
    )
