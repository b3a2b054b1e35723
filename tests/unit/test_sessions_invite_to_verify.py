"""functions/invite_to_verify: the workflow's invitation and reminder step on moto."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from hireproof.errors import InvalidRequestError, NotFoundError
from hireproof.sessions import store
from sessions_support import (
    PAGE_URL,
    CallRecorder,
    LambdaContext,
    add_onboarding,
    load_event,
    load_handler,
    make_hire,
    sessions_stack,
    token_from_email,
)
from template_resources import StackResources


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        # Use the function's own variables from template.yaml; only the page URL, which
        # defaults to the HTTP API's URL, needs a value this helper cannot resolve.
        os.environ.update(stack.function_environment("InviteToVerifyFunction"))
        os.environ["VERIFICATION_PAGE_URL"] = PAGE_URL
        yield stack


@pytest.fixture
def handler(stack: StackResources) -> ModuleType:
    return load_handler("invite_to_verify")


@pytest.fixture
def emails(stack: StackResources) -> list[dict[str, Any]]:
    return CallRecorder().watch("sesv2", "sesv2", "SendEmail")


def test_invite_event_sends_invitation(handler: ModuleType, emails: list[dict[str, Any]]) -> None:
    event = load_event("invite_to_verify", "invite")
    add_onboarding(make_hire(employee_id="4821"))

    output = handler.lambda_handler(event, LambdaContext())

    assert output == {
        "session_id": "bamboohr-4821.onboarding",
        "reminders_sent": 0,
        "reminders_left": 3,
        "status": "INVITED",
        "email_sent": True,
    }
    assert len(emails) == 1
    token = token_from_email(emails[0])
    assert store.session_for_token(token).session_id == "bamboohr-4821.onboarding"


def test_reminder_event_sends_new_link(handler: ModuleType, emails: list[dict[str, Any]]) -> None:
    add_onboarding(make_hire(employee_id="4821"))
    handler.lambda_handler(load_event("invite_to_verify", "invite"), LambdaContext())

    output = handler.lambda_handler(load_event("invite_to_verify", "reminder"), LambdaContext())

    assert output["reminders_sent"] == 1
    assert output["reminders_left"] == 2
    assert output["email_sent"] is True
    assert token_from_email(emails[0]) != token_from_email(emails[1])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "vacation"}, "purpose"),
        ({"onboarding_id": ""}, "onboarding_id"),
        ({"reminder": "maybe"}, "reminder"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_event_raises_invalid_request(
    handler: ModuleType, change: dict[str, Any], field: str
) -> None:
    event = {**load_event("invite_to_verify", "invite"), **change}

    with pytest.raises(InvalidRequestError) as raised:
        handler.lambda_handler(event, LambdaContext())

    assert raised.value.field == field


def test_unknown_onboarding_raises_not_found(handler: ModuleType) -> None:
    with pytest.raises(NotFoundError):
        handler.lambda_handler(load_event("invite_to_verify", "invite"), LambdaContext())
