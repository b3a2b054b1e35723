"""The reset choice: what a passed verification may reset, once, while it is fresh.

`choose_reset` is the only way to a reset. It allows one when all of these hold, and
raises the error named in brackets otherwise:

- the recovery's session is DECIDED with PASSED (ConflictError, 409);
- the decision is younger than RECOVERY_MAX_VERIFICATION_AGE_SECONDS (VerificationTooOldError, 410);
- the person is still eligible: onboarding and access ACTIVE (ConflictError, 409);
- the identity provider can perform this kind of reset (ResetNotSupportedError, 501);
- no reset was chosen for this verification before (ResetAlreadyChosenError, 409).

The choice is written with a conditional update, then sent to the workflow's Wait For
Reset Choice task. When that task has not registered its token yet, registering it sends
the stored choice instead, so the choice reaches the workflow either way.
"""

from __future__ import annotations

import json
import time

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.access import persons
from hireproof.config import int_env, require_env
from hireproof.errors import (
    ConfigurationError,
    ConflictError,
    HireProofError,
    NotFoundError,
    ResetAlreadyChosenError,
    ResetNotSupportedError,
    VerificationTooOldError,
)
from hireproof.i18n import translate
from hireproof.identity.base import ProviderCapabilities
from hireproof.models import Decision, VerificationPurpose
from hireproof.recovery import store
from hireproof.recovery.models import (
    Recovery,
    RecoveryChannel,
    RecoveryStatus,
    ResetChoiceView,
    ResetKind,
)
from hireproof.sessions import store as sessions_store
from hireproof.sessions.interactive import eligible
from hireproof.sessions.models import Session, SessionStatus

logger = Logger(child=True)

DEFAULT_MAX_VERIFICATION_AGE_SECONDS = 300
CREDENTIAL_PATH = "verify/credential"
# The token no longer belongs to a waiting task: it timed out, or a retried wait replaced it.
_STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def max_verification_age_seconds() -> int:
    """Return how long a PASSED decision authorizes a reset (RECOVERY_MAX_VERIFICATION_AGE_SECONDS)."""
    return int_env("RECOVERY_MAX_VERIFICATION_AGE_SECONDS", DEFAULT_MAX_VERIFICATION_AGE_SECONDS)


def provider_capabilities() -> ProviderCapabilities:
    """Return the capabilities of the provider that IDENTITY_PROVIDER names, without credentials.

    Capabilities are class attributes, so the API checks them without reading the
    provider's secret.
    """
    from hireproof.identity.entra import EntraProvider
    from hireproof.identity.identity_center import IdentityCenterProvider
    from hireproof.identity.okta import OktaProvider

    providers = {
        "identity_center": IdentityCenterProvider.capabilities,
        "okta": OktaProvider.capabilities,
        "entra": EntraProvider.capabilities,
    }
    name = require_env("IDENTITY_PROVIDER")
    if name not in providers:
        raise ConfigurationError(
            f"environment variable IDENTITY_PROVIDER must be one of {', '.join(providers)}, got {name!r}"
        )
    return providers[name]


def kind_label(kind: ResetKind, locale: str) -> str:
    """Return the reset kind as the person reads it, such as "password"."""
    return translate(f"recovery.kind.{kind.value}", locale)


def _message_locale(session: Session, channel: RecoveryChannel) -> str:
    # The verified person reads self-service errors; an agent reads help desk errors in English.
    return session.locale if channel is RecoveryChannel.SELF_SERVICE else "en"


def check_verification(session: Session, locale: str, *, now: float | None = None) -> None:
    """Raise unless the session's decision is PASSED and younger than the maximum age."""
    if session.status is not SessionStatus.DECIDED:
        raise ConflictError(translate("api.error.verification_not_finished", locale))
    if session.decision is not Decision.PASSED:
        raise ConflictError(translate("api.error.recovery_not_passed", locale))
    max_age = max_verification_age_seconds()
    moment = now if now is not None else time.time()
    if session.decided_at is None or moment - session.decided_at > max_age:
        minutes = max(1, round(max_age / 60))
        raise VerificationTooOldError(
            translate("api.error.recovery_too_old", locale, minutes=minutes), field="authorization"
        )


