"""Password and MFA recovery on the local stack: the real routes, verification API and state machine.

The session's `local_stack` fixture uses IAM Identity Center, whose API cannot reset a
password or MFA factors, so this module starts template.yaml on the local runtime with the
default fakes plus FakeOkta, as the re-verification tests do. People are stored ACTIVE
directly, as a finished onboarding leaves them: the HR record, the access item and an
activated Okta user. Each person then verifies through the verification API with the local
engine and the specimen card and selfies of `hireproof.local.assets`.

The risk hold is 3 seconds, so the Wait state, the LOW event and the end of the workflow run
within each test. Every request comes from 127.0.0.1, so the per-source limit is raised and
the per-person limit is tested on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from hireproof.demo.actors import Phone
from hireproof.identity import StagedUser
from hireproof.identity.okta import OktaProvider
from hireproof.local.defaults import DEMO_PARAMETERS, default_services, seed, store_active_person
from hireproof.local.description import run_operator_command, write_description
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.fakes.okta import FakeOkta
from hireproof.local.runtime import ACCOUNT_ID
from hireproof.local.stack import LocalStack, format_history
from hireproof.models import Address, Hire, HireSource, PersonName
from onboarding_support import (
    DATE_OF_BIRTH,
    EXECUTION_TIMEOUT,
    HTTP_TIMEOUT,
    STEP_TIMEOUT,
    HandlerLogCapture,
    TestHire,
    WorkflowStack,
    new_hire,
    wait_until,
)

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

PERSON_LIMIT = 3
PARAMETERS = {
    **DEMO_PARAMETERS,
    "IdentityStoreId": "d-9100000020",
    # Longer than any queue of invocations here, so no reminder replaces a link mid-verification.
    "VerificationHeartbeatSeconds": "60",
    "RecoveryRiskHoldSeconds": "3",
    "StartsPerPersonPerHour": str(PERSON_LIMIT),
    "StartsPerSourcePerHour": "1000",
}
MANAGER_EMAIL = "grace.manager@example.com"
UNKNOWN_EMAIL = "nobody.at.all@example.com"
# The IAM identity the local HTTP API reports for requests signed with the local credentials.
LOCAL_AGENT = f"arn:aws:iam::{ACCOUNT_ID}:user/hireproof-local"
RESET_STATES = [
    "Wait For Verification",
    "Decide",
    "Record Verification",
    "Wait For Reset Choice",
    "Perform Reset",
    "Notify And Raise Risk",
    "Hold Raised Risk",
    "Lower Risk",
    "Complete Recovery",
]


# ================================================================= the stack
@dataclass
class Person:
    hire: TestHire
    person_id: str
    idp_user_id: str


@dataclass
class RecoveryStack:
    """The started stack, its Okta fake, and what the tests read from it."""

    stack: LocalStack
    ws: WorkflowStack
    okta: FakeOkta
    provider: OktaProvider
    logs: HandlerLogCapture
    people: list[Person] = field(default_factory=list)

    @property
    def api(self) -> str:
        return self.stack.api_url

    # ------------------------------------------------------------ setting up people
    def person(self, number: int, given: str, family: str, *, factors: tuple[str, ...] = ()) -> Person:
        """Store an ACTIVE person with an activated Okta user, as a finished onboarding leaves them."""
        hire = new_hire(number, given, family, manager_email=MANAGER_EMAIL)
        body = hire.body
        record = Hire(
            source=HireSource.GENERIC,
            source_employee_id=body["employee_id"],
            source_event_id=f"evt-{body['employee_id']}",
            legal_name=PersonName(given=given, family=family),
            personal_email=body["personal_email"],
            work_email=body["work_email"],
            date_of_birth=DATE_OF_BIRTH,
            start_date=dt.date.today() - dt.timedelta(days=30),
            home_address=Address(**body["home_address"]),
            manager_email=MANAGER_EMAIL,
            department="Engineering",
        )
        idp_user_id = self.provider.stage_user(StagedUser.from_hire(record))
        self.provider.activate_user(idp_user_id)
        activation = self.provider.issue_initial_credential(idp_user_id)
        self.okta.complete_activation(activation.value.get_secret_value().rsplit("/", 1)[-1])
        for factor in factors:
            self.okta.enroll_factor(idp_user_id, factor)
        self.okta.sign_in(idp_user_id)

        store_active_person(self.stack, record, idp_user_id=idp_user_id)
        person = Person(hire, hire.onboarding_id, idp_user_id)
        self.people.append(person)
        return person

    # ------------------------------------------------------------ acting as the person
    def start(self, email: str) -> requests.Response:
        return requests.post(
            f"{self.api}/recovery", data={"email": email}, allow_redirects=False, timeout=HTTP_TIMEOUT
        )

    def start_token(self, email: str) -> str:
        response = self.start(email)
        assert response.status_code == 303, response.text
        return str(response.headers["Location"]).removeprefix("verify#token=")

    def verify(self, token: str, hire: TestHire, *, selfie: bytes | None = None) -> dict[str, Any]:
        """Verify on the page's API with the hire's card; return the submit response body."""
        phone = Phone(self.api, token)
        phone.open_session()
        phone.upload("id_front", hire.front())
        phone.upload("id_back", hire.back())
        phone.upload("selfie", selfie if selfie is not None else hire.selfie())
        # Submit returns 409 until Wait For Verification has registered its task token.
        response = wait_until(
            "a submit after the workflow registered its task token",
            lambda: r if (r := phone.submit()).status_code != 409 else None,
            timeout=STEP_TIMEOUT,
            explain=lambda: "the recovery execution never waited for the verification",
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def choose(self, token: str, kind: str) -> requests.Response:
        return requests.post(
            f"{self.api}/verify/recovery/reset",
            json={"kind": kind},
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        )

    def collect(self, token: str) -> requests.Response:
        phone = Phone(self.api, token)
        return wait_until(
            "the reset credential",
            lambda: r if (r := phone.reveal_credential()).status_code != 409 else None,
            timeout=STEP_TIMEOUT,
            explain=lambda: "GET /verify/credential kept answering 409",
        )

    # ------------------------------------------------------------ reading
    def recoveries(self, person_id: str) -> list[dict[str, Any]]:
        table = self.stack.resource("dynamodb").Table(self.stack.physical_id("RecoveryTable"))
        return [item for item in table.scan()["Items"] if item["person_id"] == person_id]

    def recovery(self, person_id: str) -> dict[str, Any]:
        [item] = self.recoveries(person_id)
        return item

    def execution_arn(self, recovery_id: str) -> str:
        machine = str(self.stack.physical_id("RecoveryStateMachine"))
        return f"{machine.replace(':stateMachine:', ':execution:')}:{recovery_id}"

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.stack.client("stepfunctions")
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.stack.physical_id("RecoveryStateMachine")
        )
        return [execution for page in pages for execution in page["executions"]]

    def wait_for_end(self, recovery_id: str) -> dict[str, Any]:
        return self.stack.wait_for_execution(self.execution_arn(recovery_id), timeout=EXECUTION_TIMEOUT)

    def path(self, recovery_id: str) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.stack.execution_history(self.execution_arn(recovery_id))
            if "stateEnteredEventDetails" in event
        ]

    def history(self, recovery_id: str) -> str:
        return format_history(self.stack.execution_history(self.execution_arn(recovery_id)))

    def resets_at_okta(self, idp_user_id: str) -> int:
        return len(self.okta.calls_to("POST", f"/api/v1/users/{idp_user_id}/lifecycle/reset_password"))

    def alerts(self, person_id: str) -> list[dict[str, Any]]:
        return [m for m in self.ws.security_alerts.drain() if m.get("onboarding_id") == person_id]

    def access(self, person_id: str) -> dict[str, Any]:
        table = self.stack.resource("dynamodb").Table(self.stack.physical_id("OnboardingTable"))
        return dict(table.get_item(Key={"pk": person_id, "sk": "ACCESS"}, ConsistentRead=True)["Item"])

    def set_decided_at(self, session_id: str, decided_at: int) -> None:
        table = self.stack.resource("dynamodb").Table(self.stack.physical_id("VerificationTable"))
        table.update_item(
            Key={"session_id": session_id},
            UpdateExpression="SET decided_at = :t",
            ExpressionAttributeValues={":t": decided_at},
        )


@pytest.fixture(scope="module")
def rs() -> Iterator[RecoveryStack]:
    okta = FakeOkta()
    services = [*default_services(), okta]
    fulfillment = next(s for s in services if isinstance(s, FakeFulfillment))
    logs = HandlerLogCapture()
    logging.getLogger().addHandler(logs)
    try:
        with LocalStack(
            parameter_overrides=PARAMETERS, services=services, stack_name="hireproof-wf-recovery"
        ) as stack:
            seed(stack)
            secret = okta.secret_value()
            provider = OktaProvider(
                org_url=okta.base_url,
                client_id=secret["client_id"],
                private_key=secret["private_key"],
                key_id=secret["key_id"],
                verify=okta.ca_bundle_path,
            )
            yield RecoveryStack(stack, WorkflowStack(stack, fulfillment), okta, provider, logs)
    finally:
        logging.getLogger().removeHandler(logs)


# ================================================================= self-service
@dataclass
class SelfServiceReset:
    person: Person
    token: str
    decision: dict[str, Any]
    first_choice: requests.Response
    second_choice: requests.Response
    credential: requests.Response
    second_reveal: requests.Response
    recovery: dict[str, Any]
    execution: dict[str, Any]
    path: list[str]
    audit: list[dict[str, Any]]


@pytest.fixture(scope="module")
def self_service(rs: RecoveryStack) -> SelfServiceReset:
    """One person resets their password at /recovery, from the e-mail form to the end of the hold."""
    person = rs.person(901, "Grace", "Hopper")
    token = rs.start_token(str(person.hire.body["work_email"]))
    decision = rs.verify(token, person.hire)
    first = rs.choose(token, "password")
    second = rs.choose(token, "mfa")
    credential = rs.collect(token)
    second_reveal = Phone(rs.api, token).reveal_credential()
    recovery_id = rs.recovery(person.person_id)["recovery_id"]
    execution = rs.wait_for_end(recovery_id)
    rs.stack.wait_for_deliveries(timeout=STEP_TIMEOUT)
    return SelfServiceReset(
        person=person,
        token=token,
        decision=decision,
        first_choice=first,
        second_choice=second,
        credential=credential,
        second_reveal=second_reveal,
        recovery=rs.recovery(person.person_id),
        execution=execution,
        path=rs.path(recovery_id),
        audit=rs.ws.audit(person.person_id),
    )


def test_self_service_password_reset_end_to_end(rs: RecoveryStack, self_service: SelfServiceReset) -> None:
    person = self_service.person
    recovery_id = self_service.recovery["recovery_id"]

    assert self_service.decision["decision"] == "PASSED", self_service.decision
    assert self_service.decision["next_step"] == "recovery_choice"
    assert self_service.first_choice.status_code == 202, self_service.first_choice.text
    assert self_service.first_choice.json()["credential_path"] == "verify/credential"
    assert self_service.credential.status_code == 200, self_service.credential.text
    assert self_service.credential.json()["kind"] == "password_reset_link"
    assert self_service.second_reveal.status_code == 410
    assert self_service.execution["status"] == "SUCCEEDED", rs.history(recovery_id)
    assert self_service.path == RESET_STATES
    assert self_service.recovery["status"] == "COMPLETED"
    assert self_service.recovery["reset_kind"] == "password"
    assert rs.resets_at_okta(person.idp_user_id) == 1
    assert rs.okta.users[person.idp_user_id]["status"] == "RECOVERY"
    # The person sets a new password through the link and signs in again.
    rs.okta.complete_password_reset(str(self_service.credential.json()["value"]).rsplit("/", 1)[-1])
    rs.okta.sign_in(person.idp_user_id)


def test_second_choice_is_409(rs: RecoveryStack, self_service: SelfServiceReset) -> None:
    assert self_service.second_choice.status_code == 409
    assert self_service.second_choice.json()["error"] == "ResetAlreadyChosenError"
    assert rs.resets_at_okta(self_service.person.idp_user_id) == 1


def test_reset_notifies_manager_security_and_holds_risk(
    rs: RecoveryStack, self_service: SelfServiceReset
) -> None:
    person = self_service.person
    recovery_id = self_service.recovery["recovery_id"]

    notices = [m for m in rs.stack.sent_emails() if MANAGER_EMAIL in m.to]
    alerts = rs.alerts(person.person_id)
    access = rs.access(person.person_id)
    risk = [r for r in self_service.audit if r["action"] == "risk_level_changed"]

    assert len(notices) == 1
    assert "Grace Hopper" in str(notices[0].body)
    assert [a["action"] for a in alerts] == ["credential_reset"]
    assert [(r["outcome"], r["details"]["version"]) for r in risk] == [("MEDIUM", 0), ("LOW", 1)]
    assert risk[0]["details"]["event_time"] == risk[1]["details"]["event_time"]
    assert access["risk_level"] == "LOW"
    assert access["risk_event_id"] == f"{recovery_id}-lower"
    assert access["step_up_required"] is False


def test_audit_records_of_one_reset(self_service: SelfServiceReset) -> None:
    """Print the reset's audit trail from the e-mail form to the end of the risk hold."""
    records = self_service.audit
    print(f"\naudit records of recovery {self_service.recovery['recovery_id']}:")
    for record in records:
        shown = {key: record[key] for key in ("recorded_at", "action", "outcome", "actor", "reasons")}
        shown["details"] = record.get("details", {})
        print(json.dumps(shown, default=str, ensure_ascii=False))

    actions = [record["action"] for record in records]
    # Record Verification and the person's choice race, so recovery_verified is checked apart.
    in_order = [
        "recovery_started",
        "recovery_requested",
        "verification_decided",
        "recovery_reset_chosen",
        "recovery_reset_performed",
        "recovery_notified",
        "recovery_risk_lowered",
        "recovery_closed",
    ]
    assert [action for action in actions if action in in_order] == in_order
    verified = actions.index("recovery_verified")
    assert actions.index("verification_decided") < verified < actions.index("recovery_reset_performed")
    assert "credential_stored" in actions
    assert "credential_revealed" in actions
    credential = str(self_service.credential.json()["value"])
    assert credential not in json.dumps(records, default=str)
    assert str(self_service.person.hire.body["work_email"]) not in json.dumps(records, default=str)


