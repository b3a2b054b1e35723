"""The access scenario: the gateway requests decisions on three people after onboarding, over HTTP.

The fake gateway signs each request with its own key; HireProof validates it against the
gateway's certs URL and returns a signed decision, which the fake checks against
HireProof's keys URL exactly as the gateway does. Reasons come from the audit trail, since
the signed response carries only `success`.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from hireproof.demo.scenarios import Demo, ScenarioReport

UNKNOWN_EMAIL = "not.a.hire@example.com"


def _latest_decision(demo: Demo, person_id: str | None) -> dict[str, Any]:
    table = demo.stack.resource("dynamodb").Table(demo.stack.physical_id("AuditTable"))
    if person_id:
        items = table.query(
            KeyConditionExpression="subject_id = :s", ExpressionAttributeValues={":s": person_id}
        )["Items"]
    else:
        # An unknown e-mail is audited under a keyed hash of the address, which the demo cannot compute.
        items = [i for i in table.scan()["Items"] if str(i["subject_id"]).startswith("email:")]
    decisions = sorted((i for i in items if i["action"] == "access_decided"), key=lambda i: i["record_id"])
    return dict(decisions[-1]) if decisions else {}


def access_decisions(demo: Demo, genuine: ScenarioReport, impostor: ScenarioReport) -> ScenarioReport:
    """Ask for the genuine hire, the impostor and an unknown e-mail: allow, deny, deny, with reasons."""
    started = time.monotonic()
    report = ScenarioReport("access_decisions")
    api = demo.stack.api_url
    people = [
        ("genuine_hire", genuine.onboarding_id),
        ("impostor", impostor.onboarding_id),
        ("unknown_email", None),
    ]
    for who, person_id in people:
        email = str(demo.onboarding(person_id)["work_email"]) if person_id else UNKNOWN_EMAIL
        token, nonce = demo.gateway.mint(email, country="US")
        response = requests.post(f"{api}/access/evaluate", json={"token": token}, timeout=30)
        entry: dict[str, Any] = {"who": who, "http_status": response.status_code}
        if response.status_code == 200:
            claims = demo.gateway.accept(response.json()["token"], nonce, f"{api}/access/keys")
            entry["success"] = claims["success"]
        entry["reasons"] = list(_latest_decision(demo, person_id).get("reasons", []))
        report.access.append(entry)
        verdict = "allow" if entry.get("success") else "deny"
        report.notes.append(f"{who}: {verdict} ({', '.join(entry['reasons']) or 'no reasons'})")
    report.wall_seconds = round(time.monotonic() - started, 2)
    return report
