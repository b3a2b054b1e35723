"""Normalize each HR source's payload into a `Hire`.

A payload that cannot become a valid Hire raises InvalidRequestError (422) whose
`field` is the path in the source's own terms (``payload.candidate.email_addresses``,
``employee.homeEmail``, ``home_address.country``) and whose message explains the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError

from hireproof.errors import HrDirectoryError, InvalidRequestError
from hireproof.hr.directory import EMPLOYEE_ID_FIELD, HrDirectory
from hireproof.hr.sources import Delivery
from hireproof.models import Address, Hire, HireSource, Locale, NonEmpty, PersonName


class GenericHire(BaseModel):
    """The body of a generic webhook: one hire, field for field the `Hire` model.

    ::

        {
          "employee_id": "E-1001",                     required; stable id in your HR system
          "legal_name": {"given": "Ada", "family": "Example", "middle": null},
                                                       required; as printed on the photo ID
          "preferred_name": "Ada",                     optional
          "personal_email": "ada@example.net",         required; receives the verification link
          "work_email": "ada.example@example.com",     required; the account being created
          "locale": "en",                              optional, default "en"; "ja", "en-US", ...
          "date_of_birth": "1990-01-31",               optional; compared with the photo ID
          "start_date": "2027-01-04",                  required
          "home_address": {                            required; compared with the photo ID
            "line1": "1 Example Street", "line2": null, "city": "Springfield",
            "region": "IL", "postal_code": "62701", "country": "US"
          },
          "shipping_address": { ...same shape... },    optional; only when the laptop goes elsewhere
          "manager_email": "lead@example.com",         optional
          "department": "Engineering",                 optional
          "device_profile": "standard-laptop"          optional, default "standard-laptop"
        }

    Dates are ISO 8601 (YYYY-MM-DD); countries are ISO 3166-1 alpha-2 codes. Any other
    key is rejected, so a typo never drops a field silently.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    employee_id: NonEmpty
    legal_name: PersonName
    preferred_name: str | None = None
    personal_email: EmailStr
    work_email: EmailStr
    locale: Locale = "en"
    date_of_birth: dt.date | None = None
    start_date: dt.date
    home_address: Address
    shipping_address: Address | None = None
    manager_email: EmailStr | None = None
    department: str | None = None
    device_profile: str = "standard-laptop"


DirectoryFactory = Callable[[], HrDirectory]


def hire_from_delivery(delivery: Delivery, directory: DirectoryFactory) -> Hire:
    """Return the hire one verified delivery reports; BambooHR's is read from the HR directory."""
    if delivery.source is HireSource.GENERIC:
        return hire_from_generic(delivery.document, event_id=delivery.event_id)
    if delivery.source is HireSource.GREENHOUSE:
        return hire_from_greenhouse(delivery.document, event_id=delivery.event_id)

    company_id, employee_id = bamboohr_employee_ref(delivery.document)
    try:
        record = directory().get_employee(company_id, employee_id)
    except HrDirectoryError as exc:
        if exc.field == EMPLOYEE_ID_FIELD:
            raise InvalidRequestError(
                f"data.employeeId {employee_id} is not in the HR directory; "
                "check that the webhook and the directory API key belong to the same company",
                field="data.employeeId",
            ) from exc
        raise
    return hire_from_bamboohr(record, employee_id=employee_id, event_id=delivery.event_id)


# ---------------------------------------------------------------- generic
_GENERIC_RESERVED = ("source", "source_employee_id", "source_event_id")


def hire_from_generic(document: Mapping[str, Any], *, event_id: str) -> Hire:
    """Validate a generic body (see `GenericHire`) and return the Hire."""
    for key in _GENERIC_RESERVED:
        if key in document:
            raise InvalidRequestError(
                f"{key} is set by HireProof from the path and headers; remove it from the body",
                field=key,
            )
    try:
        body = GenericHire.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc, origin={}, missing_fix="add it to the body") from exc
    values = body.model_dump(exclude={"employee_id"})
    values.update(
        source=HireSource.GENERIC, source_employee_id=body.employee_id, source_event_id=event_id
    )
    return _build_hire(values, origin={"source_employee_id": "employee_id"}, missing_fix="add it")


# ---------------------------------------------------------------- greenhouse
GREENHOUSE_CUSTOM_FIELDS = (
    "work_email",
    "locale",
    "date_of_birth",
    "preferred_name",
    "manager",
    "manager_email",
    "shipping_address",
    "device_profile",
)