def test_duplicate_reset_step_resets_once(rs: RecoveryStack, self_service: SelfServiceReset) -> None:
    person = self_service.person
    event = {"recovery_id": self_service.recovery["recovery_id"], "person_id": person.person_id}

    again = rs.stack.invoke("PerformResetFunction", event)

    assert again["performed"] is False
    assert rs.resets_at_okta(person.idp_user_id) == 1


# ================================================================= help desk
def test_help_desk_mfa_reset_through_cli(rs: RecoveryStack, tmp_path: Path) -> None:
    person = rs.person(902, "Katherine", "Johnson", factors=("push", "sms", "token:software:totp"))
    stack_file = write_description(rs.stack, tmp_path / "local-stack.json")

    started = run_operator_command(stack_file, "recovery", "start", "--person", person.person_id, "--json")
    assert started.returncode == 0, started.stderr
    recovery_id = json.loads(started.stdout)["recovery_id"]
    before = run_operator_command(stack_file, "recovery", "status", recovery_id)
    link = wait_until(
        "the recovery link e-mail",
        lambda: next((m for m in rs.stack.sent_emails() if person.hire.personal_email in m.to), None),
        timeout=STEP_TIMEOUT,
        explain=lambda: "no e-mail to the caller's personal address",
    )
    token = Phone.from_email(rs.api, str(link.body)).token
    decision = rs.verify(token, person.hire)
    after = run_operator_command(stack_file, "recovery", "status", recovery_id)
    reset = run_operator_command(stack_file, "recovery", "reset", recovery_id, "--kind", "mfa")
    credential = rs.collect(token)
    execution = rs.wait_for_end(recovery_id)

    assert "not verified" in before.stdout, before.stderr
    assert decision["next_step"] == "recovery_agent"
    assert "verified as Katherine Johnson" in after.stdout, after.stderr
    assert reset.returncode == 0, reset.stderr
    assert credential.status_code == 200, credential.text
    assert rs.okta.factor_types(person.idp_user_id) == []
    assert execution["status"] == "SUCCEEDED", rs.history(recovery_id)
    chosen = [r for r in rs.ws.audit(person.person_id) if r["action"] == "recovery_reset_chosen"]
    assert chosen[0]["actor"] == LOCAL_AGENT
    assert str(credential.json()["value"]) not in after.stdout + reset.stdout


