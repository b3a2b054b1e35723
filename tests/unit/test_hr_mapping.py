"""hireproof.hr.mapping: each source's payload becomes a Hire; errors name the source's field."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from hireproof.errors import HrDirectoryError, InvalidRequestError
from hireproof.hr import mapping
from hireproof.hr.sources import Delivery
from hireproof.models import Address, HireSource

ROOT = Path(__file__).resolve().parents[2]


def sample_body(name: str) -> dict[str, Any]:
    event = json.loads(
        (ROOT / "events" / "hr_webhook" / f"{name}.json").read_text(encoding="utf-8")
    )
    body: dict[str, Any] = json.loads(event["body"])
    return body


def seed(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(
        (ROOT / "events" / "hr_directory" / f"{name}.json").read_text(encoding="utf-8")
    )
    return record


def invalid(call: Any, *args: Any, **kwargs: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------- generic
def test_generic_maps_one_to_one() -> None:
    hire = mapping.hire_from_generic(sample_body("generic_hire"), event_id="evt-1")

    assert hire.source is HireSource.GENERIC
    assert hire.source_employee_id == "E-1001"
    assert hire.source_event_id == "evt-1"
    assert (hire.legal_name.given, hire.legal_name.family) == ("Casey", "Example")
    assert hire.personal_email == "casey.example@example.net"
    assert hire.work_email == "casey.example@example.com"
    assert hire.date_of_birth == dt.date(1992, 7, 15)
    assert hire.start_date == dt.date(2027, 1, 18)
    assert hire.home_address.country == "US"
    assert hire.shipping_address is None
    assert hire.manager_email == "morgan.lead@example.com"
    assert hire.device_profile == "standard-laptop"


def test_generic_japanese_sample() -> None:
    hire = mapping.hire_from_generic(sample_body("generic_hire_ja"), event_id="evt-2")

    assert hire.locale == "ja"
    assert (hire.legal_name.family, hire.legal_name.given) == ("山田", "花子")
    assert hire.home_address.postal_code == "100-0001"
    assert hire.shipping_address is not None
    assert hire.shipping_address.line2 == "Example Building 5F"
    assert hire.effective_shipping_address == hire.shipping_address


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        (lambda b: b.pop("personal_email"), "personal_email", "is missing; add it to the body"),
        (lambda b: b.update(personal_email="not-an-address"), "personal_email", "e-mail"),
        (lambda b: b["home_address"].update(country="USA"), "home_address.country", "alpha-2"),
        (lambda b: b.update(locale="Japanese"), "locale", "language tag"),
        (lambda b: b.update(start_date="01/18/2027"), "start_date", "YYYY-MM-DD"),
        (lambda b: b["legal_name"].update(family=" "), "legal_name.family", "invalid"),
        (lambda b: b.update(nickname="Cas"), "nickname", "remove it"),
        (lambda b: b.update(source="greenhouse"), "source", "set by HireProof"),
    ],
)
def test_generic_errors_name_field(change: Any, field: str, hint: str) -> None:
    body = copy.deepcopy(sample_body("generic_hire"))
    change(body)

    error = invalid(mapping.hire_from_generic, body, event_id="evt-1")

    assert error.field == field
    assert hint in error.message
    assert error.message.startswith(field)


# ---------------------------------------------------------------- greenhouse
def test_greenhouse_documented_shape() -> None:
    hire = mapping.hire_from_greenhouse(sample_body("greenhouse_candidate_hired"), event_id="gh-1")

    assert hire.source is HireSource.GREENHOUSE
    assert hire.source_employee_id == "50001"
    assert (hire.legal_name.given, hire.legal_name.family) == ("Taylor", "Example")
    assert hire.personal_email == "taylor.example@example.net"
    # The candidate's "work" address is their current employer's; the custom field wins.
    assert hire.work_email == "taylor.example@example.com"
    assert hire.start_date == dt.date(2027, 1, 11)
    assert hire.date_of_birth == dt.date(1988, 4, 2)
    assert hire.locale == "en-US"
    assert hire.department == "Analytics"
    assert hire.manager_email == "robin.lead@example.com"
    assert hire.home_address == Address(
        line1="455 Example Street",
        line2="Apt 2",
        city="New York",
        region="NY",
        postal_code="10280",
        country="US",
    )
    assert hire.shipping_address is not None
    assert hire.shipping_address.city == "Jersey City"


def sibling_shape() -> dict[str, Any]:
    """The shape some senders use: candidate and offer beside the application, start_date."""
    documented = sample_body("greenhouse_candidate_hired")
    application = documented["payload"]["application"]
    candidate = application.pop("candidate")
    offer = application.pop("offer")
    offer["start_date"] = offer.pop("starts_at")
    return {
        "action": "candidate_hired",
        "payload": {"application": application, "candidate": candidate, "offer": offer},
    }


def test_greenhouse_sibling_shape() -> None:
    documented = mapping.hire_from_greenhouse(
        sample_body("greenhouse_candidate_hired"), event_id="e"
    )
    sibling = mapping.hire_from_greenhouse(sibling_shape(), event_id="e")
    assert sibling == documented


def test_greenhouse_missing_work_email() -> None:
    body = sample_body("greenhouse_candidate_hired")
    del body["payload"]["application"]["offer"]["custom_fields"]["work_email"]

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.application.offer.custom_fields.work_email"
    assert "missing" in error.message


def test_greenhouse_missing_personal_email() -> None:
    body = sibling_shape()
    body["payload"]["candidate"]["email_addresses"] = [
        {"value": "x@previous.example", "type": "work"}
    ]

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.candidate.email_addresses"


def test_greenhouse_invalid_personal_email() -> None:
    body = sample_body("greenhouse_candidate_hired")
    candidate = body["payload"]["application"]["candidate"]
    candidate["email_addresses"] = [{"value": "no-at-sign", "type": "personal"}]

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.application.candidate.email_addresses"
    assert "e-mail" in error.message


def test_greenhouse_unreadable_address() -> None:
    body = sample_body("greenhouse_candidate_hired")
    candidate = body["payload"]["application"]["candidate"]
    candidate["addresses"] = [{"value": "455 Broadway New York, NY 10280", "type": "home"}]

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.application.candidate.addresses"
    assert "line1[, line2], city, [region ]postal_code, country" in error.message


def test_greenhouse_missing_start_date() -> None:
    body = sample_body("greenhouse_candidate_hired")
    del body["payload"]["application"]["offer"]["starts_at"]

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.application.offer.starts_at"


def test_greenhouse_missing_candidate() -> None:
    body = {"action": "hire_candidate", "payload": {"application": {"id": 1}}}
    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")
    assert error.field == "payload.application.candidate"


def test_greenhouse_invalid_date_of_birth() -> None:
    body = sample_body("greenhouse_candidate_hired")
    custom = body["payload"]["application"]["candidate"]["custom_fields"]
    custom["date_of_birth"]["value"] = "02/04/1988"

    error = invalid(mapping.hire_from_greenhouse, body, event_id="e")

    assert error.field == "payload.application.candidate.custom_fields.date_of_birth"
    assert "YYYY-MM-DD" in error.message


# ---------------------------------------------------------------- addresses
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "1 Demo Way, Springfield, IL 62701, US",
            {"line1": "1 Demo Way", "city": "Springfield", "region": "IL", "postal_code": "62701"},
        ),
        (
            "1-1 Chiyoda\nChiyoda-ku\nTokyo 100-0001\nJapan",
            {
                "line1": "1-1 Chiyoda",
                "city": "Chiyoda-ku",
                "region": "Tokyo",
                "postal_code": "100-0001",
            },
        ),
        (
            "10 Downing Street, Flat 1, London, SW1A 2AA, GB",
            {
                "line1": "10 Downing Street",
                "line2": "Flat 1",
                "city": "London",
                "postal_code": "SW1A 2AA",
            },
        ),
    ],
)
def test_parse_address_text_formats(text: str, expected: dict[str, str]) -> None:
    parsed = mapping.parse_address_text(text, "addr")
    assert {key: parsed.get(key) for key in expected} == expected
    assert Address.model_validate(parsed).country in {"US", "JP", "GB"}


def test_country_code_rejects_unknown() -> None:
    error = invalid(mapping.country_code, "Atlantis", "employee.country")
    assert error.field == "employee.country"
    assert "ISO 3166-1 alpha-2" in error.message


# ---------------------------------------------------------------- bamboohr
def test_bamboohr_demo_employee() -> None:
    hire = mapping.hire_from_bamboohr(seed("eileen_collins"), employee_id="4021", event_id="b-1")

    assert hire.source is HireSource.BAMBOOHR
    assert (hire.legal_name.given, hire.legal_name.family) == ("Eileen", "Collins")
    assert hire.date_of_birth == dt.date(1990, 11, 19)
    assert hire.locale == "en"
    assert hire.personal_email == "eileen.c@example.net"
    assert hire.work_email == "eileen.collins@example.com"
    assert hire.home_address == Address(
        line1="1 Demo Way", city="Springfield", region="IL", postal_code="62701", country="US"
    )
    assert hire.start_date == dt.date(2027, 1, 4)


def test_bamboohr_unset_date_of_birth() -> None:
    hire = mapping.hire_from_bamboohr(seed("jordan_sample"), employee_id="4022", event_id="b-2")
    assert hire.date_of_birth is None
    assert hire.legal_name.middle == "Q"
    assert hire.preferred_name == "Jo"
    assert hire.home_address.country == "CA"


@pytest.mark.parametrize(
    ("field", "value", "expected_field", "hint"),
    [
        ("homeEmail", "", "employee.homeEmail", "fill it in in BambooHR"),
        ("workEmail", None, "employee.workEmail", "is missing"),
        ("zipcode", "", "employee.zipcode", "is missing"),
        ("hireDate", "0000-00-00", "employee.hireDate", "is missing"),
        ("homeEmail", "eileen at example", "employee.homeEmail", "e-mail"),
        ("country", "Atlantis", "employee.country", "alpha-2"),
    ],
)
def test_bamboohr_errors_name_field(
    field: str, value: str | None, expected_field: str, hint: str
) -> None:
    record = seed("eileen_collins")
    record[field] = value

    error = invalid(mapping.hire_from_bamboohr, record, employee_id="4021", event_id="b-1")

    assert error.field == expected_field
    assert hint in error.message


class StubDirectory:
    def __init__(self, record: dict[str, Any] | None) -> None:
        self.record = record
        self.calls: list[tuple[str, str]] = []

    def get_employee(self, company_id: str, employee_id: str) -> dict[str, Any]:
        self.calls.append((company_id, employee_id))
        if self.record is None:
            raise HrDirectoryError("not found", field="employeeId")
        return self.record


def bamboohr_delivery() -> Delivery:
    document = {
        "type": "employee.created",
        "timestamp": "t",
        "data": {"companyId": "12345", "employeeId": "4021"},
    }
    return Delivery(HireSource.BAMBOOHR, "12345:4021:t", "employee.created", True, document)


def test_hire_from_delivery_bamboohr_directory() -> None:
    directory = StubDirectory(seed("eileen_collins"))

    hire = mapping.hire_from_delivery(bamboohr_delivery(), lambda: directory)

    assert directory.calls == [("12345", "4021")]
    assert hire.source_employee_id == "4021"
    assert hire.source_event_id == "12345:4021:t"


def test_hire_from_delivery_unknown_employee() -> None:
    error = invalid(mapping.hire_from_delivery, bamboohr_delivery(), lambda: StubDirectory(None))
    assert error.field == "data.employeeId"


def test_hire_from_delivery_directory_failure() -> None:
    class Broken:
        def get_employee(self, company_id: str, employee_id: str) -> dict[str, Any]:
            raise HrDirectoryError("refused with 403")

    with pytest.raises(HrDirectoryError):
        mapping.hire_from_delivery(bamboohr_delivery(), Broken)


def test_hire_from_delivery_generic_no_directory() -> None:
    def no_directory() -> StubDirectory:
        raise AssertionError("the directory must not be used")

    delivery = Delivery(HireSource.GENERIC, "e", "hire", True, sample_body("generic_hire"))
    assert mapping.hire_from_delivery(delivery, no_directory).source is HireSource.GENERIC
