"""functions/recovery_api on template.yaml's resources in moto: the form, the starts and the reset choice.

Decisions are written to the sessions directly (`recovery_support.decide`), so these tests
check the rules around the verification, not the engine. The recovery state machine is a
placeholder whose executions moto records; the workflow tests run the real one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from hireproof import audit
from hireproof.access import persons
from hireproof.access.persons import AccessStatus
from hireproof.i18n import translate
from hireproof.models import Decision, Hire
from hireproof.recovery import choice, store
from hireproof.recovery.models import RecoveryChannel, RecoveryStatus
from hireproof.sessions import store as sessions_store
from hireproof.web import entry
from recovery_support import active_person, decide, recovery_stack
from sessions_support import TOKEN_PLACEHOLDER, CallRecorder, LambdaContext, load_event, load_handler
from template_resources import StackResources

AGENT = "arn:aws:iam::123456789012:user/help-desk-agent"
RECOVERY_PLACEHOLDER = "rcv-REPLACE_WITH_RECOVERY_ID"


@dataclass
class World:
    stack: StackResources
    handler: ModuleType
    recorder: CallRecorder
    person_id: str
    hire: Hire

    def call(
        self,
        name: str,
        *,
        token: str | None = None,
        body: str | None = None,
        recovery_id: str | None = None,
        query: dict[str, str] | None = None,
        source_ip: str | None = None,
    ) -> dict[str, Any]:
        event = load_event("recovery_api", name)
        if token is not None:
            event["headers"]["authorization"] = event["headers"]["authorization"].replace(
                TOKEN_PLACEHOLDER, token
            )
        if body is not None:
            event["body"] = body
        if recovery_id is not None:
            text = json.dumps(event).replace(RECOVERY_PLACEHOLDER, recovery_id)
            event = json.loads(text)
        if query is not None:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if source_ip is not None:
            event["requestContext"]["http"]["sourceIp"] = source_ip
        response: dict[str, Any] = self.handler.lambda_handler(event, LambdaContext())
        return response

    def start(self, email: str | None = None) -> str:
        """Start a self-service recovery and return the token from the redirect."""
        response = self.call("start", body=f"email={email or self.hire.work_email}")
        assert response["statusCode"] == 303, response
        return str(response["headers"]["Location"]).removeprefix("verify#token=")

    def session_of(self, token: str) -> Any:
        return sessions_store.session_for_token(token, allow_decided=True)

    def recoveries(self) -> list[dict[str, Any]]:
        table = boto3.resource("dynamodb").Table(os.environ["RECOVERY_TABLE"])
        return list(table.scan()["Items"])

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [r for r in audit.records_for(self.person_id) if r["action"] == action]


def _body(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


@pytest.fixture
def world() -> Iterator[World]:
    with recovery_stack() as stack:
        recorder = CallRecorder()
        for service, event_service, operation in (
            ("sesv2", "sesv2", "SendEmail"),
            ("stepfunctions", "sfn", "SendTaskSuccess"),
            ("stepfunctions", "sfn", "StartExecution"),
        ):
            recorder.watch(service, event_service, operation)
        person_id, hire = active_person()
        yield World(stack, load_handler("recovery_api"), recorder, person_id, hire)


# ----------------------------------------------------------------- the form
def test_form_renders_in_browser_language(world: World) -> None:
    response = world.call("form")

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == entry.CONTENT_TYPE
    assert response["headers"]["Content-Security-Policy"] == entry.policy()
    assert '<html lang="ja">' in response["body"]
    assert 'action="recovery?lang=ja"' in response["body"]


def test_form_lang_query_overrides_header(world: World) -> None:
    response = world.call("form", query={"lang": "en"})

    assert '<html lang="en">' in response["body"]
    assert translate("page.entry.recovery.heading", "en") in response["body"]


# ----------------------------------------------------------------- POST /recovery
def test_start_known_email_redirects_and_starts_execution(world: World) -> None:
    response = world.call("start")

    assert response["statusCode"] == 303
    assert response["headers"]["Location"].startswith("verify#token=")
    assert response["headers"]["Cache-Control"] == "no-store"
    [recovery] = world.recoveries()
    assert recovery["person_id"] == world.person_id
    assert recovery["status"] == "STARTED"
    assert recovery["channel"] == "self_service"
    [started] = world.recorder.calls["StartExecution"]
    assert started["name"] == recovery["recovery_id"]
    assert json.loads(started["input"]) == {
        "recovery_id": recovery["recovery_id"],
        "person_id": world.person_id,
        "session_id": recovery["session_id"],
        "channel": "self_service",
    }
    session = world.session_of(response["headers"]["Location"].removeprefix("verify#token="))
    assert session.recovery_id == recovery["recovery_id"]
    assert session.recovery_channel == "self_service"
    assert session.locale == "ja"
    assert [r["outcome"] for r in world.actions("recovery_requested")] == ["STARTED"]


def test_start_unknown_email_answers_the_same_without_recovery(world: World) -> None:
    known = world.call("start")
    unknown = world.call("start", body="email=nobody.here%40example.com")

    assert unknown["statusCode"] == known["statusCode"] == 303
    assert sorted(unknown["headers"]) == sorted(known["headers"])
    assert unknown["body"] == known["body"]
    assert len(world.recoveries()) == 1
    assert len(world.recorder.calls["StartExecution"]) == 1
    decoy = world.session_of(unknown["headers"]["Location"].removeprefix("verify#token="))
    assert decoy.decoy
    assert decoy.recovery_channel == "self_service"


def test_start_invalid_email_renders_form_422(world: World) -> None:
    response = world.call("start", body="email=not-an-address")

    assert response["statusCode"] == 422
    assert translate("page.entry.error.email", "ja") in response["body"]
    assert 'value="not-an-address"' in response["body"]
    assert world.recoveries() == []


def test_start_past_person_limit_renders_429(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "2")

    statuses = [world.call("start")["statusCode"] for _ in range(2)]
    limited = world.call("start")

    assert statuses == [303, 303]
    assert limited["statusCode"] == 429
    assert int(limited["headers"]["Retry-After"]) >= 1
    assert translate("api.error.rate_limited", "ja") in limited["body"]
    assert len(world.recoveries()) == 2


def test_start_past_source_limit_renders_429(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_SOURCE_PER_HOUR", "1")
    world.call("start", body="email=first%40example.com")

    limited = world.call("start", body="email=second%40example.com")
    other_source = world.call("start", body="email=second%40example.com", source_ip="203.0.113.9")

    assert limited["statusCode"] == 429
    assert other_source["statusCode"] == 303


# ----------------------------------------------------------------- POST /verify/recovery/reset
def test_choose_reset_sends_choice_to_registered_token(world: World) -> None:
    token = world.start()
    recovery_id = world.recoveries()[0]["recovery_id"]
    choice.register_choice_token(recovery_id, "token-of-wait-for-reset-choice")
    decide(world.session_of(token).session_id, Decision.PASSED)

    response = world.call("choose_reset", token=token)

    body = _body(response)
    assert response["statusCode"] == 202
    assert response["headers"]["Cache-Control"] == "no-store"
    assert body == {
        "recovery_id": recovery_id,
        "kind": "password",
        "status": "RESET_CHOSEN",
        "message": translate("api.recovery.reset_pending", "ja"),
        "credential_path": "verify/credential",
    }
    assert world.recorder.calls["SendTaskSuccess"] == [
        {
            "taskToken": "token-of-wait-for-reset-choice",
            "output": json.dumps({"reset_kind": "password", "channel": "self_service"}),
        }
    ]
    [chosen] = world.actions("recovery_reset_chosen")
    assert chosen["actor"] == "person"
    assert chosen["outcome"] == "password"
    assert chosen["details"]["recovery_id"] == recovery_id


def test_choice_before_token_is_sent_when_token_registers(world: World) -> None:
    token = world.start()
    recovery_id = world.recoveries()[0]["recovery_id"]
    decide(world.session_of(token).session_id, Decision.PASSED)

    response = world.call("choose_reset", token=token, body='{"kind": "mfa"}')
    sent_before = len(world.recorder.calls["SendTaskSuccess"])
    choice.register_choice_token(recovery_id, "late-token")

    assert response["statusCode"] == 202
    assert sent_before == 0
    assert [call["taskToken"] for call in world.recorder.calls["SendTaskSuccess"]] == ["late-token"]
    assert json.loads(world.recorder.calls["SendTaskSuccess"][0]["output"])["reset_kind"] == "mfa"


def test_second_choice_is_409(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED)
    world.call("choose_reset", token=token)

    second = world.call("choose_reset", token=token, body='{"kind": "mfa"}')

    body = _body(second)
    assert second["statusCode"] == 409
    assert body["error"] == "ResetAlreadyChosenError"
    assert body["message"] == translate("api.error.recovery_already_chosen", "ja")
    assert store.get(world.recoveries()[0]["recovery_id"]).reset_kind == "password"
    assert len(world.actions("recovery_reset_chosen")) == 1
    [rejected] = world.actions("recovery_reset_rejected")
    assert rejected["reasons"] == ["ResetAlreadyChosenError"]
    assert rejected["outcome"] == "mfa"


def test_choice_after_max_age_is_410(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED, age_seconds=301)

    response = world.call("choose_reset", token=token)

    body = _body(response)
    assert response["statusCode"] == 410
    assert body["error"] == "VerificationTooOldError"
    assert body["message"] == translate("api.error.recovery_too_old", "ja", minutes=5)
    assert world.recoveries()[0]["status"] == "STARTED"
    assert [r["reasons"] for r in world.actions("recovery_reset_rejected")] == [["VerificationTooOldError"]]


def test_choice_within_max_age_is_accepted(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED, age_seconds=290)

    assert world.call("choose_reset", token=token)["statusCode"] == 202


def test_choice_before_decision_is_409(world: World) -> None:
    token = world.start()

    response = world.call("choose_reset", token=token)

    assert response["statusCode"] == 409
    assert _body(response)["message"] == translate("api.error.verification_not_finished", "ja")


def test_choice_after_failed_verification_is_409(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.FAILED, reasons=["face_mismatch"])

    response = world.call("choose_reset", token=token)

    assert response["statusCode"] == 409
    assert _body(response)["message"] == translate("api.error.recovery_not_passed", "ja")
    assert world.recoveries()[0]["status"] == "STARTED"
    assert world.actions("recovery_reset_chosen") == []


def test_decoy_choice_fails_like_failed_verification(world: World) -> None:
    real = world.start()
    decide(world.session_of(real).session_id, Decision.FAILED, reasons=["face_mismatch"])
    decoy = world.start("nobody.here@example.com")
    decide(world.session_of(decoy).session_id, Decision.FAILED, reasons=["not_eligible"])

    real_response = world.call("choose_reset", token=real)
    decoy_response = world.call("choose_reset", token=decoy)

    assert decoy_response["statusCode"] == real_response["statusCode"] == 409
    assert decoy_response["body"] == real_response["body"]


def test_choice_unsupported_by_provider_is_501(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED)
    # The deployment switched to a provider without resets while the person verified.
    monkeypatch.setenv("IDENTITY_PROVIDER", "identity_center")

    response = world.call("choose_reset", token=token, body='{"kind": "mfa"}')

    body = _body(response)
    assert response["statusCode"] == 501
    assert body["error"] == "ResetNotSupportedError"
    assert body["message"] == translate(
        "api.error.recovery_not_supported", "ja", kind=translate("recovery.kind.mfa", "ja")
    )
    assert world.recoveries()[0]["status"] == "STARTED"


def test_start_without_any_reset_is_501_before_verification(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_PROVIDER", "identity_center")

    known = world.call("start")
    unknown = world.call("start", body="email=nobody.here%40example.com")

    assert known["statusCode"] == 501
    assert unknown["statusCode"] == 501
    # The two pages differ only in the e-mail typed back into the form.
    typed = "<typed e-mail>"
    assert known["body"].replace(str(world.hire.work_email), typed) == unknown["body"].replace(
        "nobody.here@example.com", typed
    )
    assert translate("page.entry.error.unavailable", "ja") in known["body"]
    assert world.recoveries() == []


def test_choice_for_suspended_person_is_409(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED)
    persons.set_access_status(world.person_id, AccessStatus.SUSPENDED, actor="test", reason="high_risk")

    response = world.call("choose_reset", token=token)

    assert response["statusCode"] == 409
    assert _body(response)["message"] == translate("api.error.recovery_not_eligible", "ja")


def test_choice_with_unknown_kind_is_422(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED)

    response = world.call("choose_reset", token=token, body='{"kind": "everything"}')

    assert response["statusCode"] == 422
    assert _body(response)["field"] == "kind"


def test_choice_without_token_is_401(world: World) -> None:
    event_token = "not-a-token"

    response = world.call("choose_reset", token=event_token)

    assert response["statusCode"] == 401


def test_help_desk_session_cannot_choose_itself(world: World) -> None:
    started = _body(world.call("help_desk_start"))
    email = world.recorder.calls["SendEmail"][0]["Content"]["Simple"]["Body"]["Text"]["Data"]
    token = email.split("verify#token=", 1)[1].split()[0]
    decide(store.get(started["recovery_id"]).session_id, Decision.PASSED)

    response = world.call("choose_reset", token=token)

    assert response["statusCode"] == 404
    assert store.get(started["recovery_id"]).status is RecoveryStatus.STARTED


# ----------------------------------------------------------------- the help desk
def test_help_desk_start_emails_the_link(world: World) -> None:
    response = world.call("help_desk_start")

    body = _body(response)
    assert response["statusCode"] == 201
    assert body["person_id"] == world.person_id
    assert body["status"] == "STARTED"
    assert body["channel"] == "help_desk"
    assert body["email_sent"] is True
    [sent] = world.recorder.calls["SendEmail"]
    assert sent["Destination"]["ToAddresses"] == [str(world.hire.personal_email)]
    assert sent["Content"]["Simple"]["Subject"]["Data"] == translate(
        "email.invitation.recovery.subject", "en"
    )
    assert "https://verify.example.test/verify#token=" in sent["Content"]["Simple"]["Body"]["Text"]["Data"]
    recovery = store.get(body["recovery_id"])
    assert recovery.channel is RecoveryChannel.HELP_DESK
    assert recovery.started_by == AGENT
    [link_sent] = world.actions("recovery_link_sent")
    assert link_sent["actor"] == AGENT


def test_help_desk_start_by_person_id(world: World) -> None:
    response = world.call("help_desk_start", body=json.dumps({"person_id": world.person_id}))

    assert response["statusCode"] == 201
    assert _body(response)["person_id"] == world.person_id


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ('{"person_id": "generic-nobody"}', 404, "NotFoundError"),
        ('{"work_email": "nobody.here@example.com"}', 404, "NotFoundError"),
        (
            '{"person_id": "generic-4821", "work_email": "renee.dubois.4821@example.com"}',
            422,
            "InvalidRequestError",
        ),
        ("{}", 422, "InvalidRequestError"),
        ("not json", 400, "MalformedBodyError"),
    ],
)
def test_help_desk_start_rejects_bad_requests(world: World, body: str, status: int, error: str) -> None:
    response = world.call("help_desk_start", body=body)

    assert response["statusCode"] == status
    assert _body(response)["error"] == error
    assert world.recoveries() == []


def test_help_desk_start_for_disabled_person_is_409(world: World) -> None:
    persons.set_access_status(world.person_id, AccessStatus.DISABLED, actor="test", reason="revoked")

    response = world.call("help_desk_start")

    assert response["statusCode"] == 409
    assert "restore the person first" in _body(response)["message"]
    assert world.recorder.calls["SendEmail"] == []


def test_help_desk_start_past_person_limit_is_429(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTS_PER_PERSON_PER_HOUR", "1")
    world.call("help_desk_start")

    limited = world.call("help_desk_start")

    assert limited["statusCode"] == 429
    assert int(limited["headers"]["Retry-After"]) >= 1
    assert len(world.recorder.calls["SendEmail"]) == 1


def test_help_desk_status_shows_name_only_after_pass(world: World) -> None:
    recovery_id = _body(world.call("help_desk_start"))["recovery_id"]

    before = _body(world.call("help_desk_status", recovery_id=recovery_id))
    decide(store.get(recovery_id).session_id, Decision.PASSED)
    after = _body(world.call("help_desk_status", recovery_id=recovery_id))

    assert before["verified"] is False
    assert before["verified_as"] is None
    assert before["decision"] is None
    assert after["verified"] is True
    assert after["verified_as"] == "Renée Dubois"
    assert after["decision"] == "PASSED"
    assert after["reset_allowed_until"] is not None
    assert not {"reasons", "scores", "evidence", "document"} & set(after)


def test_help_desk_status_after_failure_shows_no_name(world: World) -> None:
    recovery_id = _body(world.call("help_desk_start"))["recovery_id"]
    decide(store.get(recovery_id).session_id, Decision.FAILED, reasons=["face_mismatch"])

    body = _body(world.call("help_desk_status", recovery_id=recovery_id))

    assert body["verified"] is False
    assert body["verified_as"] is None
    assert body["decision"] == "FAILED"


def test_help_desk_status_unknown_recovery_is_404(world: World) -> None:
    response = world.call("help_desk_status", recovery_id="rcv-unknown")

    assert response["statusCode"] == 404


def test_help_desk_reset_is_chosen_by_agent(world: World) -> None:
    recovery_id = _body(world.call("help_desk_start"))["recovery_id"]
    decide(store.get(recovery_id).session_id, Decision.PASSED)

    response = world.call("help_desk_reset", recovery_id=recovery_id)

    body = _body(response)
    assert response["statusCode"] == 202
    assert body["kind"] == "mfa"
    assert body["credential_path"] is None
    assert body["message"] == translate("api.recovery.reset_pending_help_desk", "en")
    [chosen] = world.actions("recovery_reset_chosen")
    assert chosen["actor"] == AGENT


def test_agent_reset_of_self_service_409(world: World) -> None:
    token = world.start()
    decide(world.session_of(token).session_id, Decision.PASSED)

    response = world.call("help_desk_reset", recovery_id=world.recoveries()[0]["recovery_id"])

    assert response["statusCode"] == 409
    assert _body(response)["message"] == translate("api.error.recovery_wrong_channel", "en")