# ================================================================= refusals
def test_impostor_resets_nothing_and_alerts_once(rs: RecoveryStack) -> None:
    person = rs.person(903, "Dorothy", "Vaughan")
    token = rs.start_token(str(person.hire.body["work_email"]))

    decision = rs.verify(token, person.hire, selfie=person.hire.impostor_selfie())
    choice = rs.choose(token, "password")
    recovery_id = rs.recovery(person.person_id)["recovery_id"]
    execution = rs.wait_for_end(recovery_id)

    assert decision["decision"] == "FAILED"
    assert decision["reasons"] == []
    assert choice.status_code == 409
    assert execution["status"] == "SUCCEEDED", rs.history(recovery_id)
    assert rs.path(recovery_id)[-1] == "Reject Recovery"
    assert rs.recovery(person.person_id)["status"] == "FAILED"
    assert [a["action"] for a in rs.alerts(person.person_id)] == ["recovery_verification_failed"]
    assert rs.resets_at_okta(person.idp_user_id) == 0
    rs.okta.sign_in(person.idp_user_id)


def test_unknown_email_gets_decoy_without_execution(rs: RecoveryStack) -> None:
    known = rs.person(904, "Mary", "Jackson")
    executions_before = len(rs.executions())
    known_response = rs.start(str(known.hire.body["work_email"]))
    executions_after_known = len(rs.executions())

    decoy_response = rs.start(UNKNOWN_EMAIL)
    token = str(decoy_response.headers["Location"]).removeprefix("verify#token=")
    decision = rs.verify(token, known.hire)
    choice = rs.choose(token, "password")

    assert decoy_response.status_code == known_response.status_code == 303
    assert sorted(decoy_response.headers) == sorted(known_response.headers)
    assert executions_after_known == executions_before + 1
    assert len(rs.executions()) == executions_after_known
    assert decision["decision"] == "FAILED"
    assert choice.status_code == 409
    assert rs.resets_at_okta(known.idp_user_id) == 0


