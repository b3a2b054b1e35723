"""Continuous assurance scenarios: risk events after activation change access within seconds.

- high risk after activation: a vendor's HIGH `RiskLevelChanged` event, delivered twice,
  suspends the person. It revokes their gateway sessions once and starts one re-verification,
  and after the person verifies again, access is restored;
- a Shared Signals transmitter pushes a CAEP session-revoked SET over HTTP, which suspends
  another active person;
- out of order: a newer LOW event arrives before an older HIGH one, and the newest wins.
The gateway's signed responses before and after show the effect on access.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import requests

from hireproof.demo import scenarios
from hireproof.demo.actors import wait_until
from hireproof.demo.scenarios import Demo, ScenarioReport
from hireproof.local import assets
from hireproof.local.fakes.cloudflare_api import FakeCloudflareApi
from hireproof.local.fakes.ssf_transmitter import CAEP, FakeSsfTransmitter

VENDOR = "demo.risk-vendor"


def _service(demo: Demo, kind: type[Any]) -> Any:
    return next(s for s in demo.stack.services if isinstance(s, kind))


def _access_item(demo: Demo, person_id: str) -> dict[str, Any]:
    table = demo.stack.resource("dynamodb").Table(demo.stack.physical_id("OnboardingTable"))
    item = table.get_item(Key={"pk": person_id, "sk": "ACCESS"}, ConsistentRead=True).get("Item")
    return dict(item or {})


def _wait_for_access(demo: Demo, person_id: str, **expected: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        item = _access_item(demo, person_id)
        return item if all(item.get(k) == v for k, v in expected.items()) else None

    return wait_until(f"access of {person_id} to become {expected}", probe, timeout=scenarios.STEP_TIMEOUT)


def _put_risk_event(demo: Demo, detail: dict[str, Any]) -> None:
    response = demo.stack.client("events").put_events(
        Entries=[
            {
                "Source": VENDOR,
                "DetailType": "RiskLevelChanged",
                "Detail": json.dumps(detail),
                "EventBusName": demo.stack.physical_id("EventBus"),
            }
        ]
    )
    if response["FailedEntryCount"]:
        raise AssertionError(f"the bus rejected the risk event: {response}")


def _gateway_says(demo: Demo, person_id: str) -> bool:
    """Ask as the gateway does and return the signed `success`."""
    gateway = demo.gateway
    email = str(demo.onboarding(person_id)["work_email"])
    token, nonce = gateway.mint(email, country="US")
    api = demo.stack.api_url
    response = requests.post(f"{api}/access/evaluate", json={"token": token}, timeout=30)
    if response.status_code != 200:
        raise AssertionError(f"evaluate returned HTTP {response.status_code}: {response.text}")
    return bool(gateway.accept(response.json()["token"], nonce, f"{api}/access/keys")["success"])


def _reverifications(demo: Demo, person_id: str) -> int:
    sfn = demo.stack.client("stepfunctions")
    arn = demo.stack.physical_id("ReverificationStateMachine")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
    return sum(1 for page in pages for e in page["executions"] if e["name"].startswith(f"{person_id}-"))


def _invitations(demo: Demo, personal_email: str) -> int:
    return sum(1 for m in demo.stack.sent_emails() if personal_email in m["to"])


def high_risk_after_activation(demo: Demo, genuine: ScenarioReport) -> ScenarioReport:
    """Deliver one HIGH event twice: suspended, revoked once, re-verified, restored."""
    started = time.monotonic()
    person_id = genuine.onboarding_id
    report = ScenarioReport("high_risk_after_activation", onboarding_id=person_id)
    cloudflare = _service(demo, FakeCloudflareApi)
    email = str(demo.onboarding(person_id)["work_email"])
    personal_email = str(demo.onboarding(person_id)["hire"]["personal_email"])
    invitations_before = _invitations(demo, personal_email)
    allowed_before = _gateway_says(demo, person_id)

    detail = {
        "person_id": person_id,
        "level": "HIGH",
        "reason": "credential_offered_for_sale",
        "event_time": dt.datetime.now(dt.UTC).isoformat(),
        "version": 1,
        "event_id": f"demo-high-{uuid.uuid4().hex[:8]}",
    }
    _put_risk_event(demo, detail)
    _put_risk_event(demo, detail)  # EventBridge delivers at least once
    _wait_for_access(demo, person_id, access_status="SUSPENDED")
    wait_until(
        "the re-verification e-mail",
        lambda: True if _invitations(demo, personal_email) > invitations_before else None,
        timeout=scenarios.STEP_TIMEOUT,
    )
    allowed_while_suspended = _gateway_says(demo, person_id)

    card = scenarios.card_of("E-1001", "Eileen", "Collins")
    demo.verify(
        personal_email,
        invitations_before + 1,
        assets.id_card_front(card),
        assets.id_card_back(card),
        scenarios.selfie_of("E-1001"),
    )
    restored = _wait_for_access(demo, person_id, access_status="ACTIVE", risk_level="LOW")
    report.risk = {
        "allowed_before": allowed_before,
        "deliveries": 2,
        "gateway_revocations": cloudflare.revocations_of(email),
        "reverifications_started": _reverifications(demo, person_id),
        "allowed_while_suspended": allowed_while_suspended,
        "access_after_reverification": str(restored["access_status"]),
        "risk_after_reverification": str(restored["risk_level"]),
        "allowed_after_reverification": _gateway_says(demo, person_id),
    }
    report.notes.append(
        f"HIGH event delivered twice: {report.risk['gateway_revocations']} gateway revocation, "
        f"{report.risk['reverifications_started']} re-verification; restored after the pass"
    )
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report


def shared_signals_session_revoked(demo: Demo, active: ScenarioReport) -> ScenarioReport:
    """Push a CAEP session-revoked SET over HTTP: 202, then the person is suspended."""
    started = time.monotonic()
    person_id = active.onboarding_id
    report = ScenarioReport("shared_signals_session_revoked", onboarding_id=person_id)
    transmitter = _service(demo, FakeSsfTransmitter)
    email = str(demo.onboarding(person_id)["work_email"])

    token = transmitter.security_event_token(
        f"{CAEP}session-revoked",
        email,
        event={"event_timestamp": int(time.time()), "reason_admin": {"en": "Session hijack suspected"}},
    )
    response = transmitter.push(f"{demo.stack.api_url}/ssf/events", token)
    replay = transmitter.push(f"{demo.stack.api_url}/ssf/events", token)
    suspended = _wait_for_access(demo, person_id, access_status="SUSPENDED")
    report.risk = {
        "push_status": response.status_code,
        "replayed_push_status": replay.status_code,
        "access_status": str(suspended["access_status"]),
        "risk_level": str(suspended["risk_level"]),
        "gateway_revocations": _service(demo, FakeCloudflareApi).revocations_of(email),
        "allowed_after": _gateway_says(demo, person_id),
    }
    report.notes.append(f"SET pushed: HTTP {response.status_code}; replay: HTTP {replay.status_code}")
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report


def out_of_order_events(demo: Demo, genuine: ScenarioReport) -> ScenarioReport:
    """Deliver a newer LOW event before an older HIGH one: the HIGH one is dropped as stale."""
    started = time.monotonic()
    person_id = genuine.onboarding_id
    report = ScenarioReport("out_of_order_events", onboarding_id=person_id)
    email = str(demo.onboarding(person_id)["work_email"])
    revocations_before = _service(demo, FakeCloudflareApi).revocations_of(email)
    now = dt.datetime.now(dt.UTC)
    newer = {
        "person_id": person_id,
        "level": "LOW",
        "reason": "analyst_cleared",
        "event_time": (now + dt.timedelta(seconds=2)).isoformat(),
        "version": 1,
        "event_id": f"demo-newer-{uuid.uuid4().hex[:8]}",
    }
    older = {
        **newer,
        "level": "HIGH",
        "reason": "impossible_travel",
        "event_time": (now + dt.timedelta(seconds=1)).isoformat(),
        "event_id": f"demo-older-{uuid.uuid4().hex[:8]}",
    }

    _put_risk_event(demo, newer)
    _wait_for_access(demo, person_id, risk_event_id=newer["event_id"])
    _put_risk_event(demo, older)
    wait_until(
        "the older event to be dropped",
        lambda: True if demo.audit_count(person_id, "risk_event_dropped") else None,
        timeout=scenarios.STEP_TIMEOUT,
    )
    item = _access_item(demo, person_id)
    report.risk = {
        "delivered": ["newer LOW", "older HIGH"],
        "risk_level": str(item["risk_level"]),
        "applied_event": "newer" if item.get("risk_event_id") == newer["event_id"] else "older",
        "dropped_as_stale": demo.audit_count(person_id, "risk_event_dropped"),
        "new_gateway_revocations": (
            _service(demo, FakeCloudflareApi).revocations_of(email) - revocations_before
        ),
        "allowed_after": _gateway_says(demo, person_id),
    }
    report.notes.append(
        f"newer LOW applied, older HIGH dropped as stale; risk {report.risk['risk_level']}, "
        f"{report.risk['new_gateway_revocations']} new revocations"
    )
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report


EXPECTED: dict[str, dict[str, Any]] = {
    "high_risk_after_activation": {
        "alerts": 1,
        "risk": {
            "allowed_before": True,
            "deliveries": 2,
            "gateway_revocations": 1,
            "reverifications_started": 1,
            "allowed_while_suspended": False,
            "access_after_reverification": "ACTIVE",
            "risk_after_reverification": "LOW",
            "allowed_after_reverification": True,
        },
    },
    "shared_signals_session_revoked": {
        "alerts": 1,
        "risk": {
            "push_status": 202,
            "replayed_push_status": 202,
            "access_status": "SUSPENDED",
            "risk_level": "HIGH",
            "gateway_revocations": 1,
            "allowed_after": False,
        },
    },
    "out_of_order_events": {
        "alerts": 0,
        "risk": {
            "delivered": ["newer LOW", "older HIGH"],
            "risk_level": "LOW",
            "applied_event": "newer",
            "dropped_as_stale": 1,
            "new_gateway_revocations": 0,
            "allowed_after": True,
        },
    },
}

# `make demo` checks every scenario against scenarios.EXPECTED.
scenarios.EXPECTED.update(EXPECTED)
