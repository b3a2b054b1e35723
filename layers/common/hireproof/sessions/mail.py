"""Invitation, reminder and credential-ready e-mails in the hire's language, sent with SES v2.

The link carries the invitation token in the URL fragment (`/verify#token=...`): browsers
never send a fragment to a server, so the token stays out of web server and CDN logs.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from enum import StrEnum

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import ConfigurationError, TransientError
from hireproof.i18n import resolve_locale, translate
from hireproof.models import Hire, VerificationPurpose

logger = Logger(child=True)

# SES v2 error codes that a later retry can succeed on; any other rejection needs an operator.
_RETRYABLE_SES_ERRORS = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "InternalFailure", "ServiceUnavailable"}
)


class MailKind(StrEnum):
    """Kind of e-mail: first invitation, reminder or credential-ready notice."""

    INVITATION = "invitation"
    REMINDER = "reminder"
    CREDENTIAL_READY = "credential_ready"


@dataclass(frozen=True)
class Email:
    """A composed e-mail: the subject and both bodies in one language."""

    subject: str
    text: str
    html: str
    locale: str


def verification_link(token: str) -> str:
    """Build the verification page link with the token in the fragment."""
    base = require_env("VERIFICATION_PAGE_URL").rstrip("/")
    return f"{base}/verify#token={token}"


def _expiry_line(locale: str, ttl_seconds: int) -> str:
    if ttl_seconds >= 2 * 3600:
        return translate("email.expiry.hours", locale, hours=ttl_seconds // 3600)
    return translate("email.expiry.minutes", locale, minutes=max(1, ttl_seconds // 60))


def compose(
    kind: MailKind, *, hire: Hire, purpose: VerificationPurpose, link: str, ttl_seconds: int
) -> Email:
    """Write one e-mail in the hire's language (English when the language has no catalog)."""
    locale = resolve_locale(hire.locale)
    names = {
        "display_name": hire.preferred_name or hire.legal_name.given,
        "given_name": hire.legal_name.given,
        "family_name": hire.legal_name.family,
    }

    if kind is MailKind.CREDENTIAL_READY:
        subject = translate("email.credential_ready.subject", locale)
        paragraphs = [translate("email.credential_ready.intro", locale)]
        action = translate("email.credential_ready.action", locale)
    else:
        subject = translate(f"email.invitation.{purpose.value}.subject", locale)
        paragraphs = [
            translate(f"email.invitation.{purpose.value}.intro", locale),
            translate("email.invitation.what_you_need", locale),
        ]
        action = translate("email.invitation.action", locale)
        if kind is MailKind.REMINDER:
            subject = translate("email.reminder.subject", locale, subject=subject)
            paragraphs.insert(0, translate("email.reminder.notice", locale))

    greeting = translate("email.greeting", locale, **names)
    expiry = _expiry_line(locale, ttl_seconds)
    privacy = translate("email.privacy", locale)
    not_expected = translate("email.not_expected", locale)
    signature = translate("email.signature", locale)
    fallback = translate("email.link_fallback", locale)

    text = "\n\n".join(
        [greeting, *paragraphs, f"{action}:\n{link}", expiry, privacy, not_expected, signature]
    )
    escaped = [html.escape(p) for p in paragraphs]
    link_attr = html.escape(link, quote=True)
    body_html = (
        f'<!DOCTYPE html><html lang="{locale}"><head><meta charset="utf-8"></head>'
        '<body style="font-family:sans-serif;line-height:1.5;max-width:560px">'
        f"<p>{html.escape(greeting)}</p>"
        + "".join(f"<p>{p}</p>" for p in escaped)
        + f'<p><a href="{link_attr}" style="display:inline-block;padding:12px 20px;'
        'background:#1a56db;color:#ffffff;border-radius:6px;text-decoration:none">'
        f"{html.escape(action)}</a></p>"
        f'<p>{html.escape(fallback)}<br><a href="{link_attr}">{html.escape(link)}</a></p>'
        f"<p>{html.escape(expiry)}</p>"
        f'<p style="color:#555555">{html.escape(privacy)}<br>{html.escape(not_expected)}</p>'
        f"<p>{html.escape(signature)}</p></body></html>"
    )
    return Email(subject=subject, text=text, html=body_html, locale=locale)


def send(email: Email, *, to_address: str, session_id: str) -> str:
    """Send one e-mail through SES v2 and return its message id.

    Raises TransientError when SES throttles or fails internally, so the workflow retries,
    and ConfigurationError for any other rejection (unverified sender, sandbox recipient).
    """
    try:
        response = aws.client("sesv2").send_email(
            FromEmailAddress=require_env("SENDER_EMAIL"),
            Destination={"ToAddresses": [to_address]},
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        logger.warning("SES rejected an e-mail", extra={"session_id": session_id, "error": code})
        if code in _RETRYABLE_SES_ERRORS:
            raise TransientError(f"SES failed with {code}; retry") from exc
        raise ConfigurationError(
            f"SES rejected the e-mail with {code}; check the SENDER_EMAIL identity and the"
            " account's sending status"
        ) from exc
    message_id: str = response["MessageId"]
    logger.info(
        "e-mail sent",
        extra={"session_id": session_id, "locale": email.locale, "message_id": message_id},
    )
    return message_id
