"""Laptop-farm signals from the logins the gateway reports with each external evaluation.

The identity claim carries the login's IP address and country (`identity.ip`,
`identity.geo.country`). After the decision, the login is compared with the person's
previous one and their verified home country (`hireproof.risk.signals`). Each signal is
published as a `RiskLevelChanged` event and applied like any other risk event. It changes
the person's next decision, not the one already taken.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from aws_lambda_powertools import Logger

from hireproof.access.persons import Person
from hireproof.models import OnboardingState
from hireproof.risk.bus import publish_risk_event
from hireproof.risk.signals import (
    LoginObservation,
    hosting_networks_from_env,
    last_login,
    login_signals,
    record_login,
)

logger = Logger(child=True)


def observation_from_identity(identity: dict[str, Any], now: dt.datetime) -> LoginObservation | None:
    """Return the login the identity claim describes, or None without a usable IP address."""
    try:
        ip = ipaddress.ip_address(str(identity.get("ip") or ""))
    except ValueError:
        return None
    geo = identity.get("geo") if isinstance(identity.get("geo"), dict) else {}
    country = str((geo or {}).get("country") or "").upper()
    # Gateways use placeholders such as XX or T1 (Tor) for unknown countries.
    known = len(country) == 2 and country.isalpha() and country != "XX"
    return LoginObservation(at=now, country=country if known else None, ip=ip)


def observe_login(person: Person, identity: dict[str, Any], now: dt.datetime) -> None:
    """Record the login and publish the risk events it raises; never raises itself.

    A failure here must not turn an access decision already signed into an error, so it is
    logged with the person id and dropped.
    """
    if person.onboarding_state != OnboardingState.ACTIVE.value:
        return
    login = observation_from_identity(identity, now)
    if login is None:
        return
    try:
        previous = last_login(person.person_id)
        events = login_signals(person, login, previous, hosting_networks=hosting_networks_from_env())
        record_login(person.person_id, login)
        for event in events:
            publish_risk_event(event)
    except Exception as exc:  # any failure: the decision is kept and the lost signal is logged
        logger.exception(
            "login signals failed", extra={"person_id": person.person_id, "error": type(exc).__name__}
        )
        return
    if events:
        logger.info(
            "login signals raised",
            extra={"person_id": person.person_id, "signals": [e.reason for e in events]},
        )
