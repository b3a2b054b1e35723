"""Access policy: who gets in, with which reasons, and when a step-up link is offered."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hireproof.access.persons import AccessStatus, Person, RiskLevel
from hireproof.access.policy import AccessPolicySettings, decide
from hireproof.errors import ConfigurationError

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
STEP_UP = "https://verify.example.test/verify/step-up"
SETTINGS = AccessPolicySettings(max_verification_age_days=365, step_up_url=STEP_UP)

GENUINE = Person(
    person_id="bamboohr-4821",
    onboarding_state="ACTIVE",
    access_status=AccessStatus.ACTIVE,
    risk_level=RiskLevel.LOW,
    step_up_required=False,
    verified_at=NOW - dt.timedelta(days=3),
    residence_country="US",
    locale="en",
)


def _with(**changes: object) -> Person:
    return dataclasses.replace(GENUINE, **changes)  # type: ignore[arg-type]


def test_decide_allows_active_verified_low_risk_person() -> None:
    decision = decide(GENUINE, SETTINGS, now=NOW)

    assert decision.allow is True
    assert decision.reasons == []
    assert decision.step_up_url is None
    assert decision.person_id == "bamboohr-4821"


def test_decide_denies_unknown_person() -> None:
    decision = decide(None, SETTINGS, now=NOW)

    assert (decision.allow, decision.reasons, decision.person_id) == (False, ["unknown_person"], None)


@pytest.mark.parametrize(
    ("state", "reason"),
    [("AWAITING_VERIFICATION", "onboarding_awaiting_verification"), ("FAILED", "onboarding_failed"),
     ("SHIPPED", "onboarding_shipped")],
)
def test_decide_denies_onboarding_not_active(state: str, reason: str) -> None:
    decision = decide(_with(onboarding_state=state), SETTINGS, now=NOW)

    assert decision.allow is False
    assert decision.reasons == [reason]
    assert decision.step_up_url is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [(AccessStatus.SUSPENDED, "access_suspended"), (AccessStatus.DISABLED, "access_disabled")],
)
def test_decide_denies_suspended_or_disabled_without_step_up(status: AccessStatus, reason: str) -> None:
    decision = decide(_with(access_status=status), SETTINGS, now=NOW)

    assert decision.allow is False
    assert decision.reasons == [reason]
    assert decision.step_up_url is None


def test_decide_medium_risk_asks_for_step_up() -> None:
    decision = decide(_with(risk_level=RiskLevel.MEDIUM, step_up_required=True), SETTINGS, now=NOW)

    assert decision.allow is False
    assert decision.reasons == ["step_up_required"]
    assert decision.step_up_url == STEP_UP


def test_decide_pending_step_up_denies() -> None:
    decision = decide(_with(step_up_required=True), SETTINGS, now=NOW)

    assert (decision.allow, decision.reasons) == (False, ["step_up_required"])


def test_decide_medium_risk_under_high_limit() -> None:
    settings = dataclasses.replace(SETTINGS, risk_limit=RiskLevel.HIGH)

    decision = decide(_with(risk_level=RiskLevel.MEDIUM), settings, now=NOW)

    assert decision.allow is True


def test_decide_high_risk_blocks_without_step_up_link() -> None:
    decision = decide(_with(risk_level=RiskLevel.HIGH, step_up_required=True), SETTINGS, now=NOW)

    assert decision.allow is False
    assert decision.reasons == ["risk_high"]
    assert decision.step_up_url is None


def test_decide_old_verification_expires_and_offers_step_up() -> None:
    decision = decide(_with(verified_at=NOW - dt.timedelta(days=366)), SETTINGS, now=NOW)

    assert decision.allow is False
    assert decision.reasons == ["verification_expired"]
    assert decision.step_up_url == STEP_UP


def test_decide_zero_max_age_never_expires_verification() -> None:
    settings = dataclasses.replace(SETTINGS, max_verification_age_days=0)

    decision = decide(_with(verified_at=NOW - dt.timedelta(days=3000)), settings, now=NOW)

    assert decision.allow is True


def test_decide_missing_verification_time_fails_closed() -> None:
    decision = decide(_with(verified_at=None), SETTINGS, now=NOW)

    assert decision.allow is False
    assert "verification_expired" in decision.reasons


def test_policy_settings_reject_low_risk_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_RISK_LIMIT", "LOW")

    with pytest.raises(ConfigurationError, match="ACCESS_RISK_LIMIT must be MEDIUM or HIGH"):
        AccessPolicySettings.from_env()


def test_policy_settings_build_step_up_url_from_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFICATION_PAGE_URL", "https://verify.example.test/")
    monkeypatch.setenv("ACCESS_MAX_VERIFICATION_AGE_DAYS", "30")

    settings = AccessPolicySettings.from_env()

    assert settings.step_up_url == STEP_UP
    assert settings.max_verification_age_days == 30
    assert settings.risk_limit is RiskLevel.MEDIUM