def hire_from_greenhouse(document: Mapping[str, Any], *, event_id: str) -> Hire:
    """Map a Greenhouse hire event into a Hire.

    Greenhouse documents the candidate and the offer under ``payload.application``;
    some senders put them beside it (``payload.candidate``, ``payload.offer``). Both are read.

    - legal name: candidate ``first_name`` and ``last_name``;
    - personal e-mail: the candidate's ``email_addresses`` entry of type personal, else other;
    - home address: the ``addresses`` entry of type home (else the first), written as
      ``line1[, line2], city, [region ]postal_code, country``;
    - start date: offer ``starts_at`` (or ``start_date``);
    - department: the first department of the first job;
    - custom fields, read from the offer, the application or the candidate (first found):
      ``work_email``, ``locale``, ``date_of_birth``, ``preferred_name``, ``manager`` (a user
      field) or ``manager_email``, ``shipping_address`` and ``device_profile``.

    ``work_email`` is required. The candidate's own "work" address is their current
    employer's, so it is never used for the new account.
    """
    payload = _object(document, "payload", "payload")
    found = payload.get("application")
    application: dict[str, Any] = found if isinstance(found, dict) else {}
    candidate, candidate_path = _first_object(
        (payload, "payload", "candidate"), (application, "payload.application", "candidate")
    )
    offer, offer_path = _first_object(
        (payload, "payload", "offer"), (application, "payload.application", "offer")
    )
    holders: list[tuple[Mapping[str, Any], str]] = [
        (offer, offer_path),
        (application, "payload.application"),
        (candidate, candidate_path),
    ]
    custom = {key: _custom_field(holders, key) for key in GREENHOUSE_CUSTOM_FIELDS}

    candidate_id = candidate.get("id")
    if candidate_id in (None, ""):
        raise InvalidRequestError(f"{candidate_path}.id is missing", field=f"{candidate_path}.id")

    origin: dict[str, str] = {
        "source_employee_id": f"{candidate_path}.id",
        "legal_name.given": f"{candidate_path}.first_name",
        "legal_name.family": f"{candidate_path}.last_name",
        "personal_email": f"{candidate_path}.email_addresses",
        "start_date": f"{offer_path}.starts_at",
    }
    values: dict[str, Any] = {
        "source": HireSource.GREENHOUSE,
        "source_employee_id": str(candidate_id),
        "source_event_id": event_id,
        "legal_name": _drop_none(
            {"given": candidate.get("first_name"), "family": candidate.get("last_name")}
        ),
        "personal_email": _greenhouse_email(candidate.get("email_addresses")),
        "start_date": offer.get("starts_at") or offer.get("start_date"),
        "department": _greenhouse_department(application),
    }

    addresses_path = f"{candidate_path}.addresses"
    values["home_address"] = parse_address_text(
        _greenhouse_address(candidate.get("addresses")), addresses_path
    )
    origin["home_address"] = addresses_path

    for key, target in (
        ("work_email", "work_email"),
        ("locale", "locale"),
        ("date_of_birth", "date_of_birth"),
        ("preferred_name", "preferred_name"),
        ("device_profile", "device_profile"),
    ):
        found = custom[key]
        if found is not None:
            values[target], origin[target] = found
    if custom["work_email"] is None:
        origin["work_email"] = f"{offer_path}.custom_fields.work_email"

    manager = custom["manager"] or custom["manager_email"]
    if manager is not None:
        value, origin["manager_email"] = manager
        values["manager_email"] = value.get("email") if isinstance(value, dict) else value
    shipping = custom["shipping_address"]
    if shipping is not None:
        text, origin["shipping_address"] = shipping
        values["shipping_address"] = parse_address_text(str(text), origin["shipping_address"])

    return _build_hire(
        _drop_none(values),
        origin=origin,
        missing_fix="fill it in in Greenhouse and mark the candidate hired again",
    )


def _greenhouse_email(entries: object) -> str | None:
    by_type = _typed_values(entries)
    return by_type.get("personal") or by_type.get("other")


def _greenhouse_address(entries: object) -> str:
    by_type = _typed_values(entries)
    return by_type.get("home") or next(iter(by_type.values()), "")


def _typed_values(entries: object) -> dict[str, str]:
    """Return the first non-empty value of each type from Greenhouse's [{"value", "type"}] lists."""
    found: dict[str, str] = {}
    if isinstance(entries, list):
        for entry in entries:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("value"), str)
                and entry["value"].strip()
            ):
                found.setdefault(str(entry.get("type") or "other"), entry["value"].strip())
    return found


