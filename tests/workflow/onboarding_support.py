"""Helpers of test_onboarding_workflow.py: a seeded local stack and what it sent to the outside.

A `WorkflowStack` is template.yaml on the local runtime with the fakes of
`hireproof.local.defaults`, seeded as `make demo` seeds it. Besides the stack's own
SecurityEventsQueue it has two queues that this module subscribes to the
SecurityAlertsTopic and the HrNotificationsTopic, so a test can count alerts and HR
notices. The actors (HR system, phone, reviewer) are those of `hireproof.demo`.

Several scenarios run at once on one stack. Everything here is safe to call from
several threads, and every observation is filtered by onboarding id or e-mail address.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import requests
from boto3.dynamodb.types import TypeDeserializer
from PIL import Image

from hireproof.demo.actors import HrSystem, Phone, Reviewer
from hireproof.demo.scenarios import HOME, Demo, hire_body
from hireproof.local import assets
from hireproof.local.defaults import default_services, seed
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.moto_hooks import SentEmail
from hireproof.local.stack import LocalStack, format_history

T = TypeVar("T")

STEP_TIMEOUT = 60.0
"""Maximum wait for one step of a scenario: an e-mail, a state, an accepted callback."""
EXECUTION_TIMEOUT = 120.0
"""Maximum wait for an execution to end once nothing else has to happen."""
HTTP_TIMEOUT = 30
DATE_OF_BIRTH = dt.date(1990, 11, 19)  # the date hire_body() puts on every hire

_deserializer = TypeDeserializer()


# ----------------------------------------------------------------- hires
def camera_shot(photo: bytes, seed: int) -> bytes:
    """Return `photo` as one phone would take it: framed a few pixels differently, with its own noise.

    Reuse detection fails an onboarding whose image has the exact pixels of another
    onboarding's, and the demo has only one photograph per person, so each hire gets a
    shot of their own.
    """
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    inset = 2 + seed % 9
    pixels = np.asarray(image.crop((inset, 0, image.width - inset, image.height)), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray((pixels + noise).clip(0, 255).astype(np.uint8), "RGB").save(
        buffer, format="JPEG", quality=90
    )
    return buffer.getvalue()


@dataclass(frozen=True)
class TestHire:
    """One fictional hire: the webhook body, the ID card they hold and their number."""

    __test__ = False  # a dataclass named Test* is not a pytest test class

    number: int
    body: dict[str, Any]
    card: assets.DemoCard

    @property
    def onboarding_id(self) -> str:
        return f"generic-{self.body['employee_id']}"

    @property
    def personal_email(self) -> str:
        return str(self.body["personal_email"])

    @property
    def personal_data(self) -> list[str]:
        """Strings that must never appear in logs, audit records or alerts."""
        name = self.body["legal_name"]
        return [name["given"], name["family"], self.personal_email, str(self.body["work_email"])]

    def front(self) -> bytes:
        return assets.id_card_front(self.card)

    def back(self) -> bytes:
        return assets.id_card_back(self.card)

    def selfie(self) -> bytes:
        """The genuine person's selfie, as this hire's phone takes it."""
        return camera_shot(assets.genuine_selfie(), self.number)

    def impostor_selfie(self) -> bytes:
        """Another person's selfie, taken with this hire's ID card at hand."""
        return camera_shot(assets.impostor_selfie(), self.number)


_hire_lock = threading.Lock()
HIRES: list[TestHire] = []
"""Every hire made in this process, for the check that no log line names one."""


def new_hire(
    number: int,
    given: str,
    family: str,
    *,
    card_expired: bool = False,
    **extra: Any,
) -> TestHire:
    """Make a hire with its own employee id, home address and card number; the card may be expired.

    A distinct address and card per hire keep the shared-address signal and reuse detection
    away from hires that are not about them.
    """
    body = hire_body(
        f"WF-{number}", given, family, home_address={**HOME, "line1": f"{number} Workflow Way"}, **extra
    )
    card = assets.DemoCard(
        given=given, family=family, date_of_birth=DATE_OF_BIRTH, document_number=f"WF{number:06d}"
    )
    if card_expired:
        card = card.model_copy(update={"expiry": dt.date.today() - dt.timedelta(days=30)})
    hire = TestHire(number, body, card)
    with _hire_lock:
        HIRES.append(hire)
    return hire


# ----------------------------------------------------------------- waiting
def wait_until(what: str, probe: Callable[[], T | None], *, timeout: float, explain: Callable[[], str]) -> T:
    """Poll `probe` until it returns a value; fail with `explain()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{explain()}")
        time.sleep(0.1)


# ----------------------------------------------------------------- collecting what the stack sent
@dataclass
class Inbox:
    """An SQS queue drained into memory, so that concurrent scenarios all see every message."""

    sqs: Any
    queue_url: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def drain(self) -> list[dict[str, Any]]:
        """Receive and delete everything waiting; return every message received so far."""
        with self._lock:
            while True:
                batch = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not batch:
                    return list(self.messages)
                for message in batch:
                    self.messages.append(json.loads(message["Body"]))
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _topic_inbox(stack: LocalStack, topic_logical_id: str) -> Inbox:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=f"{stack.stack_name}-{topic_logical_id}-test")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.physical_id(topic_logical_id),
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return Inbox(sqs, url)


class HandlerLogCapture(logging.Handler):
    """Log handler that keeps every line of HireProof code, formatted as the handlers' JSON lines.

    It is attached to the root logger. Powertools adds a filter to the root logger's handlers
    that drops its service's records (to avoid duplicates), so this handler ignores filters.
    """

    PREFIXES = ("hireproof", "service_undefined")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(self.PREFIXES):
            return
        handler = getattr(logging.getLogger("hireproof"), "powertools_handler", None)
        try:
            text = handler.formatter.format(record) if handler and handler.formatter else record.getMessage()
        except Exception:  # noqa: BLE001 - a record the formatter rejects is still checked raw
            text = record.getMessage()
        with self._lines_lock:
            self.lines.append(f"{text} {vars(record)!r}")

    def snapshot(self) -> list[str]:
        with self._lines_lock:
            return list(self.lines)


class OrderFaults:
    """Fault injection for the fake fulfillment service: it rejects the orders of chosen onboardings.

    FakeFulfillment has no fault injection of its own, so this wraps its `handle` method.
    """

    def __init__(self, fake: FakeFulfillment) -> None:
        self._statuses: dict[str, int] = {}
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        original = fake.handle

        def handle(method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
            if method == "POST" and path == "/orders":
                try:
                    onboarding_id = str(json.loads(body).get("onboarding_id"))
                except (ValueError, AttributeError):
                    onboarding_id = ""
                with self._lock:
                    status = self._statuses.get(onboarding_id)
                    if status is not None:
                        self.rejected.append(onboarding_id)
                if status is not None:
                    return status, {"error": "rejected_by_test"}
            return original(method, path, headers, body)

        fake.handle = handle  # type: ignore[method-assign]

    def reject_orders(self, onboarding_id: str, status: int) -> None:
        """Reject every order of this onboarding with `status` and an error body."""
        with self._lock:
            self._statuses[onboarding_id] = status


# ----------------------------------------------------------------- observations
@dataclass
class Observed:
    """Everything a scenario left behind, read after its execution ended."""

    hire: TestHire
    execution: dict[str, Any]
    path: list[str]
    record: dict[str, Any]
    audit: list[dict[str, Any]]
    effects: dict[str, str]
    alerts: list[dict[str, Any]]
    sns_alerts: list[dict[str, Any]]
    hr_notices: list[dict[str, Any]]
    bus_events: list[str]
    orders: list[dict[str, Any]]
    cancellations: list[str]
    emails: list[SentEmail]
    evidence_objects: int
    groups: set[str]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.execution["status"])

    @property
    def state(self) -> str:
        return str(self.record.get("state"))

    @property
    def close_reasons(self) -> list[str]:
        return list(self.record.get("close_reasons") or [])

    def actions(self) -> list[str]:
        return [str(item["action"]) for item in self.audit]

    def explain(self) -> str:
        """A summary for assertion messages."""
        return (
            f"onboarding {self.hire.onboarding_id}: execution {self.status} "
            f"{self.execution.get('error', '')} path {self.path}; state {self.state}; "
            f"close_reasons {self.close_reasons}; effects {self.effects}; alerts {self.alerts}"
        )


class WorkflowStack:
    """One started and seeded stack, its fakes, its inboxes and the demo's actors."""

    def __init__(self, stack: LocalStack, fulfillment: FakeFulfillment) -> None:
        self.stack = stack
        self.fulfillment = fulfillment
        self.order_faults = OrderFaults(fulfillment)
        secret = json.loads(
            stack.client("secretsmanager").get_secret_value(SecretId=stack.physical_id("HrWebhookSecret"))[
                "SecretString"
            ]
        )["generic"]
        self.demo = Demo(
            stack=stack,
            fulfillment=fulfillment,
            hr=HrSystem(stack.api_url, secret),
            reviewer=Reviewer(stack.api_url),
        )
        self.security_events = Inbox(stack.client("sqs"), stack.physical_id("SecurityEventsQueue"))
        self.security_alerts = _topic_inbox(stack, "SecurityAlertsTopic")
        self.hr_notifications = _topic_inbox(stack, "HrNotificationsTopic")
        self._ddb = stack.client("dynamodb")
        self._onboarding_table = stack.physical_id("OnboardingTable")
        self._verification_table = stack.physical_id("VerificationTable")
        self._audit_table = stack.physical_id("AuditTable")
        self._store_id = stack.template.parameters["IdentityStoreId"]

    # ------------------------------------------------------------ reading the stack
    def _query(self, table: str, key: str, value: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": {"S": value}},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**request)
            items.extend(_plain(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record(self, onboarding_id: str) -> dict[str, Any]:
        item = self._ddb.get_item(
            TableName=self._onboarding_table,
            Key={"pk": {"S": onboarding_id}, "sk": {"S": "HIRE"}},
            ConsistentRead=True,
        ).get("Item")
        return _plain(item) if item else {}

    def session(self, session_id: str) -> dict[str, Any]:
        item = self._ddb.get_item(
            TableName=self._verification_table, Key={"session_id": {"S": session_id}}, ConsistentRead=True
        ).get("Item")
        return _plain(item) if item else {}

    def audit(self, onboarding_id: str) -> list[dict[str, Any]]:
        """Audit records of one onboarding, oldest first (record ids start with the time)."""
        return self._query(self._audit_table, "subject_id", onboarding_id)

    def effects(self, onboarding_id: str) -> dict[str, str]:
        items = self._query(self._onboarding_table, "pk", onboarding_id)
        return {
            item["sk"].removeprefix("EFFECT#"): str(item.get("status"))
            for item in items
            if item["sk"].startswith("EFFECT#")
        }

    def execution_arn(self, onboarding_id: str) -> str:
        return self.demo.execution_arn(onboarding_id)

    def path(self, onboarding_id: str) -> list[str]:
        """Names of the states the execution entered, in order."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.stack.execution_history(self.execution_arn(onboarding_id))
            if "stateEnteredEventDetails" in event
        ]

    def history(self, onboarding_id: str) -> str:
        try:
            return format_history(self.stack.execution_history(self.execution_arn(onboarding_id)))
        except Exception as exc:  # noqa: BLE001 - only used to explain a failure
            return f"(no execution history: {type(exc).__name__})"

    def emails_to(self, address: str) -> list[SentEmail]:
        return [mail for mail in self.stack.sent_emails() if address in mail.to]

    def evidence_objects(self, onboarding_id: str) -> int:
        """Evidence objects of any verification session of one onboarding."""
        page = self.stack.client("s3").list_objects_v2(
            Bucket=self.stack.physical_id("EvidenceBucket"), Prefix=f"evidence/{onboarding_id}."
        )
        return int(page.get("KeyCount", 0))

    def groups(self, idp_user_id: str | None) -> set[str]:
        """Display names of the identity store groups the user is a member of."""
        if not idp_user_id:
            return set()
        identitystore = self.stack.client("identitystore")
        identitystore.describe_user(IdentityStoreId=self._store_id, UserId=idp_user_id)
        memberships = identitystore.list_group_memberships_for_member(
            IdentityStoreId=self._store_id, MemberId={"UserId": idp_user_id}
        )["GroupMemberships"]
        return {
            identitystore.describe_group(IdentityStoreId=self._store_id, GroupId=m["GroupId"])["DisplayName"]
            for m in memberships
        }

    def expected_groups(self, department: str) -> set[str]:
        mapping = json.loads(self.stack.template.parameters["AccessGroups"])
        return set(mapping.get("*", [])) | set(mapping.get(department, []))

    def bus_events(self, onboarding_id: str) -> list[dict[str, Any]]:
        return [
            event
            for event in self.security_events.drain()
            if event.get("detail", {}).get("onboarding_id") == onboarding_id
        ]

    # ------------------------------------------------------------ waiting
    def wait_for_state(
        self, onboarding_id: str, *states: str, timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            record = self.record(onboarding_id)
            return record if record.get("state") in states else None

        return wait_until(
            f"onboarding {onboarding_id} to reach {'/'.join(states)}",
            probe,
            timeout=timeout,
            explain=lambda: f"state {self.record(onboarding_id).get('state')}\n{self.history(onboarding_id)}",
        )

    def wait_for_end(self, onboarding_id: str, timeout: float = EXECUTION_TIMEOUT) -> dict[str, Any]:
        return self.stack.wait_for_execution(self.execution_arn(onboarding_id), timeout=timeout)

    def wait_for_state_entered(
        self, onboarding_id: str, state_name: str, timeout: float = STEP_TIMEOUT
    ) -> None:
        self.stack.wait_for_state(self.execution_arn(onboarding_id), state_name, timeout=timeout)

    def wait_for_review(
        self, onboarding_id: str, stage: str, timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        """Wait until a review of `stage` can be decided: its task token is registered.

        The record turns IN_REVIEW in Record Decision, a moment before Wait For Review
        registers the token; a reviewer deciding in between gets 409.
        """

        def probe() -> dict[str, Any] | None:
            record = self.record(onboarding_id)
            review = record.get("review") or {}
            return record if review.get("stage") == stage and "task_token" in review else None

        return wait_until(
            f"the {stage} review of {onboarding_id} to wait for a reviewer",
            probe,
            timeout=timeout,
            explain=lambda: self.history(onboarding_id),
        )

    def invitation_token(self, hire: TestHire, number: int) -> str:
        """Return the link token of the `number`-th (1-based) e-mail to the hire."""
        return Phone.from_email(self.stack.api_url, self.demo.invitation(hire.personal_email, number)).token

    # ------------------------------------------------------------ acting
    def start(self, hire: TestHire) -> str:
        onboarding_id = self.demo.start_hire(hire.body)
        assert onboarding_id == hire.onboarding_id, onboarding_id
        return onboarding_id

    def verify(
        self, hire: TestHire, number: int, *, selfie: bytes | None = None, card: assets.DemoCard | None = None
    ) -> dict[str, Any]:
        """Verify as the hire with the link of e-mail `number`; return the submit response body.

        The body also carries the hire's `Phone` under `_phone`.
        """
        card = card or hire.card
        return self.demo.verify(
            hire.personal_email,
            number,
            assets.id_card_front(card),
            assets.id_card_back(card),
            selfie if selfie is not None else hire.selfie(),
        )

    def deliver(self, onboarding_id: str, status: str = "delivered") -> str:
        """Report the laptop's outcome once the workflow waits for it; return the shipment id."""
        record = self.wait_for_state(onboarding_id, "SHIPPED")
        shipment_id = str(record["shipment_id"])
        # The callback returns 409 until Wait For Delivery has registered its task token.
        wait_until(
            f"the {status} callback of {shipment_id} to be accepted",
            lambda: True if self.fulfillment.deliver(shipment_id, status) else None,
            timeout=STEP_TIMEOUT,
            explain=lambda: self.history(onboarding_id),
        )
        return shipment_id

    def review(self, onboarding_id: str, *, approve: bool, reason: str) -> requests.Response:
        return self.demo.reviewer.decide(onboarding_id, approve=approve, reason=reason)

    # ------------------------------------------------------------ the end
    def observe(self, hire: TestHire, *, wait: bool = True, **notes: Any) -> Observed:
        """Wait for the execution to end and collect every side effect of the onboarding."""
        onboarding_id = hire.onboarding_id
        execution = (
            self.wait_for_end(onboarding_id)
            if wait
            else self.stack.client("stepfunctions").describe_execution(
                executionArn=self.execution_arn(onboarding_id)
            )
        )
        record = self.record(onboarding_id)
        events = self.bus_events(onboarding_id)
        orders = self.fulfillment.orders_for(onboarding_id)
        shipment_ids = {order["shipment_id"] for order in orders}
        return Observed(
            hire=hire,
            execution=execution,
            path=self.path(onboarding_id),
            record=record,
            audit=self.audit(onboarding_id),
            effects=self.effects(onboarding_id),
            alerts=[e["detail"] for e in events if e.get("detail-type") == "SecurityAlert"],
            sns_alerts=[m for m in self.security_alerts.drain() if m.get("onboarding_id") == onboarding_id],
            hr_notices=[m for m in self.hr_notifications.drain() if m.get("onboarding_id") == onboarding_id],
            bus_events=[str(e.get("detail-type")) for e in events],
            orders=orders,
            cancellations=[s for s in self.fulfillment.cancellations if s in shipment_ids],
            emails=self.emails_to(hire.personal_email),
            evidence_objects=self.evidence_objects(onboarding_id),
            groups=self.groups(record.get("idp_user_id")),
            notes=notes,
        )


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


@contextmanager
def workflow_stack(stack_name: str, parameters: dict[str, str]) -> Iterator[WorkflowStack]:
    """Start template.yaml with the default fakes, seed it as `make demo` does, and stop it after."""
    services = default_services()
    fulfillment = next(s for s in services if isinstance(s, FakeFulfillment))
    with LocalStack(parameter_overrides=parameters, services=services, stack_name=stack_name) as stack:
        seed(stack)
        yield WorkflowStack(stack, fulfillment)


def post_verify_session(api_url: str, token: str) -> requests.Response:
    """Open a verification link as the page does (POST /verify/session)."""
    return requests.post(
        f"{api_url}/verify/session",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
    )