def choose_reset(
    recovery_id: str, kind: ResetKind, actor: str, *, channel: RecoveryChannel
) -> ResetChoiceView:
    """Choose the one reset that the recovery's passed verification authorizes; see the module docstring.

    `actor` is who chose: `person` for self-service, the agent's IAM ARN for the help desk.
    Raises NotFoundError for an unknown recovery.
    """
    recovery = store.get(recovery_id)
    session = sessions_store.get_session(recovery.session_id)
    locale = _message_locale(session, channel)
    try:
        chosen = _choose(recovery, session, kind, actor, channel, locale)
    except HireProofError as exc:
        # A late or repeated attempt is worth seeing in the trail: it may be someone else trying.
        audit.record(
            subject_id=recovery.person_id,
            action="recovery_reset_rejected",
            outcome=kind.value,
            actor=actor,
            reasons=[type(exc).__name__],
            details={"recovery_id": recovery_id, "session_id": recovery.session_id, "channel": channel.value},
        )
        raise

    audit.record(
        subject_id=recovery.person_id,
        action="recovery_reset_chosen",
        outcome=kind.value,
        actor=actor,
        details={
            "recovery_id": recovery_id,
            "session_id": recovery.session_id,
            "channel": channel.value,
            "verification_age_seconds": int(time.time()) - int(session.decided_at or 0),
        },
    )
    _deliver_choice(chosen, locale)
    message_key = (
        "api.recovery.reset_pending"
        if channel is RecoveryChannel.SELF_SERVICE
        else "api.recovery.reset_pending_help_desk"
    )
    return ResetChoiceView(
        recovery_id=recovery_id,
        kind=kind,
        status=chosen.status,
        message=translate(message_key, locale),
        credential_path=CREDENTIAL_PATH if channel is RecoveryChannel.SELF_SERVICE else None,
    )


def _choose(
    recovery: Recovery,
    session: Session,
    kind: ResetKind,
    actor: str,
    channel: RecoveryChannel,
    locale: str,
) -> Recovery:
    """Check every rule of the module docstring, then write the choice; return the chosen recovery."""
    if recovery.channel is not channel:
        raise ConflictError(translate("api.error.recovery_wrong_channel", locale), field="recovery_id")
    check_verification(session, locale)
    if not eligible(persons.get_person(recovery.person_id)):
        raise ConflictError(translate("api.error.recovery_not_eligible", locale))
    capabilities = provider_capabilities()
    supported = capabilities.resets_password if kind is ResetKind.PASSWORD else capabilities.resets_mfa
    if not supported:
        raise ResetNotSupportedError(
            translate("api.error.recovery_not_supported", locale, kind=kind_label(kind, locale)), field="kind"
        )
    try:
        return store.choose(recovery.recovery_id, kind, chosen_by=actor)
    except ResetAlreadyChosenError as exc:
        raise ResetAlreadyChosenError(
            translate("api.error.recovery_already_chosen", locale), field="kind"
        ) from exc
    except ConflictError as exc:
        raise ConflictError(translate("api.error.recovery_closed", locale), field="recovery_id") from exc


def choose_reset_for_session(session: Session, kind: ResetKind) -> ResetChoiceView:
    """Choose a reset as the person of a self-service recovery session (POST /verify/recovery/reset).

    A decoy session fails like a real session whose verification FAILED, so the route reveals
    to no caller whether the e-mail belonged to a person.
    """
    locale = session.locale
    if (
        session.purpose is not VerificationPurpose.RECOVERY
        or session.recovery_channel != RecoveryChannel.SELF_SERVICE.value
        or not session.recovery_id
    ):
        raise NotFoundError(translate("api.error.recovery_not_self_service", locale))
    if session.decoy:
        # A decoy has no recovery to audit. Its decision is never PASSED, so the check raises.
        check_verification(session, locale)
        raise ConflictError(translate("api.error.recovery_not_passed", locale))
    return choose_reset(session.recovery_id, kind, "person", channel=RecoveryChannel.SELF_SERVICE)


def register_choice_token(recovery_id: str, task_token: str) -> Recovery:
    """Store Wait For Reset Choice's task token; send a choice made before it at once."""
    recovery = store.register_choice_token(recovery_id, task_token)
    logger.info("choice task token registered", extra={"recovery_id": recovery_id, "status": recovery.status})
    if recovery.status is RecoveryStatus.RESET_CHOSEN:
        send_choice(recovery)
    return recovery


def send_choice(recovery: Recovery) -> bool:
    """Send a chosen reset to the waiting task; return False when no live token is registered."""
    if not recovery.choice_task_token or recovery.reset_kind is None:
        return False
    try:
        aws.client("stepfunctions").send_task_success(
            taskToken=recovery.choice_task_token,
            output=json.dumps({"reset_kind": recovery.reset_kind.value, "channel": recovery.channel.value}),
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code not in _STALE_TOKEN_ERRORS:
            raise
        logger.warning(
            "reset choice rejected by the workflow",
            extra={"recovery_id": recovery.recovery_id, "error": code},
        )
        return False
    logger.info("reset choice sent", extra={"recovery_id": recovery.recovery_id})
    return True


def _deliver_choice(chosen: Recovery, locale: str) -> None:
    """Send the choice now, or leave it to the token's registration; fail when the wait expired."""
    if send_choice(chosen) or not chosen.choice_task_token:
        return
    # The registered token is stale. A retried wait registers a new one and sends the choice
    # then, but an expired wait never will: tell the caller instead of letting the page poll.
    current = store.get(chosen.recovery_id)
    if current.status is RecoveryStatus.EXPIRED:
        minutes = max(1, round(max_verification_age_seconds() / 60))
        raise VerificationTooOldError(
            translate("api.error.recovery_too_old", locale, minutes=minutes), field="authorization"
        )