def _greenhouse_department(application: Mapping[str, Any]) -> str | None:
    jobs = application.get("jobs")
    job = jobs[0] if isinstance(jobs, list) and jobs else application.get("job")
    if isinstance(job, dict) and isinstance(job.get("departments"), list):
        for department in job["departments"]:
            if isinstance(department, dict) and department.get("name"):
                return str(department["name"])
    return None


def _custom_field(
    holders: Iterable[tuple[Mapping[str, Any], str]], key: str
) -> tuple[Any, str] | None:
    """Return (value, path) of the first non-empty custom field `key` among the holders."""
    for holder, path in holders:
        fields = holder.get("custom_fields")
        entry = fields.get(key) if isinstance(fields, dict) else None
        if isinstance(entry, dict) and entry.get("value") not in (None, "", [], {}):
            return entry["value"], f"{path}.custom_fields.{key}"
    return None


# ---------------------------------------------------------------- bamboohr
def bamboohr_employee_ref(document: Mapping[str, Any]) -> tuple[str, str]:
    """Return (companyId, employeeId) of a BambooHR employee event."""
    data = _object(document, "data", "data")
    employee_id = str(data.get("employeeId") or "").strip()
    if not employee_id:
        raise InvalidRequestError("data.employeeId is missing", field="data.employeeId")
    return str(data.get("companyId") or "").strip(), employee_id


_BAMBOOHR_ORIGIN = {
    "legal_name.given": "employee.firstName",
    "legal_name.family": "employee.lastName",
    "legal_name.middle": "employee.middleName",
    "preferred_name": "employee.preferredName",
    "personal_email": "employee.homeEmail",
    "work_email": "employee.workEmail",
    "date_of_birth": "employee.dateOfBirth",
    "start_date": "employee.hireDate",
    "home_address.line1": "employee.address1",
    "home_address.line2": "employee.address2",
    "home_address.city": "employee.city",
    "home_address.region": "employee.state",
    "home_address.postal_code": "employee.zipcode",
    "home_address.country": "employee.country",
    "manager_email": "employee.supervisorEmail",
    "department": "employee.department",
}


def hire_from_bamboohr(record: Mapping[str, Any], *, employee_id: str, event_id: str) -> Hire:
    """Map a BambooHR employee record (GET /v1/employees/{id}) into a Hire.

    BambooHR has no locale or device profile field: the hire gets the defaults.
    """

    # NOTE: BambooHR fires employee.created before the new record is fully initialized.
    # A record still missing a required field gets a 422 response, and nothing retries it.
    def value(name: str) -> str | None:
        raw = record.get(name)
        text = str(raw).strip() if raw is not None else ""
        # BambooHR reports an unset date as 0000-00-00.
        return None if text in ("", "0000-00-00") else text

    country = value("country")
    values: dict[str, Any] = {
        "source": HireSource.BAMBOOHR,
        "source_employee_id": employee_id,
        "source_event_id": event_id,
        "legal_name": _drop_none(
            {
                "given": value("firstName"),
                "family": value("lastName"),
                "middle": value("middleName"),
            }
        ),
        "preferred_name": value("preferredName"),
        "personal_email": value("homeEmail"),
        "work_email": value("workEmail"),
        "date_of_birth": value("dateOfBirth"),
        "start_date": value("hireDate"),
        "home_address": _drop_none(
            {
                "line1": value("address1"),
                "line2": value("address2"),
                "city": value("city"),
                "region": value("state"),
                "postal_code": value("zipcode"),
                "country": country_code(country, "employee.country") if country else None,
            }
        ),
        "manager_email": value("supervisorEmail"),
        "department": value("department"),
    }
    return _build_hire(
        _drop_none(values),
        origin=_BAMBOOHR_ORIGIN,
        missing_fix="fill it in in BambooHR; the webhook is not re-sent, so post the hire again",
    )


# ---------------------------------------------------------------- addresses
_ADDRESS_FORMAT = (
    "write it as 'line1[, line2], city, [region ]postal_code, country', "
    "for example '1 Example Street, Springfield, IL 62701, US'"
)
_REGION_POSTAL = re.compile(
    r"(?:(?P<region>\D*?\S)\s+)?(?P<postal>(?=[^,]*\d)[A-Za-z0-9][A-Za-z0-9 -]{1,11})"
)

