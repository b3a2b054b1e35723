"""The part of a sign-in between the authorization request and the code: who is verified.

1. `/oauth2/authorize` stores the validated request and sends the browser to the e-mail
   form (`/oauth2/login?request=<id>`), with a cookie that binds the request to the browser.
2. `start_login` starts a LOGIN verification session for that e-mail (a decoy when no
   eligible person has it, see `hireproof.sessions.interactive`) and sends the browser to
   the verification page.
3. The page runs the same capture steps, engines and policy as onboarding, and when the
   decision is made it goes to `/oauth2/resume?request=<id>&session=<session id>`.
4. `resume` returns to the relying party: a code only for a PASSED verification of a person
   who is still eligible, `access_denied` for anything else (FAILED, NEEDS_REVIEW, a decoy,
   a person suspended meanwhile, an expired session). The description is the same for every
   denial, so the relying party learns nothing about why.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from hireproof import audit
from hireproof.access import persons
from hireproof.errors import ConflictError, NotFoundError
from hireproof.i18n import translate
from hireproof.models import Decision, VerificationPurpose
from hireproof.oidc import flow
from hireproof.onboarding import store as onboarding_store
from hireproof.onboarding.steps import access_groups
from hireproof.sessions import evaluation, interactive
from hireproof.sessions import store as session_store
from hireproof.sessions.models import OPEN_STATUSES, Session

logger = Logger(child=True)

ACTOR = "oidc-provider"
LIVENESS_NOT_CHECKED = "liveness_not_checked"
DENIED_DESCRIPTION = "The identity verification did not allow a sign-in."
PAGE_PATH = "/verify"
RESUME_PATH = "/oauth2/resume"


def resume_path(request_id: str, session_id: str) -> str:
    """Return where the verification page sends the browser once the decision is made."""
    return f"{RESUME_PATH}?{urlencode({'request': request_id, 'session': session_id})}"


def start_login(
    request_id: str, browser_secret: str | None, email: str, *, source_ip: str, locale: str
) -> str:
    """Start the verification of the person who claims `email` and return the page's URL with its token.

    Raises the flow's errors for an unknown, expired, used or foreign request, and
    RateLimitedError when the e-mail or the address started too many sign-ins.
    """
    flow.load_pending(request_id, browser_secret)
    started = interactive.start_for_email(
        email,
        VerificationPurpose.LOGIN,
        source_ip=source_ip,
        locale=locale,
        actor=ACTOR,
        attributes={"oidc_request_id": request_id},
    )
    session_id = started.session.session_id
    session_store.set_continue_path(session_id, resume_path(request_id, session_id))
    return f"{PAGE_PATH}#{urlencode({'token': started.token})}"


def _login_session(request_id: str, session_id: str) -> Session:
    try:
        session = session_store.get_session(session_id)
    except NotFoundError as exc:
        raise NotFoundError("the sign-in's verification session was not found", field="session") from exc
    if session.purpose is not VerificationPurpose.LOGIN or session.continue_path != resume_path(
        request_id, session_id
    ):
        raise NotFoundError("the verification session belongs to another sign-in", field="session")
    return session


def resume(request_id: str, session_id: str, browser_secret: str | None, *, locale: str) -> str:
    """Finish a decided sign-in and return the redirect to the relying party's redirect URI.

    Raises ConflictError while the verification is still open, so a reload too early does
    not cost the person the sign-in.
    """
    flow.load_pending(request_id, browser_secret)
    session = _login_session(request_id, session_id)
    if session.status in OPEN_STATUSES:
        raise ConflictError(translate("api.error.verification_not_finished", locale), field="session")

    person = None if session.decoy else persons.get_person(session.onboarding_id)
    passed = session.decision is Decision.PASSED and interactive.eligible(person)
    if not passed or session.decided_at is None:
        location = flow.deny_authorization(request_id, "access_denied", DENIED_DESCRIPTION)
        _audit(session, "denied", [session.decision.value if session.decision else session.status.value])
        return location

    record = onboarding_store.get_onboarding(session.onboarding_id)
    hire = onboarding_store.get_hire(session.onboarding_id)
    login = flow.VerifiedLogin(
        person_id=session.onboarding_id,
        email=str(hire.work_email),
        given_name=hire.preferred_name or hire.legal_name.given,
        family_name=hire.legal_name.family,
        groups=access_groups(hire.department),
        auth_time=dt.datetime.fromtimestamp(session.decided_at, dt.UTC),
        document_type=session.document_type,
        issuing_country=session.document_country,
        verification_method=evaluation.engine_name(),
        # The local engine, allowed in the local and dev stages only, checks no liveness.
        liveness_checked=LIVENESS_NOT_CHECKED not in session.unchecked,
        verification_id=session.session_id,
    )
    location = flow.complete_authorization(request_id, login)
    _audit(session, "code_issued", [], idp_user=bool(record.get("idp_user_id")))
    return location


def _audit(session: Session, outcome: str, reasons: list[str], *, idp_user: bool = False) -> None:
    subject = session.onboarding_id if not session.decoy else f"decoy#{session.session_id}"
    audit.record(
        subject_id=subject,
        action="login_decided",
        outcome=outcome,
        actor=ACTOR,
        reasons=reasons,
        details={"session_id": session.session_id, "has_idp_account": idp_user},
    )
    logger.info("sign-in finished", extra={"session_id": session.session_id, "outcome": outcome})
