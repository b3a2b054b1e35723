"""The demo's scenarios: one hire each, from webhook to the onboarding's end state."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from hireproof.demo.actors import HrSystem, Phone, Reviewer, wait_until
from hireproof.local import assets

STEP_TIMEOUT = 60.0
HOME = {"line1": "1 Demo Way", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}


@dataclass
class ScenarioReport:
    """One line of build/demo-report.json."""

    scenario: str
    onboarding_id: str = ""
    execution_status: str = ""
    onboarding_state: str = ""
    decision: str | None = None
    reasons: list[str] = field(default_factory=list)
    credentials_issued: int = 0
    credential_reveals: list[int] = field(default_factory=list)
    shipments: int = 0
    alerts: int = 0
    executions: int = 0
    biometric_objects_remaining: int = 0
    wall_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    access: list[dict[str, Any]] = field(default_factory=list)
    risk: dict[str, Any] = field(default_factory=dict)
    recovery: dict[str, Any] = field(default_factory=dict)


def home_of(employee_id: str) -> dict[str, str]:
    """Return a distinct fictional home address per employee, so addresses are reused only on purpose."""
    return {**HOME, "line1": f"{employee_id} Demo Way"}


def document_number_of(employee_id: str) -> str:
    """Return a distinct specimen card number per employee, so a card is reused only on purpose.

    Reuse detection fails a second onboarding that shows a document number seen before.
    """
    return f"D{zlib.crc32(employee_id.encode()) % 10**8:08d}"


def card_of(employee_id: str, given: str, family: str, **fields: Any) -> assets.DemoCard:
    """Return the specimen card one demo hire holds, with the employee's own card number."""
    return assets.DemoCard(
        given=given,
        family=family,
        date_of_birth=dt.date(1990, 11, 19),
        document_number=document_number_of(employee_id),
        **fields,
    )


