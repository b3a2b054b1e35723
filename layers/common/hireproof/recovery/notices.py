"""The e-mail that notifies a person's manager of a completed password or MFA reset.

The notice goes to the manager e-mail on the HR record, in the manager's own language when
HireProof has an onboarding record for the manager, in English otherwise. It names the person and the
kind of reset, so the manager can tell whether it was expected. It never contains the
credential or anything from the verification.
"""

from __future__ import annotations

import datetime as dt
import html

from aws_lambda_powertools import Logger

from hireproof.access import persons
from hireproof.i18n import DEFAULT_LOCALE, resolve_locale, translate
from hireproof.models import Hire
from hireproof.recovery.models import RecoveryChannel, ResetKind
from hireproof.sessions import mail

logger = Logger(child=True)


def manager_locale(manager_email: str) -> str:
    """Return the manager's language from their own HR record, or English when there is none."""
    manager = persons.find_by_email(manager_email)
    return resolve_locale(manager.locale) if manager is not None else DEFAULT_LOCALE


def compose_reset_notice(
    hire: Hire, *, kind: ResetKind, channel: RecoveryChannel, reset_at: dt.datetime, locale: str
) -> mail.Email:
    """Write the manager's notice of one reset in `locale`."""
    display_name = f"{hire.preferred_name or hire.legal_name.given} {hire.legal_name.family}"
    values = {
        "display_name": display_name,
        "work_email": str(hire.work_email),
        "kind": translate(f"recovery.kind.{kind.value}", locale),
        "channel": translate(f"email.reset_notice.channel.{channel.value}", locale),
        "time": reset_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    subject = translate("email.reset_notice.subject", locale, **values)
    paragraphs = [
        translate("email.reset_notice.greeting", locale),
        translate("email.reset_notice.body", locale, **values),
        translate("email.reset_notice.risk", locale),
        translate("email.reset_notice.not_expected", locale),
        translate("email.reset_notice.why", locale),
        translate("email.reset_notice.signature", locale),
    ]
    text = "\n\n".join(paragraphs)
    body_html = (
        f'<!DOCTYPE html><html lang="{locale}"><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.5;max-width:560px">'
        + "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
        + "</body></html>"
    )
    return mail.Email(subject=subject, text=text, html=body_html, locale=locale)


def notify_manager(
    hire: Hire, *, kind: ResetKind, channel: RecoveryChannel, reset_at: dt.datetime, session_id: str
) -> dict[str, object]:
    """Send the notice to the HR record's manager; return what happened, for the effect record.

    Returns `{"sent": False, "reason": "no_manager_email"}` when the record names no manager.
    SES failures raise (TransientError or ConfigurationError, see `mail.send`).
    """
    if hire.manager_email is None:
        logger.warning("no manager to notify of a reset", extra={"session_id": session_id})
        return {"sent": False, "reason": "no_manager_email"}
    manager_email = str(hire.manager_email)
    locale = manager_locale(manager_email)
    notice = compose_reset_notice(hire, kind=kind, channel=channel, reset_at=reset_at, locale=locale)
    message_id = mail.send(notice, to_address=manager_email, session_id=session_id)
    return {"sent": True, "locale": locale, "message_id": message_id}
