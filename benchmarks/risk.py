"""Risk events through the EventBridge-to-handler path: events per second at 1,000 and 10,000.

Each event is a `RiskLevelChanged` EventBridge envelope handed to the real handler
(functions/risk_events) in-process, which resolves the person, applies the event to the risk
state with its conditional writes and dedup marker, audits it and responds. The store is moto's
in-process DynamoDB with template.yaml's tables, so figures measure HireProof's code and moto,
not DynamoDB's latency; the bus itself is not timed.

Each run has 200 ACTIVE people, and each person's LOW and MEDIUM events alternate with rising
event times. The first MEDIUM starts a step-up re-verification per person, and later ones find
it running. 1% of deliveries repeat an earlier event (duplicates), and 1% arrive late with an
older event time (stale). Target: the 10,000-event run takes at most 11 times the 1,000-event run (linear).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

PEOPLE = 200
LINEAR_TARGET_RATIO = 11.0


def _envelope(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "RiskLevelChanged",
        "source": "bench.risk-vendor",
        "account": "123456789012",
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def _events(count: int, people: list[str]) -> list[dict[str, Any]]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    events: list[dict[str, Any]] = []
    for index in range(count):
        person_id = people[index % len(people)]
        round_number = index // len(people)
        detail = {
            "person_id": person_id,
            "level": "MEDIUM" if round_number % 2 else "LOW",
            "reason": "bench_signal",
            "event_time": (start + dt.timedelta(seconds=round_number)).isoformat(),
            "version": 1,
            "event_id": f"bench-{index}",
        }
        if index % 100 == 50 and events:
            # A duplicate: the same envelope again, as EventBridge may deliver it.
            events.append(events[-len(people) if len(events) >= len(people) else -1])
            continue
        if index % 100 == 75:
            # Stale: observed before everything already applied for this person.
            detail["event_time"] = (start - dt.timedelta(minutes=5)).isoformat()
        events.append(_envelope(detail))
    return events


def time_events(count: int) -> dict[str, Any]:
    """Return the figures of one run of `count` events on fresh tables."""
    from hireproof.access import persons
    from hireproof.local.moto_hooks import install_transaction_snapshot
    from hireproof.onboarding import store
    from sessions_support import LambdaContext, add_onboarding, load_handler, make_hire
    from template_resources import mocked_stack

    # The local runtime's fix for moto copying whole tables in every transaction.
    install_transaction_snapshot()
    with mocked_stack() as stack:
        definition = (ROOT / "statemachines" / "reverification.asl.json").read_text()
        machine = stack.client("stepfunctions").create_state_machine(
            name="bench-reverification",
            definition=definition.replace("${ReverificationTimeoutSeconds}", "86400"),
            roleArn="arn:aws:iam::123456789012:role/bench",
        )["stateMachineArn"]
        os.environ["REVERIFICATION_STATE_MACHINE_ARN"] = machine
        os.environ["IDENTITY_PROVIDER"] = "identity_center"

        people = []
        for number in range(PEOPLE):
            person_id = add_onboarding(make_hire(employee_id=f"B{number:04d}"))
            store.update_onboarding(person_id, state="ACTIVE")
            persons.activate(person_id, verified_at=persons.now_iso(), residence_country="US")
            people.append(person_id)

        handler = load_handler("risk_events")
        events = _events(count, people)
        statuses: dict[str, int] = {}
        started = time.perf_counter()
        for event in events:
            result = handler.lambda_handler(event, LambdaContext())
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        seconds = time.perf_counter() - started

    return {
        "events": len(events),
        "seconds": round(seconds, 3),
        "events_per_second": round(len(events) / seconds, 1),
        "statuses": statuses,
    }


def time_risk() -> dict[str, Any]:
    """Return the 1,000 and 10,000 event runs and their time ratio for build/bench.json."""
    small = time_events(1_000)
    large = time_events(10_000)
    ratio = large["seconds"] / small["seconds"]
    return {
        "runs": [small, large],
        "ratio_10k_to_1k": round(ratio, 2),
        "linear_target_ratio": LINEAR_TARGET_RATIO,
    }


if __name__ == "__main__":
    print(json.dumps(time_risk(), indent=2))