def selfie_of(employee_id: str) -> bytes:
    """Return the genuine person's selfie as this employee's phone takes it (JPEG).

    Several demo hires are the same real person, and reuse detection fails an onboarding
    whose selfie has the exact pixels of another onboarding's. A real camera never takes
    the same pixels twice, so each employee's selfie is framed a few pixels differently
    and carries its own sensor noise, seeded by the employee id.
    """
    seed = zlib.crc32(employee_id.encode())
    image = Image.open(io.BytesIO(assets.genuine_selfie())).convert("RGB")
    inset = 2 + seed % 9
    pixels = np.asarray(image.crop((inset, 0, image.width - inset, image.height)), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, pixels.shape)
    noisy = Image.fromarray((pixels + noise).clip(0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def hire_body(
    employee_id: str, given: str, family: str, *, locale: str = "en", **extra: Any
) -> dict[str, Any]:
    """Build a generic webhook body for one fictional hire."""
    slug = f"{given}.{family}.{employee_id}".lower()
    body: dict[str, Any] = {
        "employee_id": employee_id,
        "legal_name": {"given": given, "family": family},
        "personal_email": f"{slug}@personal.example.net",
        "work_email": f"{slug}@example.com",
        "locale": locale,
        "date_of_birth": "1990-11-19",
        "start_date": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
        "home_address": HOME,
        "manager_email": "manager@example.com",
        "department": "Engineering",
        "device_profile": "standard-laptop",
    }
    body.update(extra)
    return body


@dataclass
class Demo:
    """Everything the scenarios drive: the stack, the fakes and the outside parties."""

    stack: Any
    fulfillment: Any
    hr: HrSystem
    reviewer: Reviewer
    gateway: Any = None

    # ------------------------------------------------------------ observation
    def onboarding(self, onboarding_id: str) -> dict[str, Any]:
        table = self.stack.resource("dynamodb").Table(self.stack.physical_id("OnboardingTable"))
        item = table.get_item(Key={"pk": onboarding_id, "sk": "HIRE"}, ConsistentRead=True).get("Item")
        return dict(item or {})

    def wait_for_state(
        self, onboarding_id: str, *states: str, timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            record = self.onboarding(onboarding_id)
            return record if record.get("state") in states else None

        return wait_until(f"onboarding {onboarding_id} to reach {'/'.join(states)}", probe, timeout=timeout)

    def execution_arn(self, onboarding_id: str) -> str:
        arn = self.stack.physical_id("OnboardingStateMachine")
        return str(arn.replace(":stateMachine:", ":execution:") + f":{onboarding_id}")

    def executions_named(self, onboarding_id: str) -> int:
        sfn = self.stack.client("stepfunctions")
        arn = self.stack.physical_id("OnboardingStateMachine")
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        return sum(1 for page in pages for e in page["executions"] if e["name"] == onboarding_id)

    def invitation(self, personal_email: str, number: int) -> str:
        """Return the text of the `number`-th (1-based) invitation e-mail to an address."""

        def probe() -> str | None:
            mails = [m for m in self.stack.sent_emails() if personal_email in m["to"]]
            return str(mails[number - 1]["body"]) if len(mails) >= number else None

        return wait_until(f"invitation e-mail #{number}", probe, timeout=STEP_TIMEOUT)

    def audit_count(self, onboarding_id: str, action: str, outcome: str | None = None) -> int:
        table = self.stack.resource("dynamodb").Table(self.stack.physical_id("AuditTable"))
        items = table.query(
            KeyConditionExpression="subject_id = :s", ExpressionAttributeValues={":s": onboarding_id}
        )["Items"]
        return sum(1 for i in items if i["action"] == action and (outcome is None or i["outcome"] == outcome))

    def biometric_objects(self) -> int:
        s3 = self.stack.client("s3")
        page = s3.list_objects_v2(Bucket=self.stack.physical_id("EvidenceBucket"), Prefix="evidence/")
        return int(page.get("KeyCount", 0))

    # ------------------------------------------------------------ actions
    def start_hire(self, body: dict[str, Any], *, event_id: str | None = None) -> str:
        response = self.hr.post_hire(body, event_id=event_id)
        if response.status_code != 202:
            raise AssertionError(f"webhook returned HTTP {response.status_code}: {response.text}")
        return str(response.json()["onboarding_id"])

    def verify(
        self, personal_email: str, number: int, front: bytes, back: bytes, selfie: bytes
    ) -> dict[str, Any]:
        phone = Phone.from_email(self.stack.api_url, self.invitation(personal_email, number))
        phone.open_session()
        phone.upload("id_front", front)
        phone.upload("id_back", back)
        phone.upload("selfie", selfie)
        response = phone.submit()
        if response.status_code != 200:
            raise AssertionError(f"submit returned HTTP {response.status_code}: {response.text}")
        result = dict(response.json())
        result["_phone"] = phone
        return result

    def reveal_credential(self, phone: Phone) -> list[int]:
        """Fetch the credential until it is ready, then once more; return both status codes."""
        first = wait_until(
            "the initial credential",
            lambda: r if (r := phone.reveal_credential()).status_code != 409 else None,
            timeout=STEP_TIMEOUT,
            interval=0.2,
        )
        second = phone.reveal_credential()
        return [first.status_code, second.status_code]

    def deliver(self, onboarding_id: str) -> None:
        record = self.wait_for_state(onboarding_id, "SHIPPED")
        shipment_id = str(record["shipment_id"])
        # The delivery task token is registered just after the order; wait for it.
        wait_until(
            "the delivery wait to register",
            lambda: True if self.fulfillment.deliver(shipment_id) else None,
            timeout=STEP_TIMEOUT,
            interval=0.3,
        )

    def finish(self, report: ScenarioReport, started: float, *, wait: bool = True) -> ScenarioReport:
        arn = self.execution_arn(report.onboarding_id)
        if wait:
            self.stack.wait_for_execution(arn, timeout=STEP_TIMEOUT * 2)
        description = self.stack.client("stepfunctions").describe_execution(executionArn=arn)
        record = self.onboarding(report.onboarding_id)
        report.execution_status = description["status"]
        report.onboarding_state = str(record.get("state", ""))
        report.decision = record.get("decision")
        report.reasons = list(record.get("close_reasons") or record.get("reasons") or [])
        report.credentials_issued = self.audit_count(report.onboarding_id, "credential_issued", "performed")
        report.shipments = len(self.fulfillment.orders_for(report.onboarding_id))
        report.executions = self.executions_named(report.onboarding_id)
        report.biometric_objects_remaining = self.biometric_objects()
        report.wall_seconds = round(time.monotonic() - started, 2)
        return report


# ------------------------------------------------------------------ the scenarios
def genuine_hire(demo: Demo, employee_id: str = "E-1001") -> ScenarioReport:
    """Run a genuine hire: PASSED, credential shown once, one shipment, recipient verified, ACTIVE."""
    started = time.monotonic()
    body = hire_body(employee_id, "Eileen", "Collins", home_address=home_of(employee_id))
    report = ScenarioReport("genuine_hire", onboarding_id=demo.start_hire(body))

    card = card_of(employee_id, "Eileen", "Collins")
    result = demo.verify(
        body["personal_email"],
        1,
        assets.id_card_front(card),
        assets.id_card_back(card),
        selfie_of(employee_id),
    )
    report.credential_reveals = demo.reveal_credential(result["_phone"])
    demo.deliver(report.onboarding_id)
    demo.verify(
        body["personal_email"],
        2,
        assets.id_card_front(card),
        assets.id_card_back(card),
        selfie_of(employee_id),
    )
    return demo.finish(report, started)


def impostor(demo: Demo) -> ScenarioReport:
    """Someone else takes the selfie with the hire's real ID: FAILED, nothing released, one alert."""
    started = time.monotonic()
    body = hire_body("E-1002", "Eileen", "Collins", home_address=home_of("E-1002"))
    report = ScenarioReport("impostor", onboarding_id=demo.start_hire(body))

    card = card_of("E-1002", "Eileen", "Collins")
    demo.verify(
        body["personal_email"],
        1,
        assets.id_card_front(card),
        assets.id_card_back(card),
        assets.impostor_selfie(),
    )
    return demo.finish(report, started)


def duplicate_webhook(demo: Demo) -> ScenarioReport:
    """Deliver the same webhook twice, then with a new delivery id: exactly one execution."""
    started = time.monotonic()
    body = hire_body("E-1003", "Sam", "Rivera", home_address=home_of("E-1003"))
    event_id = uuid.uuid4().hex
    report = ScenarioReport("duplicate_webhook", onboarding_id=demo.start_hire(body, event_id=event_id))

    again = demo.hr.post_hire(body, event_id=event_id)
    report.notes.append(f"second delivery answered {again.status_code} {again.json().get('status')}")
    other = demo.hr.post_hire(body)
    report.notes.append(f"new delivery id, same hire: {other.status_code} {other.json().get('status')}")
    return demo.finish(report, started, wait=False)


def expired_id(demo: Demo) -> ScenarioReport:
    """Verify with an expired ID card: NEEDS_REVIEW, nothing released until a reviewer approves."""
    started = time.monotonic()
    body = hire_body("E-1004", "Eileen", "Collins", home_address=home_of("E-1004"))
    report = ScenarioReport("expired_id", onboarding_id=demo.start_hire(body))

    card = card_of("E-1004", "Eileen", "Collins", expiry=dt.date.today() - dt.timedelta(days=30))
    result = demo.verify(
        body["personal_email"],
        1,
        assets.id_card_front(card),
        assets.id_card_back(card),
        selfie_of("E-1004"),
    )
    demo.wait_for_state(report.onboarding_id, "IN_REVIEW")
    released = demo.audit_count(report.onboarding_id, "credential_issued") + len(
        demo.fulfillment.orders_for(report.onboarding_id)
    )
    report.notes.append(f"while in review: {released} credentials or shipments released")

    approval = demo.reviewer.decide(
        report.onboarding_id, approve=True, reason="Renewal receipt checked on a video call"
    )
    report.notes.append(f"reviewer approval answered {approval.status_code}")
    # Approval e-mails a new link to collect the credential; the first one stops working.
    phone = Phone.from_email(demo.stack.api_url, demo.invitation(body["personal_email"], 2))
    old_link = result["_phone"].reveal_credential().status_code
    report.credential_reveals = demo.reveal_credential(phone)
    report.notes.append(f"first link after approval answered {old_link}")
    demo.deliver(report.onboarding_id)
    demo.verify(
        body["personal_email"],
        3,
        assets.id_card_front(card),
        assets.id_card_back(card),
        selfie_of("E-1004"),
    )
    return demo.finish(report, started)


def reused_shipping_address(demo: Demo) -> ScenarioReport:
    """Request a laptop to the genuine hire's address for a second hire: NEEDS_REVIEW, rejected."""
    started = time.monotonic()
    body = hire_body(
        "E-1005", "Eileen", "Collins", home_address=home_of("E-1005"), shipping_address=home_of("E-1001")
    )
    report = ScenarioReport("reused_shipping_address", onboarding_id=demo.start_hire(body))

    card = card_of("E-1005", "Eileen", "Collins")
    demo.verify(
        body["personal_email"],
        1,
        assets.id_card_front(card),
        assets.id_card_back(card),
        selfie_of("E-1005"),
    )
    demo.wait_for_state(report.onboarding_id, "IN_REVIEW")
    rejection = demo.reviewer.decide(
        report.onboarding_id, approve=False, reason="Address belongs to another hire"
    )
    report.notes.append(f"reviewer rejection answered {rejection.status_code}")
    finished = demo.finish(report, started)
    finished.decision = demo.onboarding(report.onboarding_id).get("decision")
    return finished


def never_verified(demo: Demo) -> Callable[[], ScenarioReport]:
    """Start a hire who never opens the link: a reminder, then EXPIRED with the account inactive.

    Returns a function that collects the report later, so other scenarios run
    while this one waits out its timeouts.
    """
    started = time.monotonic()
    body = hire_body("E-1006", "Kenji", "Sato", locale="ja", home_address=home_of("E-1006"))
    report = ScenarioReport("verification_never_completed", onboarding_id=demo.start_hire(body))

    def collect() -> ScenarioReport:
        finished = demo.finish(report, started)
        mails = [m for m in demo.stack.sent_emails() if body["personal_email"] in m["to"]]
        finished.notes.append(
            f"{len(mails)} e-mails sent (invitation and reminders), first subject: {mails[0]['subject']}"
        )
        return finished

    return collect


def _alert_kind(action: str) -> str:
    """Return which scenario kind an alert belongs to: onboarding, recovery or risk."""
    if action.startswith("onboarding_"):
        return "onboarding"
    if action.startswith("recovery_") or action == "credential_reset":
        return "recovery"
    return "risk"


def _report_kind(report: ScenarioReport) -> str:
    if report.recovery:
        return "recovery"
    return "risk" if report.risk else "onboarding"


def count_alerts(demo: Demo, reports: list[ScenarioReport]) -> None:
    """Drain the security events queue and count SecurityAlert events per onboarding and kind.

    Alerts about an onboarding (actions onboarding_*) go to the onboarding scenario's report,
    alerts about a reset (recovery_*, credential_reset) to the recovery scenario's. Alerts about
    risk after onboarding go to the first risk scenario of that person, because several risk
    scenarios share the genuine hire.
    """
    sqs = demo.stack.client("sqs")
    queue_url = demo.stack.physical_id("SecurityEventsQueue")
    alerts: dict[tuple[str, str], int] = {}
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not batch:
            break
        for message in batch:
            event = json.loads(message["Body"])
            if event.get("detail-type") == "SecurityAlert":
                detail = event["detail"]
                key = (detail["onboarding_id"], _alert_kind(str(detail.get("action", ""))))
                alerts[key] = alerts.get(key, 0) + 1
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    for report in reports:
        report.alerts = alerts.pop((report.onboarding_id, _report_kind(report)), 0)


def demo_refresh(demo: Demo, report: ScenarioReport) -> None:
    """Re-read a scenario's outcome that was reported before its execution ended."""
    refreshed = demo.finish(
        ScenarioReport(report.scenario, onboarding_id=report.onboarding_id), time.monotonic(), wait=True
    )
    report.execution_status = refreshed.execution_status
    report.onboarding_state = refreshed.onboarding_state
    report.reasons = refreshed.reasons
    report.executions = refreshed.executions
    report.biometric_objects_remaining = refreshed.biometric_objects_remaining


# The outcome each scenario must show; `make demo` exits non-zero when one differs.
EXPECTED: dict[str, dict[str, Any]] = {
    "genuine_hire": {
        "execution_status": "SUCCEEDED",
        "onboarding_state": "ACTIVE",
        "decision": "PASSED",
        "credentials_issued": 1,
        "credential_reveals": [200, 410],
        "shipments": 1,
        "alerts": 0,
    },
    "impostor": {
        "execution_status": "SUCCEEDED",
        "onboarding_state": "FAILED",
        "decision": "FAILED",
        "credentials_issued": 0,
        "shipments": 0,
        "alerts": 1,
    },
    "duplicate_webhook": {"executions": 1, "onboarding_state": "EXPIRED", "credentials_issued": 0},
    "expired_id": {
        "execution_status": "SUCCEEDED",
        "onboarding_state": "ACTIVE",
        "decision": "NEEDS_REVIEW",
        "credentials_issued": 1,
        "credential_reveals": [200, 410],
        "shipments": 1,
    },
    "reused_shipping_address": {
        "onboarding_state": "FAILED",
        "decision": "NEEDS_REVIEW",
        "credentials_issued": 0,
        "shipments": 0,
        "alerts": 1,
    },
    "verification_never_completed": {
        "execution_status": "SUCCEEDED",
        "onboarding_state": "EXPIRED",
        "credentials_issued": 0,
        "shipments": 0,
    },
}
EXPECTED["access_decisions"] = {
    "access": [
        {"who": "genuine_hire", "http_status": 200, "success": True, "reasons": []},
        {"who": "impostor", "http_status": 200, "success": False, "reasons": ["onboarding_failed"]},
        {"who": "unknown_email", "http_status": 200, "success": False, "reasons": ["unknown_person"]},
    ]
}
EXPECTED_REASONS = {
    "impostor": "face_mismatch",
    "expired_id": "document_expired",
    "reused_shipping_address": "shipping_address_reused",
    "verification_never_completed": "verification_not_completed",
}


def mismatches(report: ScenarioReport) -> list[str]:
    """List how a scenario's outcome differs from what it must show."""
    problems = [
        f"{name} is {getattr(report, name)!r}, expected {value!r}"
        for name, value in EXPECTED.get(report.scenario, {}).items()
        if getattr(report, name) != value
    ]
    reason = EXPECTED_REASONS.get(report.scenario)
    if reason and reason not in report.reasons:
        problems.append(f"reasons {report.reasons} lack {reason}")
    if report.biometric_objects_remaining:
        problems.append(f"{report.biometric_objects_remaining} biometric objects remain")
    return problems


def as_expected(report: ScenarioReport) -> bool:
    """Return whether a scenario ended the way it must."""
    return not mismatches(report)