# Country names HR systems commonly store instead of codes.
# NOTE: names outside this table must be sent as ISO 3166-1 alpha-2 codes.
_COUNTRY_CODES = {
    "australia": "AU",
    "austria": "AT",
    "belgium": "BE",
    "brazil": "BR",
    "canada": "CA",
    "denmark": "DK",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "india": "IN",
    "ireland": "IE",
    "italy": "IT",
    "japan": "JP",
    "mexico": "MX",
    "netherlands": "NL",
    "new zealand": "NZ",
    "norway": "NO",
    "poland": "PL",
    "portugal": "PT",
    "singapore": "SG",
    "south korea": "KR",
    "spain": "ES",
    "sweden": "SE",
    "switzerland": "CH",
    "united kingdom": "GB",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
}


def country_code(text: str, field: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for a code or a common English country name."""
    cleaned = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", cleaned):
        return cleaned.upper()
    code = _COUNTRY_CODES.get(cleaned.lower())
    if code is None:
        raise InvalidRequestError(
            f"{field}: the country {cleaned[:60]!r} is not recognized; "
            "use an ISO 3166-1 alpha-2 code such as US or JP",
            field=field,
        )
    return code


def parse_address_text(text: str, field: str) -> dict[str, Any]:
    """Split a one-line address into Address fields; the format is in `_ADDRESS_FORMAT`."""
    parts = [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]
    if len(parts) < 4:
        raise InvalidRequestError(
            f"{field}: the address cannot be read; {_ADDRESS_FORMAT}", field=field
        )
    country = country_code(parts.pop(), field)
    match = _REGION_POSTAL.fullmatch(parts.pop())
    if match is None:
        raise InvalidRequestError(
            f"{field}: the part before the country must be '[region ]postal_code'; "
            f"{_ADDRESS_FORMAT}",
            field=field,
        )
    city = parts.pop()
    line1, *rest = parts
    return _drop_none(
        {
            "line1": line1,
            "line2": ", ".join(rest) or None,
            "city": city,
            "region": match["region"],
            "postal_code": match["postal"],
            "country": country,
        }
    )


# ---------------------------------------------------------------- validation
_FIXES = {
    "country": "use an ISO 3166-1 alpha-2 code such as US or JP",
    "locale": "use a language tag such as en, ja or en-US",
    "date_of_birth": "use YYYY-MM-DD",
    "start_date": "use YYYY-MM-DD",
    "personal_email": "use one e-mail address",
    "work_email": "use one e-mail address",
    "manager_email": "use one e-mail address",
}


def _build_hire(values: Mapping[str, Any], *, origin: Mapping[str, str], missing_fix: str) -> Hire:
    try:
        return Hire.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc, origin=origin, missing_fix=missing_fix) from exc


def _invalid(
    exc: ValidationError, *, origin: Mapping[str, str], missing_fix: str
) -> InvalidRequestError:
    """Turn the first validation error into a 422 naming the source's field and the fix."""
    error = exc.errors()[0]
    path = ".".join(str(part) for part in error["loc"])
    field, exact = _source_field(path, origin)
    last = str(error["loc"][-1]) if error["loc"] else ""
    if error["type"] == "missing":
        return InvalidRequestError(f"{field} is missing; {missing_fix}", field=field)
    if error["type"] == "extra_forbidden":
        return InvalidRequestError(f"{field} is not a hire field; remove it", field=field)
    # A field mapped from a parent (an address written as one line) names the part too.
    detail = error["msg"] if exact else f"{path}: {error['msg']}"
    fix = _FIXES.get(last)
    message = f"{field} is invalid ({detail})" + (f"; {fix}" if fix else "")
    return InvalidRequestError(message, field=field)


def _source_field(path: str, origin: Mapping[str, str]) -> tuple[str, bool]:
    """Return the source's name for a Hire path, and whether it maps that path exactly.

    Without an exact entry the nearest mapped parent names the field; without one,
    the Hire path itself does (the generic body uses Hire's names).
    """
    if path in origin or not origin:
        return origin.get(path, path), True
    candidate = path.rpartition(".")[0]
    while candidate:
        if candidate in origin:
            return origin[candidate], False
        candidate = candidate.rpartition(".")[0]
    return path, True


# ---------------------------------------------------------------- helpers
def _object(document: Mapping[str, Any], key: str, field: str) -> dict[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{field} must be a JSON object", field=field)
    return value


def _first_object(*places: tuple[Mapping[str, Any], str, str]) -> tuple[dict[str, Any], str]:
    """Return the first of several places holding a JSON object under a key, with its path."""
    for holder, path, key in places:
        value = holder.get(key)
        if isinstance(value, dict):
            return value, f"{path}.{key}"
    _, path, key = places[-1]
    raise InvalidRequestError(f"{path}.{key} is missing", field=f"{path}.{key}")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
