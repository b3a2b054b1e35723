"""Domain models shared by handlers, state machine tasks and adapters."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]


class HireSource(StrEnum):
    """HR systems that can report a hire."""

    BAMBOOHR = "bamboohr"
    GREENHOUSE = "greenhouse"
    GENERIC = "generic"


class Address(BaseModel):
    """A postal address as the HR system stores it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line1: NonEmpty
    line2: str | None = None
    city: NonEmpty
    region: str | None = None
    postal_code: NonEmpty
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2 country code, for example US or JP."
    )


class PersonName(BaseModel):
    """A legal name; given and family names as the HR record spells them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given: NonEmpty
    family: NonEmpty
    middle: str | None = None


class Hire(BaseModel):
    """One hire, normalized from any HR source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: HireSource
    source_employee_id: NonEmpty
    source_event_id: NonEmpty
    legal_name: PersonName
    preferred_name: str | None = None
    personal_email: EmailStr
    work_email: EmailStr
    locale: Locale = "en"
    date_of_birth: dt.date | None = None
    start_date: dt.date
    home_address: Address
    shipping_address: Address | None = Field(
        default=None, description="Where the laptop should go; the home address when absent."
    )
    manager_email: EmailStr | None = None
    department: str | None = None
    device_profile: str = "standard-laptop"

    @property
    def effective_shipping_address(self) -> Address:
        """Return the address the laptop is requested to, before verification."""
        return self.shipping_address or self.home_address


class OnboardingState(StrEnum):
    """Life cycle of one onboarding, as stored and reported."""

    RECEIVED = "RECEIVED"
    STAGED = "STAGED"
    AWAITING_VERIFICATION = "AWAITING_VERIFICATION"
    IN_REVIEW = "IN_REVIEW"
    VERIFIED = "VERIFIED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    ERROR = "ERROR"


class Decision(StrEnum):
    """Outcome of one verification."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    NEEDS_REVIEW = "NEEDS_REVIEW"


class VerificationPurpose(StrEnum):
    """Purpose of a verification session."""

    ONBOARDING = "onboarding"
    DEVICE_RECIPIENT = "device_recipient"
    REVERIFICATION = "reverification"
    LOGIN = "login"
    """A sign-in through HireProof's OpenID Connect provider; no workflow waits for it."""
    RECOVERY = "recovery"
    """A password or MFA reset, decided by statemachines/recovery.asl.json."""


def onboarding_id_for(source: HireSource, source_employee_id: str) -> str:
    """Build the deterministic onboarding id, also the execution name, for one hire.

    Step Functions execution names allow 1-80 characters of letters, digits, '-' and '_',
    so any other character in the employee id is replaced by '_'.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in source_employee_id)
    return f"{source.value}-{safe}"[:80]
