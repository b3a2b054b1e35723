"""Sessions that a person starts by typing a work e-mail: sign-ins and self-service recoveries.

Before the verification, nothing reveals to the browser whether the e-mail belongs to anyone.
An unknown e-mail, or a person whose onboarding or access is not ACTIVE, gets a decoy session.
It has the same screens, limits and language (the browser's, never the HR record's), and its
verification always ends FAILED with the reason `not_eligible`. The audit trail names the
person who has the e-mail, eligible or not, or a keyed hash of an unknown e-mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import audit, ratelimit
from hireproof.access import persons
from hireproof.access.persons import AccessStatus, Person
from hireproof.config import int_env
from hireproof.hashing import keyed_hash
from hireproof.i18n import translate
from hireproof.models import OnboardingState, VerificationPurpose
from hireproof.sessions import store
from hireproof.sessions.models import Session

logger = Logger(child=True)

DEFAULT_STARTS_PER_PERSON = 5
DEFAULT_STARTS_PER_SOURCE = 200
RATE_WINDOW_SECONDS = 3600
NOT_ELIGIBLE = "not_eligible"


@dataclass(frozen=True)
class StartedSession:
    """A new session and the token that opens it; `person_id` is None for a decoy."""

    session: Session
    token: str
    person_id: str | None


def link_seconds() -> int:
    """Return how long a sign-in or recovery session may take (INTERACTIVE_LINK_SECONDS)."""
    return store.interactive_link_seconds()


def eligible(person: Person | None) -> bool:
    """Return whether a person may sign in or recover: onboarding and access both ACTIVE."""
    return (
        person is not None
        and person.onboarding_state == OnboardingState.ACTIVE.value
        and person.access_status is AccessStatus.ACTIVE
    )


def email_subject(email: str) -> str:
    """Return the audit subject for an e-mail that names no eligible person."""
    # The same subject as an access decision for that e-mail (hireproof.access.evaluation).
    return f"email:{keyed_hash('work_email', email)[:32]}"


def check_rate(purpose: VerificationPurpose, email: str, source_ip: str, locale: str) -> None:
    """Count one start per e-mail and per source address; raise RateLimitedError past either limit.

    The e-mail's counter is keyed by its hash whether or not a person has it, so the limit
    itself does not reveal who exists.
    """
    message = translate("api.error.rate_limited", locale)
    ratelimit.hit(
        f"source#{purpose.value}#{keyed_hash('source-ip', source_ip)[:32]}",
        limit=int_env("STARTS_PER_SOURCE_PER_HOUR", DEFAULT_STARTS_PER_SOURCE),
        window_seconds=RATE_WINDOW_SECONDS,
        message=message,
    )
    ratelimit.hit(
        f"person#{purpose.value}#{keyed_hash('work_email', email)[:32]}",
        limit=int_env("STARTS_PER_PERSON_PER_HOUR", DEFAULT_STARTS_PER_PERSON),
        window_seconds=RATE_WINDOW_SECONDS,
        message=message,
    )


def start_for_email(
    email: str,
    purpose: VerificationPurpose,
    *,
    source_ip: str,
    locale: str,
    actor: str,
    attributes: Mapping[str, Any] | None = None,
) -> StartedSession:
    """Start a session for the person who claims `email`; see the module docstring for decoys.

    Raises RateLimitedError before anything is looked up when a limit is used up.
    """
    check_rate(purpose, email, source_ip, locale)
    person = persons.find_by_email(email)
    if person is not None and eligible(person):
        session, token = store.start_interactive(
            person.person_id, purpose, locale, ttl_seconds=link_seconds(), attributes=attributes
        )
        subject, person_id, outcome = person.person_id, person.person_id, "started"
    else:
        decoy_id = f"decoy-{secrets.token_hex(8)}"
        session, token = store.start_interactive(
            decoy_id, purpose, locale, ttl_seconds=link_seconds(), decoy=True, attributes=attributes
        )
        # A known person's refused start belongs in that person's own audit trail.
        subject = person.person_id if person is not None else email_subject(email)
        person_id, outcome = None, NOT_ELIGIBLE

    reasons: list[str] = []
    if person_id is None:
        reasons = [NOT_ELIGIBLE] if person is not None else ["unknown_person"]
    audit.record(
        subject_id=subject,
        action=f"{purpose.value}_started",
        outcome=outcome,
        actor=actor,
        reasons=reasons,
        details={"session_id": session.session_id},
    )
    logger.info(
        "interactive session started",
        extra={"session_id": session.session_id, "purpose": purpose.value, "eligible": person_id is not None},
    )
    return StartedSession(session=session, token=token, person_id=person_id)


def start_for_person(
    person_id: str,
    purpose: VerificationPurpose,
    *,
    locale: str,
    attributes: Mapping[str, Any] | None = None,
) -> StartedSession:
    """Start a session for a known person (the help desk path); the caller checks eligibility."""
    session, token = store.start_interactive(
        person_id, purpose, locale, ttl_seconds=link_seconds(), attributes=attributes
    )
    return StartedSession(session=session, token=token, person_id=person_id)
