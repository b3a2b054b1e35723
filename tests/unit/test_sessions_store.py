"""hireproof.sessions.store on moto: invitations, token rotation, link lifetime, credentials."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import SecretStr

from hireproof import audit
from hireproof import aws as hireproof_aws
from hireproof.errors import (
    ConflictError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
    NotFoundError,
)
from hireproof.i18n import translate
from hireproof.models import Decision, VerificationPurpose
from hireproof.sessions import store, tasks
from hireproof.sessions.models import DecisionRecord, SessionStatus
from sessions_support import (
    PAGE_URL,
    CallRecorder,
    add_onboarding,
    make_hire,
    sessions_stack,
    token_from_email,
)
from template_resources import StackResources


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        yield stack


@pytest.fixture
def recorder(stack: StackResources) -> CallRecorder:
    recorder = CallRecorder()
    recorder.watch("sesv2", "sesv2", "SendEmail")
    recorder.watch("stepfunctions", "sfn", "SendTaskSuccess")
    return recorder


def _emails(recorder: CallRecorder) -> list[dict[str, Any]]:
    return recorder.calls["SendEmail"]


def _item(stack: StackResources, session_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(stack.name("VerificationTable"))
    item: dict[str, Any] = table.get_item(Key={"session_id": session_id})["Item"]
    return item


def _decide(session_id: str, decision: Decision = Decision.PASSED) -> None:
    session = store.get_session(session_id)
    record = DecisionRecord(decision=decision, reasons=[], scores={"face_distance": 0.31})
    store.record_decision(session, record)


# ----------------------------------------------------------------- invitations
def test_invite_creates_session_and_sends_email(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())

    result = store.invite(onboarding_id, "onboarding", reminder=False)

    assert result.session_id == f"{onboarding_id}.onboarding"
    assert result.reminders_sent == 0
    assert result.reminders_left == 3
    assert result.status is SessionStatus.INVITED
    assert result.email_sent is True
    emails = _emails(recorder)
    assert len(emails) == 1
    assert emails[0]["Destination"] == {"ToAddresses": ["renee.dubois@example.net"]}
    assert emails[0]["FromEmailAddress"] == stack.name("SenderIdentity")


def test_invite_stores_only_token_hash(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())

    result = store.invite(onboarding_id, "onboarding", reminder=False)

    token = token_from_email(_emails(recorder)[0])
    item = _item(stack, result.session_id)
    assert item["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(item, default=str)
    assert abs(int(item["token_expires_at"]) - (time.time() + 86400)) < 60
    assert int(item["attempts_left"]) == 3


def test_invitation_link_carries_token_in_fragment(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())

    result = store.invite(onboarding_id, "onboarding", reminder=False)

    email = _emails(recorder)[0]
    token = token_from_email(email)
    link = f"{PAGE_URL}/verify#token={token}"
    assert len(token) >= 43  # 32 random bytes in URL-safe base64
    assert link in email["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert f'href="{link}"' in email["Content"]["Simple"]["Body"]["Html"]["Data"]
    assert "?token=" not in email["Content"]["Simple"]["Body"]["Html"]["Data"]
    assert store.session_for_token(token).session_id == result.session_id


def test_invitation_in_japanese_for_ja_hire(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire(locale="ja"))

    store.invite(onboarding_id, "onboarding", reminder=False)

    simple = _emails(recorder)[0]["Content"]["Simple"]
    text = simple["Body"]["Text"]["Data"]
    assert simple["Subject"]["Data"] == "【ご入社手続き】本人確認のお願い"
    assert text.startswith("Dubois Renée 様")
    assert translate("email.invitation.what_you_need", "ja") in text
    assert translate("email.privacy", "ja") in text
    assert "このリンクの有効期限は24時間です。" in text
    assert '<html lang="ja">' in simple["Body"]["Html"]["Data"]
    assert simple["Subject"]["Charset"] == "UTF-8"


def test_invitation_unknown_locale_uses_english(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire(locale="fr-FR"))

    result = store.invite(onboarding_id, "onboarding", reminder=False)

    simple = _emails(recorder)[0]["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Confirm your identity to get started"
    assert simple["Body"]["Text"]["Data"].startswith("Hi Renée,")
    assert store.get_session(result.session_id).locale == "en"


def test_invitation_escapes_names_in_html(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire(preferred_name='<a href="https://evil.test">Ren</a>'))

    store.invite(onboarding_id, "onboarding", reminder=False)

    body = _emails(recorder)[0]["Content"]["Simple"]["Body"]["Html"]["Data"]
    assert "evil.test" in body
    assert '<a href="https://evil.test">' not in body
    assert "&lt;a href=&quot;https://evil.test&quot;&gt;" in body


def test_device_recipient_invitation_subject(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire(locale="ja"))

    result = store.invite(onboarding_id, VerificationPurpose.DEVICE_RECIPIENT, reminder=False)

    assert result.session_id == f"{onboarding_id}.device_recipient"
    subject = _emails(recorder)[0]["Content"]["Simple"]["Subject"]["Data"]
    assert subject == "【パソコン発送前】本人確認のお願い"


def test_invite_unknown_onboarding_raises(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        store.invite("bamboohr-missing", "onboarding", reminder=False)


def test_invite_is_audited_without_personal_data(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())

    store.invite(onboarding_id, "onboarding", reminder=False)

    records = audit.records_for(onboarding_id)
    assert [r["action"] for r in records] == ["verification_invitation_sent"]
    dumped = json.dumps(records, default=str)
    assert "renee" not in dumped.lower()
    assert "Dubois" not in dumped
    assert token_from_email(_emails(recorder)[0]) not in dumped


# ----------------------------------------------------------------- reminders
def test_reminder_rotates_token(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    store.invite(onboarding_id, "onboarding", reminder=False)
    old_token = token_from_email(_emails(recorder)[0])

    result = store.invite(onboarding_id, "onboarding", reminder=True)

    new_token = token_from_email(_emails(recorder)[1])
    assert new_token != old_token
    assert result.reminders_sent == 1
    assert result.reminders_left == 2
    with pytest.raises((InvitationNotFoundError, InvitationExpiredError)):
        store.session_for_token(old_token)
    assert store.session_for_token(new_token).session_id == result.session_id


def test_reminder_email_says_it_replaces_old_link(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    store.invite(onboarding_id, "onboarding", reminder=False)

    store.invite(onboarding_id, "onboarding", reminder=True)

    simple = _emails(recorder)[1]["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Reminder: Confirm your identity to get started"
    assert translate("email.reminder.notice", "en") in simple["Body"]["Text"]["Data"]


def test_reminder_keeps_progress(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    result = store.invite(onboarding_id, "onboarding", reminder=False)
    session = store.mark_in_progress(store.get_session(result.session_id))
    store.consume_attempt(session)

    store.invite(onboarding_id, "onboarding", reminder=True)

    after = store.get_session(result.session_id)
    assert after.status is SessionStatus.IN_PROGRESS
    assert after.attempts_left == 2


def test_reminders_exhausted_raises_conflict(
    stack: StackResources, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERIFICATION_MAX_REMINDERS", "1")
    onboarding_id = add_onboarding(make_hire())
    store.invite(onboarding_id, "onboarding", reminder=False)
    last = store.invite(onboarding_id, "onboarding", reminder=True)

    with pytest.raises(ConflictError):
        store.invite(onboarding_id, "onboarding", reminder=True)

    assert last.reminders_left == 0
    assert len(_emails(recorder)) == 2


def test_reminder_never_reopens_decided_session(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    token = token_from_email(_emails(recorder)[0])
    _decide(invited.session_id)

    result = store.invite(onboarding_id, "onboarding", reminder=True)

    assert result.email_sent is False
    assert result.status is SessionStatus.DECIDED
    assert len(_emails(recorder)) == 1
    assert store.get_session(invited.session_id).status is SessionStatus.DECIDED
    with pytest.raises(InvitationUsedError):
        store.session_for_token(token)


def test_reminder_without_session_raises(stack: StackResources) -> None:
    onboarding_id = add_onboarding(make_hire())

    with pytest.raises(NotFoundError):
        store.invite(onboarding_id, "onboarding", reminder=True)


def test_invite_on_decided_session_starts_new_round(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "reverification", reminder=False)
    _decide(invited.session_id, Decision.FAILED)

    result = store.invite(onboarding_id, "reverification", reminder=False)

    session = store.get_session(result.session_id)
    assert session.status is SessionStatus.INVITED
    assert session.decision is None
    assert session.attempts_left == 3
    token = token_from_email(_emails(recorder)[1])
    assert store.session_for_token(token).session_id == invited.session_id


# ----------------------------------------------------------------- token checks
def test_unknown_token_raises_not_found(stack: StackResources) -> None:
    with pytest.raises(InvitationNotFoundError) as raised:
        store.session_for_token("not-a-real-token", fallback_locale="ja")

    assert raised.value.message == translate("api.error.invitation_not_found", "ja")


def test_expired_token_raises_expired(
    stack: StackResources, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    onboarding_id = add_onboarding(make_hire(locale="ja"))
    store.invite(onboarding_id, "onboarding", reminder=False)
    token = token_from_email(_emails(recorder)[0])
    later = int(time.time()) + 86400 + 1
    monkeypatch.setattr(store, "_now", lambda: later)

    with pytest.raises(InvitationExpiredError) as raised:
        store.session_for_token(token)

    assert raised.value.message == translate("api.error.invitation_expired", "ja")


def test_decided_token_raises_used(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    token = token_from_email(_emails(recorder)[0])
    _decide(invited.session_id)

    with pytest.raises(InvitationUsedError):
        store.session_for_token(token)

    assert store.session_for_token(token, allow_decided=True).decision is Decision.PASSED


def test_closed_session_token_raises_expired(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    token = token_from_email(_emails(recorder)[0])

    closed = store.close(invited.session_id, SessionStatus.EXPIRED)

    assert closed is True
    assert store.close(invited.session_id, SessionStatus.CANCELLED) is False
    with pytest.raises(InvitationExpiredError):
        store.session_for_token(token)


def test_record_decision_only_once(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    stale = store.get_session(invited.session_id)
    first = DecisionRecord(decision=Decision.PASSED, reasons=[], scores={})
    second = DecisionRecord(decision=Decision.FAILED, reasons=["face_mismatch"], scores={})

    _, first_won = store.record_decision(stale, first)
    decided, second_won = store.record_decision(stale, second)

    assert first_won is True
    assert second_won is False
    assert decided.decision is Decision.PASSED


# ----------------------------------------------------------------- task token
def test_register_task_token_on_open_session(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)

    session = store.register_task_token(invited.session_id, "task-token-1")

    assert session.task_token == "task-token-1"
    assert recorder.calls["SendTaskSuccess"] == []


def test_register_task_token_resends_lost_decision(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    _decide(invited.session_id, Decision.NEEDS_REVIEW)

    store.register_task_token(invited.session_id, "task-token-after-timeout")

    sent = recorder.calls["SendTaskSuccess"]
    assert len(sent) == 1
    assert sent[0]["taskToken"] == "task-token-after-timeout"
    assert json.loads(sent[0]["output"]) == {
        "session_id": invited.session_id,
        "decision": "NEEDS_REVIEW",
        "reasons": [],
        "scores": {"face_distance": 0.31},
        "document_address": {"matches_home": None},
    }


def test_register_task_token_unknown_session_raises(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        store.register_task_token("bamboohr-missing.onboarding", "task-token")


def test_stale_task_token_is_logged_not_raised(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    _decide(invited.session_id)
    session = store.get_session(invited.session_id).model_copy(update={"task_token": "old"})
    client = hireproof_aws.client("stepfunctions")

    with Stubber(client) as stubber:
        stubber.add_client_error("send_task_success", service_error_code="TaskTimedOut")
        stubber.add_client_error("send_task_heartbeat", service_error_code="TaskTimedOut")
        delivered = tasks.send_decision(session)
        beat = tasks.send_heartbeat(session)

    assert delivered is False
    assert beat is False


def test_task_callback_other_errors_raise(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    _decide(invited.session_id)
    session = store.get_session(invited.session_id).model_copy(update={"task_token": "t"})

    with Stubber(hireproof_aws.client("stepfunctions")) as stubber:
        stubber.add_client_error("send_task_success", service_error_code="ThrottlingException")
        with pytest.raises(ClientError):
            tasks.send_decision(session)


# ----------------------------------------------------------------- credential
def _decided_session(recorder: CallRecorder) -> str:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)
    _decide(invited.session_id)
    return invited.session_id


def _in_a_week() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=7)


def test_credential_revealed_once(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    expires = _in_a_week()
    store.store_credential(session_id, "temporary_access_pass", SecretStr("TAP-8841-2210"), expires)

    credential = store.reveal_credential(session_id)

    assert credential.kind == "temporary_access_pass"
    assert credential.value == "TAP-8841-2210"
    assert credential.expires_at == expires.isoformat(timespec="seconds")
    with pytest.raises(InvitationUsedError):
        store.reveal_credential(session_id)


def test_credential_ciphertext_removed_after_reveal(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    store.store_credential(session_id, "temporary_access_pass", "TAP-8841-2210", _in_a_week())
    stored = _item(stack, session_id)

    store.reveal_credential(session_id)

    after = _item(stack, session_id)
    assert "TAP-8841-2210" not in json.dumps(stored, default=repr)
    assert "credential_ciphertext" in stored
    assert "credential_ciphertext" not in after
    assert after["credential_shown"] is True


def test_credential_bound_to_session_by_encryption_context(
    stack: StackResources, recorder: CallRecorder
) -> None:
    session_id = _decided_session(recorder)
    store.store_credential(session_id, "temporary_access_pass", "TAP-8841-2210", _in_a_week())
    blob = bytes(_item(stack, session_id)["credential_ciphertext"].value)
    kms = boto3.client("kms")

    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"session_id": "another.onboarding"})

    plaintext = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"session_id": session_id})
    assert plaintext["Plaintext"] == b"TAP-8841-2210"


def test_reveal_before_store_raises_conflict(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)

    with pytest.raises(ConflictError):
        store.reveal_credential(session_id)


def test_credential_without_expiry(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    store.store_credential(session_id, "identity_center_first_sign_in", "renee.dubois", None)

    credential = store.reveal_credential(session_id)

    assert credential.value == "renee.dubois"
    assert credential.expires_at is None


def test_expired_credential_raises_expired(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    store.store_credential(session_id, "temporary_access_pass", "TAP-0001", yesterday)

    with pytest.raises(InvitationExpiredError):
        store.reveal_credential(session_id)


def test_store_credential_after_reveal_raises(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    store.store_credential(session_id, "temporary_access_pass", "TAP-0001", _in_a_week())
    store.reveal_credential(session_id)

    with pytest.raises(ConflictError):
        store.store_credential(session_id, "temporary_access_pass", "TAP-0002", _in_a_week())


def test_store_credential_on_open_session_raises(stack: StackResources, recorder: CallRecorder) -> None:
    onboarding_id = add_onboarding(make_hire())
    invited = store.invite(onboarding_id, "onboarding", reminder=False)

    with pytest.raises(ConflictError):
        store.store_credential(invited.session_id, "temporary_access_pass", "TAP", _in_a_week())


def test_credential_audit_has_no_secret(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    store.store_credential(session_id, "temporary_access_pass", "TAP-8841-2210", _in_a_week())
    store.reveal_credential(session_id)

    records = audit.records_for(session_id.rsplit(".", 1)[0])

    actions = [r["action"] for r in records]
    assert "credential_stored" in actions
    assert "credential_revealed" in actions
    assert "TAP-8841-2210" not in json.dumps(records, default=str)


def test_notify_credential_ready_sends_new_link(stack: StackResources, recorder: CallRecorder) -> None:
    session_id = _decided_session(recorder)
    old_token = token_from_email(_emails(recorder)[0])

    result = store.notify_credential_ready(session_id)

    email = _emails(recorder)[1]
    new_token = token_from_email(email)
    assert result.email_sent is True
    assert email["Content"]["Simple"]["Subject"]["Data"] == "Your sign-in details are ready"
    assert store.session_for_token(new_token, allow_decided=True).session_id == session_id
    with pytest.raises((InvitationNotFoundError, InvitationExpiredError)):
        store.session_for_token(old_token, allow_decided=True)


def test_session_environment_matches_template(stack: StackResources) -> None:
    # The invitation function's variables come from template.yaml, not from this test.
    environment = stack.function_environment("InviteToVerifyFunction")

    assert environment["SENDER_EMAIL"] == os.environ["SENDER_EMAIL"]
    assert environment["INVITATION_TTL_SECONDS"] == "86400"
    assert environment["VERIFICATION_MAX_REMINDERS"] == "3"