def test_old_verification_is_rejected(rs: RecoveryStack) -> None:
    person = rs.person(905, "Annie", "Easley")
    token = rs.start_token(str(person.hire.body["work_email"]))
    decision = rs.verify(token, person.hire)
    recovery = rs.recovery(person.person_id)
    # As if the person came back six minutes after passing; the limit is 300 seconds.
    rs.set_decided_at(recovery["session_id"], int(dt.datetime.now(dt.UTC).timestamp()) - 360)

    choice = rs.choose(token, "password")

    assert decision["decision"] == "PASSED"
    assert choice.status_code == 410
    assert choice.json()["error"] == "VerificationTooOldError"
    assert rs.recovery(person.person_id)["status"] in ("STARTED", "VERIFIED")
    assert rs.resets_at_okta(person.idp_user_id) == 0


def test_provider_rejection_ends_in_error(rs: RecoveryStack) -> None:
    person = rs.person(906, "Christine", "Darden")
    rs.okta.inject_fault(
        status=403,
        body={
            "errorCode": "E0000006",
            "errorSummary": "You do not have permission to perform the requested action",
        },
        path_prefix=f"/api/v1/users/{person.idp_user_id}/lifecycle/reset_password",
        times=10,
    )
    token = rs.start_token(str(person.hire.body["work_email"]))
    rs.verify(token, person.hire)

    choice = rs.choose(token, "password")
    recovery_id = rs.recovery(person.person_id)["recovery_id"]
    execution = rs.wait_for_end(recovery_id)
    credential = Phone(rs.api, token).reveal_credential()

    assert choice.status_code == 202, choice.text
    assert execution["status"] == "FAILED", rs.history(recovery_id)
    assert rs.path(recovery_id)[-2:] == ["Handle System Error", "Recovery Errored"]
    recovery = rs.recovery(person.person_id)
    assert recovery["status"] == "ERROR"
    assert recovery["close_reasons"] == ["system_error_IdentityProviderError"]
    assert [a["action"] for a in rs.alerts(person.person_id)] == ["recovery_error"]
    # A final 404, not the 409 that keeps the page polling: no reset is coming.
    assert credential.status_code == 404
    assert rs.access(person.person_id)["risk_level"] == "LOW"


def test_too_many_starts_are_429(rs: RecoveryStack) -> None:
    email = "flood.of.requests@example.com"

    statuses = [rs.start(email).status_code for _ in range(PERSON_LIMIT)]
    limited = rs.start(email)

    assert statuses == [303] * PERSON_LIMIT
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "<form" in limited.text


def test_handler_logs_contain_no_personal_data(rs: RecoveryStack, self_service: SelfServiceReset) -> None:
    lines = rs.logs.snapshot()
    values = [value for person in rs.people for value in person.hire.personal_data]
    values += [UNKNOWN_EMAIL, MANAGER_EMAIL, str(self_service.credential.json()["value"])]
    # Whole words only: a short name could also occur inside random request ids.
    patterns = [
        (value, re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", re.IGNORECASE))
        for value in values
    ]
    leaks = [(value, line[:300]) for line in lines for value, pattern in patterns if pattern.search(line)]

    assert lines, "no handler log line was captured"
    assert not leaks, f"{len(leaks)} log lines carry personal data, first: {leaks[0]}"
