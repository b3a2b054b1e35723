"""hireproof.risk.signals: impossible travel, country mismatch, hosting networks and the last login."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator

import pytest

from hireproof.access import persons
from hireproof.access.persons import AccessStatus, Person, RiskLevel
from hireproof.errors import ConfigurationError, NotFoundError
from hireproof.models import OnboardingState
from hireproof.onboarding import store
from hireproof.risk import signals
from hireproof.risk.models import RiskEventKind
from hireproof.risk.signals import LoginObservation
from sessions_support import add_onboarding, make_hire
from template_resources import StackResources, mocked_stack

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
TOKYO = (35.68, 139.69)
NEW_YORK = (40.71, -74.01)
HOSTING = (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8:100::/48"))


def _person(residence: str | None = "US") -> Person:
    return Person(
        person_id="bamboohr-4821",
        onboarding_state="ACTIVE",
        access_status=AccessStatus.ACTIVE,
        risk_level=RiskLevel.LOW,
        step_up_required=False,
        verified_at=None,
        residence_country=residence,
        locale="en",
    )


def _login(
    country: str | None,
    minutes: float = 0,
    *,
    ip: str = "198.51.100.7",
    at: tuple[float, float] | None = None,
) -> LoginObservation:
    return LoginObservation(
        at=T0 + dt.timedelta(minutes=minutes),
        country=country,
        ip=ipaddress.ip_address(ip),
        latitude=at[0] if at else None,
        longitude=at[1] if at else None,
    )


def _kinds(person: Person, login: LoginObservation, previous: LoginObservation | None) -> list[str]:
    events = signals.login_signals(person, login, previous, hosting_networks=HOSTING)
    return [event.kind.value for event in events]


# ----------------------------------------------------------------- distances
def test_great_circle_london_paris() -> None:
    distance = signals.great_circle_km((51.5074, -0.1278), (48.8566, 2.3522))

    assert distance == pytest.approx(343.5, abs=1.0)


def test_minimum_travel_subtracts_uncertainty() -> None:
    tokyo = _login("JP", at=TOKYO)
    new_york = _login("US", at=NEW_YORK)

    travelled = signals.minimum_travel_km(new_york, tokyo)

    assert travelled == pytest.approx(10_850 - 2 * signals.COORDINATE_UNCERTAINTY_KM, abs=30)


def test_minimum_travel_unknown_country_is_none() -> None:
    assert signals.minimum_travel_km(_login("ZZ"), _login("US")) is None


# ----------------------------------------------------------------- impossible travel
def test_impossible_travel_with_coordinates() -> None:
    previous = _login("JP", 0, at=TOKYO)
    login = _login("US", 120, at=NEW_YORK)

    events = signals.login_signals(_person(), login, previous, hosting_networks=())

    [event] = events
    assert event.kind is RiskEventKind.IMPOSSIBLE_TRAVEL
    assert event.level is RiskLevel.HIGH
    assert event.reason == "impossible_travel"
    assert event.person_id == "bamboohr-4821"
    assert event.event_time == login.at
    assert event.source == "hireproof.access"


def test_flight_length_gap_is_not_travel() -> None:
    previous = _login("JP", 0, at=TOKYO)
    login = _login("US", 14 * 60, at=NEW_YORK)

    assert _kinds(_person(), login, previous) == []


def test_centroids_flag_distant_countries() -> None:
    # No coordinates: the United States and Nigeria centres are over 10,000 km apart.
    previous = _login("US", 0)
    login = _login("NG", 60)

    assert RiskEventKind.IMPOSSIBLE_TRAVEL.value in _kinds(_person(), login, previous)


def test_centroids_spare_neighbouring_countries() -> None:
    # Detroit to Windsor crosses a border in minutes, but the centres are about 2,300 km apart.
    previous = _login("US", 0)
    login = _login("CA", 10)

    assert RiskEventKind.IMPOSSIBLE_TRAVEL.value not in _kinds(_person(), login, previous)


def test_same_country_is_never_travel() -> None:
    previous = _login("US", 0, at=NEW_YORK)
    login = _login("US", 5, at=(21.31, -157.86))  # Honolulu

    assert _kinds(_person(), login, previous) == []


def test_simultaneous_far_logins_are_travel() -> None:
    previous = _login("JP", 0, at=TOKYO)
    login = _login("US", 0, at=NEW_YORK)

    assert RiskEventKind.IMPOSSIBLE_TRAVEL.value in _kinds(_person(), login, previous)


def test_unknown_country_is_not_travel() -> None:
    previous = _login(None, 0, at=TOKYO)
    login = _login("US", 1, at=NEW_YORK)

    assert _kinds(_person(), login, previous) == []


# ----------------------------------------------------------------- country and network
def test_country_mismatch_is_medium() -> None:
    events = signals.login_signals(_person("US"), _login("DE"), None, hosting_networks=())

    [event] = events
    assert event.kind is RiskEventKind.COUNTRY_MISMATCH
    assert event.level is RiskLevel.MEDIUM


@pytest.mark.parametrize(("residence", "country"), [("US", "US"), (None, "DE"), ("US", None)])
def test_country_mismatch_needs_two_countries(residence: str | None, country: str | None) -> None:
    assert _kinds(_person(residence), _login(country), None) == []


@pytest.mark.parametrize("ip", ["203.0.113.50", "::ffff:203.0.113.50", "2001:db8:100::9"])
def test_hosting_network_is_medium(ip: str) -> None:
    events = signals.login_signals(_person(), _login("US", ip=ip), None, hosting_networks=HOSTING)

    [event] = events
    assert event.kind is RiskEventKind.HOSTING_NETWORK
    assert event.level is RiskLevel.MEDIUM


def test_residential_address_is_not_hosting() -> None:
    assert _kinds(_person(), _login("US", ip="198.51.100.7"), None) == []


def test_all_signals_order_by_severity() -> None:
    previous = _login("US", 0, at=NEW_YORK)
    login = _login("JP", 30, at=TOKYO, ip="203.0.113.50")

    events = signals.login_signals(_person("US"), login, previous, hosting_networks=HOSTING)

    assert [event.kind for event in events] == [
        RiskEventKind.IMPOSSIBLE_TRAVEL,
        RiskEventKind.COUNTRY_MISMATCH,
        RiskEventKind.HOSTING_NETWORK,
    ]
    # Equal event times: the most severe event must carry the highest version.
    assert [event.version for event in events] == [3, 2, 1]
    assert len({event.event_id for event in events}) == 3


def test_same_login_yields_same_event_ids() -> None:
    login = _login("DE", ip="203.0.113.50")

    first = signals.login_signals(_person(), login, None, hosting_networks=HOSTING)
    second = signals.login_signals(_person(), login, None, hosting_networks=HOSTING)

    assert [event.event_id for event in first] == [event.event_id for event in second]


# ----------------------------------------------------------------- inputs
def test_hosting_networks_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTING_NETWORKS", " 203.0.113.0/24, 2001:db8::/32 ,,10.1.2.3/8")

    networks = signals.hosting_networks_from_env()

    assert [str(network) for network in networks] == ["203.0.113.0/24", "2001:db8::/32", "10.0.0.0/8"]


def test_hosting_networks_unset_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOSTING_NETWORKS", raising=False)

    assert signals.hosting_networks_from_env() == ()


def test_hosting_networks_invalid_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTING_NETWORKS", "203.0.113.0/24,datacenter")

    with pytest.raises(ConfigurationError, match="'datacenter'"):
        signals.hosting_networks_from_env()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"at": dt.datetime(2026, 12, 1, 9, 0)}, "UTC offset"),
        ({"country": "usa"}, "alpha-2"),
        ({"latitude": 10.0}, "together"),
        ({"latitude": 91.0, "longitude": 0.0}, "latitude"),
        ({"latitude": 0.0, "longitude": 181.0}, "longitude"),
    ],
)
def test_login_observation_rejects_bad_values(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"at": T0, "country": "US", "ip": ipaddress.ip_address("198.51.100.7")}
    values.update(changes)

    with pytest.raises(ValueError, match=message):
        LoginObservation(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------- the last login
@pytest.fixture
def stack() -> Iterator[StackResources]:
    with mocked_stack() as resources:
        yield resources


@pytest.fixture
def person_id(stack: StackResources) -> str:
    onboarding_id = add_onboarding(make_hire())
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE)
    persons.activate(onboarding_id, verified_at="2026-11-20T10:00:00.000+00:00", residence_country="US")
    return onboarding_id


def test_record_login_round_trip(person_id: str) -> None:
    login = _login("JP", 5, ip="2001:db8::7", at=TOKYO)

    assert signals.record_login(person_id, login) is True

    assert signals.last_login(person_id) == login


def test_record_login_keeps_later_login(person_id: str) -> None:
    later = _login("US", 10)
    signals.record_login(person_id, later)

    stored = signals.record_login(person_id, _login("DE", 5))

    assert stored is False
    assert signals.last_login(person_id) == later


def test_last_login_none_before_first(person_id: str) -> None:
    assert signals.last_login(person_id) is None


def test_record_login_creates_access_item(stack: StackResources) -> None:
    onboarding_id = add_onboarding(make_hire(employee_id="5150"))
    store.update_onboarding(onboarding_id, state=OnboardingState.ACTIVE)

    assert signals.record_login(onboarding_id, _login("US")) is True

    person = persons.get_person(onboarding_id)
    assert person.access_status is AccessStatus.ACTIVE
    assert signals.last_login(onboarding_id) == _login("US")


def test_record_login_skips_inactive_onboarding(stack: StackResources) -> None:
    onboarding_id = add_onboarding(make_hire(employee_id="6160"))

    assert signals.record_login(onboarding_id, _login("US")) is False
    assert signals.last_login(onboarding_id) is None


def test_record_login_unknown_person(stack: StackResources) -> None:
    with pytest.raises(NotFoundError):
        signals.record_login("bamboohr-404", _login("US"))
