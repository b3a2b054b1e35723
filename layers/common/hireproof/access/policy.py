"""The access decision: may this person in now, and if not, why and what would fix it.

Nothing is allowed by default. A person gets in only when all of these hold:
- HireProof has a record of them and their onboarding is ACTIVE (verified, device received and verified);
- their access is neither suspended nor disabled;
- their last passed verification is younger than the configured maximum age;
- their risk level is below the configured limit (MEDIUM by default) and no step-up
  verification is pending; at the limit they are asked to verify again rather than cut off,
  and HIGH risk always blocks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hireproof.access.persons import AccessStatus, Person, RiskLevel
from hireproof.config import int_env, optional_env
from hireproof.errors import ConfigurationError
from hireproof.models import OnboardingState


@dataclass(frozen=True)
class AccessPolicySettings:
    """Limits an access decision applies; the template sets them from stack parameters."""

    max_verification_age_days: int = 365
    risk_limit: RiskLevel = RiskLevel.MEDIUM
    step_up_url: str | None = None

    @classmethod
    def from_env(cls, *, default_page_url: str = "") -> AccessPolicySettings:
        """Read ACCESS_MAX_VERIFICATION_AGE_DAYS, ACCESS_RISK_LIMIT and VERIFICATION_PAGE_URL.

        `default_page_url` applies when VERIFICATION_PAGE_URL is empty: the API's own URL.
        """
        raw_limit = optional_env("ACCESS_RISK_LIMIT", RiskLevel.MEDIUM.value).upper()
        if raw_limit not in (RiskLevel.MEDIUM.value, RiskLevel.HIGH.value):
            # LOW would deny everyone: no person's risk is below LOW.
            raise ConfigurationError(f"ACCESS_RISK_LIMIT must be MEDIUM or HIGH, got {raw_limit!r}")
        limit = RiskLevel(raw_limit)
        page = (optional_env("VERIFICATION_PAGE_URL") or default_page_url).rstrip("/")
        return cls(
            max_verification_age_days=int_env("ACCESS_MAX_VERIFICATION_AGE_DAYS", 365),
            risk_limit=limit,
            step_up_url=f"{page}/verify/step-up" if page else None,
        )


@dataclass(frozen=True)
class AccessDecision:
    """Allow or deny, the reasons, and where a denied person can verify again."""

    allow: bool
    person_id: str | None
    reasons: list[str] = field(default_factory=list)
    step_up_url: str | None = None


def decide(person: Person | None, settings: AccessPolicySettings, *, now: dt.datetime) -> AccessDecision:
    """Decide one access request; every reason that applies is listed, most serious first."""
    if person is None:
        return AccessDecision(allow=False, person_id=None, reasons=["unknown_person"])

    reasons: list[str] = []
    if person.onboarding_state != OnboardingState.ACTIVE.value:
        reasons.append(f"onboarding_{person.onboarding_state.lower() or 'unknown'}")
    if person.access_status is AccessStatus.DISABLED:
        reasons.append("access_disabled")
    elif person.access_status is AccessStatus.SUSPENDED:
        reasons.append("access_suspended")
    if person.risk_level is RiskLevel.HIGH:
        reasons.append("risk_high")

    # Risk at the limit below HIGH requires a fresh verification instead of cutting the person off.
    step_up = person.step_up_required or person.risk_level.rank >= settings.risk_limit.rank
    verified_at = person.verified_at
    too_old = verified_at is None or (
        settings.max_verification_age_days > 0
        and now - verified_at > dt.timedelta(days=settings.max_verification_age_days)
    )
    if too_old:
        reasons.append("verification_expired")

    # A step-up fixes only what a fresh verification fixes; a hard block takes precedence.
    hard_block = any(not r.startswith("verification_") for r in reasons)
    if step_up and not hard_block:
        reasons.insert(0, "step_up_required")
    offer_step_up = not hard_block and (step_up or too_old)
    return AccessDecision(
        allow=not reasons,
        person_id=person.person_id,
        reasons=reasons,
        step_up_url=settings.step_up_url if offer_step_up else None,
    )
