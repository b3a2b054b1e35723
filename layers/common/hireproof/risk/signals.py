"""Laptop-farm signals from consecutive logins of one person.

`login_signals` compares a login with the person's previous one and with their verified home
country, and returns one RiskEvent per signal:

- impossible travel (HIGH): the two logins are in different countries, and covering the
  distance between them in the time between them takes more than 1,000 km/h;
- country mismatch (MEDIUM): the login's country is not the person's residence country;
- hosting network (MEDIUM): the login's IP address is in a configured hosting or VPN network
  (`HOSTING_NETWORKS`, comma-separated CIDRs).

The previous login is stored on the person's ACCESS item as `last_login` (`record_login`,
`last_login`). The caller publishes the events (`hireproof.risk.bus`), so they are applied like
every other risk event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.access.persons import ACCESS_SK, Person, RiskLevel, now_iso
from hireproof.config import optional_env, require_env
from hireproof.errors import ConfigurationError, ConflictError
from hireproof.risk.countries import (
    CENTROID_RADIUS_KM,
    COUNTRY_CENTROIDS,
    DEFAULT_CENTROID_RADIUS_KM,
)
from hireproof.risk.models import RiskEvent, RiskEventKind
from hireproof.risk.state import ensure_access_item

logger = Logger(child=True)

SOURCE = "hireproof.access"
MAX_TRAVEL_SPEED_KMH = 1000.0
EARTH_RADIUS_KM = 6371.0088
# IP geolocation places a city-level address within about this distance; an estimate.
COORDINATE_UNCERTAINTY_KM = 200.0

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Distinct versions order the events of one login: when they arrive out of order, the most
# severe one still ends up applied, because equal event times are ordered by version.
_VERSIONS = {
    RiskEventKind.HOSTING_NETWORK: 1,
    RiskEventKind.COUNTRY_MISMATCH: 2,
    RiskEventKind.IMPOSSIBLE_TRAVEL: 3,
}


@dataclass(frozen=True)
class LoginObservation:
    """One login as the access gateway reported it.

    `country` is an ISO 3166-1 alpha-2 code, or None when the gateway does not know it (map
    placeholders such as "XX" to None). Latitude and longitude, in degrees, come together or
    not at all.
    """

    at: dt.datetime
    country: str | None
    ip: IpAddress
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("login time needs a UTC offset")
        if self.country is not None and not _COUNTRY.match(self.country):
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {self.country!r}")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude come together")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise ValueError(f"latitude {self.latitude} is outside -90..90")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise ValueError(f"longitude {self.longitude} is outside -180..180")


def hosting_networks_from_env() -> tuple[IpNetwork, ...]:
    """Return the networks of `HOSTING_NETWORKS` (comma-separated CIDRs; empty means none).

    Raises ConfigurationError naming the first entry that is not a network.
    """
    networks: list[IpNetwork] = []
    for entry in optional_env("HOSTING_NETWORKS").split(","):
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ConfigurationError(
                f"HOSTING_NETWORKS entry {text!r} is not a CIDR network such as 203.0.113.0/24",
                field="HOSTING_NETWORKS",
            ) from exc
    return tuple(networks)


# ----------------------------------------------------------------- signals
def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the haversine distance in km between two (latitude, longitude) points in degrees."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def _position(login: LoginObservation) -> tuple[tuple[float, float], float] | None:
    """Return where the login was, and how far off that may be, in km."""
    if login.latitude is not None and login.longitude is not None:
        return (login.latitude, login.longitude), COORDINATE_UNCERTAINTY_KM
    if login.country in COUNTRY_CENTROIDS:
        radius = CENTROID_RADIUS_KM.get(login.country, DEFAULT_CENTROID_RADIUS_KM)
        return COUNTRY_CENTROIDS[login.country], radius
    return None


def minimum_travel_km(login: LoginObservation, previous: LoginObservation) -> float | None:
    """Return the shortest distance the person can have travelled, or None when unknown.

    Exact coordinates are used when the gateway sent them. Otherwise the country's centre
    from `hireproof.risk.countries` is used, with a radius that covers the whole country.
    Subtracting both uncertainties from the distance keeps the result a lower bound, so
    logins near a shared border are not flagged. The price is that, with centres only, a
    large country (the United States reaches Honolulu, 6,200 km from its centre) is flagged
    only for very fast hops.
    """
    here, previous_position = _position(login), _position(previous)
    if here is None or previous_position is None:
        return None
    distance = great_circle_km(here[0], previous_position[0])
    return max(0.0, distance - here[1] - previous_position[1])


def _is_impossible_travel(login: LoginObservation, previous: LoginObservation) -> bool:
    if login.country is None or previous.country is None or login.country == previous.country:
        return False
    travelled = minimum_travel_km(login, previous)
    if travelled is None or travelled == 0:
        return False
    hours = (login.at - previous.at).total_seconds() / 3600
    # Simultaneous (or reordered) logins from far apart cannot be one traveller either.
    return hours <= 0 or travelled / hours > MAX_TRAVEL_SPEED_KMH


def _in_networks(ip: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    # An IPv4 address may arrive IPv4-mapped in IPv6 form (::ffff:203.0.113.7).
    candidates: list[IpAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(address in network for address in candidates for network in networks)


def _signal(person: Person, login: LoginObservation, kind: RiskEventKind, level: RiskLevel) -> RiskEvent:
    at = now_iso(login.at)
    # The id is derived from the login, so observing the same login twice yields one change.
    digest = hashlib.sha256(f"{person.person_id}|{at}|{login.ip}".encode()).hexdigest()[:24]
    return RiskEvent(
        event_id=f"login:{kind.value}:{digest}",
        source=SOURCE,
        person_id=person.person_id,
        level=level,
        reason=kind.value,
        kind=kind,
        event_time=login.at,
        version=_VERSIONS[kind],
    )


def login_signals(
    person: Person,
    login: LoginObservation,
    previous: LoginObservation | None,
    *,
    hosting_networks: Sequence[IpNetwork],
) -> list[RiskEvent]:
    """Return the risk events one login raises, most severe first; see the module docstring."""
    events: list[RiskEvent] = []
    if previous is not None and _is_impossible_travel(login, previous):
        events.append(_signal(person, login, RiskEventKind.IMPOSSIBLE_TRAVEL, RiskLevel.HIGH))
    residence = (person.residence_country or "").upper() or None
    if login.country is not None and residence is not None and login.country != residence:
        events.append(_signal(person, login, RiskEventKind.COUNTRY_MISMATCH, RiskLevel.MEDIUM))
    if _in_networks(login.ip, hosting_networks):
        events.append(_signal(person, login, RiskEventKind.HOSTING_NETWORK, RiskLevel.MEDIUM))
    return events


# ----------------------------------------------------------------- the last login
def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def _to_item(login: LoginObservation) -> dict[str, Any]:
    item: dict[str, Any] = {"at": now_iso(login.at), "ip": str(login.ip)}
    if login.country is not None:
        item["country"] = login.country
    if login.latitude is not None and login.longitude is not None:
        item["latitude"] = Decimal(str(login.latitude))
        item["longitude"] = Decimal(str(login.longitude))
    return item


def _from_item(item: dict[str, Any]) -> LoginObservation:
    latitude = item.get("latitude")
    longitude = item.get("longitude")
    return LoginObservation(
        at=dt.datetime.fromisoformat(str(item["at"])),
        country=item.get("country"),
        ip=ipaddress.ip_address(str(item["ip"])),
        latitude=float(latitude) if latitude is not None else None,
        longitude=float(longitude) if longitude is not None else None,
    )


def record_login(person_id: str, login: LoginObservation) -> bool:
    """Store `login` as the person's last login; return False when it was not stored.

    It is not stored when a later login is stored already (observations can arrive out of
    order), or when the person's onboarding is not ACTIVE and so has no access state yet.
    Raises NotFoundError for an unknown person.
    """
    try:
        ensure_access_item(person_id)
    except ConflictError:
        logger.info("login not recorded: no access state", extra={"person_id": person_id})
        return False
    try:
        _table().update_item(
            Key={"pk": person_id, "sk": ACCESS_SK},
            UpdateExpression="SET #last = :login",
            ConditionExpression="attribute_not_exists(#last) OR #last.#at < :at",
            ExpressionAttributeNames={"#last": "last_login", "#at": "at"},
            ExpressionAttributeValues={":login": _to_item(login), ":at": now_iso(login.at)},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        logger.info("older login not recorded", extra={"person_id": person_id})
        return False
    return True


def last_login(person_id: str) -> LoginObservation | None:
    """Return the person's last recorded login, or None when none is recorded."""
    item = _table().get_item(Key={"pk": person_id, "sk": ACCESS_SK}, ConsistentRead=True).get("Item")
    stored = (item or {}).get("last_login")
    return _from_item(dict(stored)) if stored else None
