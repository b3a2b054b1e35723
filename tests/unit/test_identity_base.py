"""StagedUser, InitialCredential and the secret handling every adapter relies on."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from pydantic import ValidationError

from hireproof.identity import CredentialKind, InitialCredential, StagedUser
from hireproof.identity._http import redact
from hireproof.models import Address, Hire, HireSource, PersonName


def make_hire(**changes: object) -> Hire:
    values: dict[str, object] = {
        "source": HireSource.GENERIC,
        "source_employee_id": "E-1",
        "source_event_id": "evt-1",
        "legal_name": PersonName(given="Jane", family="Doe"),
        "personal_email": "jane@personal.example",
        "work_email": "Jane.Doe@Example.com",
        "start_date": dt.date(2027, 1, 4),
        "home_address": Address(
            line1="1 Main St", city="Springfield", postal_code="12345", country="US"
        ),
        "manager_email": "Boss@Example.com",
        "department": "Engineering",
    }
    values.update(changes)
    return Hire.model_validate(values)


def test_staged_user_from_hire() -> None:
    staged = StagedUser.from_hire(make_hire())

    assert staged.user_name == "jane.doe@example.com"
    assert staged.work_email == "jane.doe@example.com"
    assert staged.manager_email == "boss@example.com"
    assert staged.given_name == "Jane"
    assert staged.family_name == "Doe"
    assert staged.display_name == "Jane Doe"
    assert staged.department == "Engineering"


def test_staged_user_display_name_uses_preferred_name() -> None:
    staged = StagedUser.from_hire(make_hire(preferred_name="Jay"))

    assert staged.display_name == "Jay Doe"
    assert staged.given_name == "Jane"


def test_staged_user_rejects_invalid_email() -> None:
    with pytest.raises(ValidationError, match="user_name"):
        StagedUser(
            user_name="not-an-email",
            given_name="Jane",
            family_name="Doe",
            display_name="Jane Doe",
            work_email="jane.doe@example.com",
        )


def test_staged_user_rejects_blank_name() -> None:
    with pytest.raises(ValidationError, match="given_name"):
        StagedUser(
            user_name="jane.doe@example.com",
            given_name="  ",
            family_name="Doe",
            display_name="Jane Doe",
            work_email="jane.doe@example.com",
        )


def test_initial_credential_masks_value(caplog: pytest.LogCaptureFixture) -> None:
    credential = InitialCredential(
        kind=CredentialKind.TEMPORARY_ACCESS_PASS, value="Xy7#pQ2!", expires_at=None
    )
    caplog.set_level(logging.INFO)

    logging.getLogger("test").info("credential %s %r", credential, credential)

    assert credential.value.get_secret_value() == "Xy7#pQ2!"
    assert "Xy7#pQ2!" not in repr(credential)
    assert "Xy7#pQ2!" not in str(credential)
    assert "Xy7#pQ2!" not in credential.model_dump_json()
    assert "Xy7#pQ2!" not in caplog.text


def test_redact_removes_email_addresses() -> None:
    message = "login: jane.doe@example.com and 'bo.boss@example.org' and jane%40example.com"

    assert redact(message) == "login: <email> and '<email>' and <email>"
