"""Password and MFA recovery in Chromium: the e-mail form, the verification page, the reset.

The page stack uses IAM Identity Center, whose API cannot reset a password, so this module starts
template.yaml once more with the default fakes plus FakeOkta, as the recovery workflow tests do.
Each person is stored ACTIVE directly, as a finished onboarding leaves them: the HR record, the
access item and an activated Okta user. The person then opens /recovery and types the work
e-mail, or opens the link of a help desk recovery, and verifies with the specimen card and
selfie of `page_support.pictures_for`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from fake_camera import write_fake_camera
from hireproof.i18n import translate
from hireproof.identity import StagedUser
from hireproof.identity.okta import OktaProvider
from hireproof.local.defaults import store_active_person
from hireproof.local.description import run_operator_command, write_description
from hireproof.local.fakes.okta import FakeOkta
from hireproof.local.stack import LocalStack, default_services, seed_defaults
from page_support import (
    DECISION_TIMEOUT_MS,
    PageErrors,
    accessibility_problems,
    active_person_body,
    hire_record,
    invitation_link,
    open_phone,
    pass_capture_steps,
    pictures_for,
    text_of,
    wait_for_state,
)

pytestmark = pytest.mark.browser

PARAMETERS = {
    # Groups of this stack stay apart from the page stack's in moto's shared identity store.
    "IdentityStoreId": "d-9100000031",
    # The reset's MEDIUM risk is held this long, so each recovery workflow ends during the run.
    "RecoveryRiskHoldSeconds": "3",
}
# Employee numbers of this module's people, so that their card numbers differ from other tests'.
PERSON_NUMBERS = itertools.count(7_310_001)
HTTP_TIMEOUT = 30
RESET_ROUTE = "**/verify/recovery/reset"


@dataclass(frozen=True)
class Person:
    person_id: str
    work_email: str
    personal_email: str
    idp_user_id: str
    pictures: dict[str, bytes]


@dataclass
class OktaStack:
    """The started stack with the Okta fake, and the Okta API client that sets people up."""

    stack: LocalStack
    okta: FakeOkta
    provider: OktaProvider

    @property
    def api(self) -> str:
        return self.stack.api_url

    def person(self) -> Person:
        """Store an ACTIVE person with an activated, signed-in Okta user."""
        number = next(PERSON_NUMBERS)
        record = hire_record(active_person_body(f"R-{number}"))
        idp_user_id = self.provider.stage_user(StagedUser.from_hire(record))
        self.provider.activate_user(idp_user_id)
        activation = self.provider.issue_initial_credential(idp_user_id)
        self.okta.complete_activation(activation.value.get_secret_value().rsplit("/", 1)[-1])
        self.okta.sign_in(idp_user_id)
        person_id = store_active_person(self.stack, record, idp_user_id=idp_user_id)
        return Person(
            person_id, str(record.work_email), str(record.personal_email), idp_user_id, pictures_for(number)
        )

    def resets_at_okta(self, person: Person) -> int:
        path = f"/api/v1/users/{person.idp_user_id}/lifecycle/reset_password"
        return len(self.okta.calls_to("POST", path))

    def age_decision(self, person: Person, seconds: int) -> None:
        """Move the decision of the person's recovery `seconds` into the past."""
        recoveries = self.stack.resource("dynamodb").Table(self.stack.physical_id("RecoveryTable"))
        [recovery] = [item for item in recoveries.scan()["Items"] if item["person_id"] == person.person_id]
        sessions = self.stack.resource("dynamodb").Table(self.stack.physical_id("VerificationTable"))
        sessions.update_item(
            Key={"session_id": recovery["session_id"]},
            UpdateExpression="SET decided_at = :t",
            ExpressionAttributeValues={":t": int(time.time()) - seconds},
        )


@pytest.fixture(scope="module")
def okta_stack(template_path: Path) -> Iterator[OktaStack]:
    okta = FakeOkta()
    with LocalStack(
        template_path=template_path,
        parameter_overrides=PARAMETERS,
        services=[*default_services(), okta],
        stack_name="hireproof-browser-recovery",
    ) as stack:
        seed_defaults(stack)
        secret = okta.secret_value()
        provider = OktaProvider(
            org_url=okta.base_url,
            client_id=secret["client_id"],
            private_key=secret["private_key"],
            key_id=secret["key_id"],
            verify=okta.ca_bundle_path,
        )
        yield OktaStack(stack, okta, provider)


def start_recovery(page: Any, work_email: str) -> None:
    """Type the work e-mail into the /recovery form and send it, as the person does."""
    page.wait_for_selector("#email")
    page.fill("#email", work_email)
    page.click("#entry-submit")
    wait_for_state(page, "intro")


def upload_with_file_picker(page: Any, pictures: dict[str, bytes]) -> None:
    """Choose each photo with the page's file picker, which is quicker than waiting for the camera."""
    for step in ("id_front", "id_back", "selfie"):
        wait_for_state(page, f"capture-{step}")
        page.set_input_files(
            "#file-input",
            files=[{"name": f"{step}.jpg", "mimeType": "image/jpeg", "buffer": pictures[step]}],
        )
        wait_for_state(page, f"review-{step}")
        page.click("#use-photo")


def test_recovery_password_english(
    okta_stack: OktaStack,
    launch_chromium: Callable[[Path | None], Any],
    camera_file: Path,
    screenshots: Path,
) -> None:
    person = okta_stack.person()
    camera = write_fake_camera(camera_file, person.pictures)
    page = open_phone(launch_chromium(camera.path), f"{okta_stack.api}/recovery")
    errors = PageErrors(page)
    # The page keeps its bearer token in memory only, so the test reads it from the page's requests.
    tokens: list[str] = []

    def keep_token(request: Any) -> None:
        if request.url.endswith("/verify/credential"):
            tokens.append(request.headers["authorization"])

    page.on("request", keep_token)

    assert text_of(page, "#entry-heading") == translate("page.entry.recovery.heading", "en")
    assert accessibility_problems(page) == []
    start_recovery(page, person.work_email)
    assert "token" not in page.url
    assert text_of(page, "#intro-lead") == translate("page.intro.lead.recovery", "en")
    assert text_of(page, "#help") == translate("page.help.it_help_desk", "en")
    page.click("#start")
    pass_capture_steps(page, camera)

    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    page.wait_for_selector('body[data-recovery="choice"]', state="attached")
    assert text_of(page, "#result-message") == translate("api.next_step.recovery_choice", "en")
    assert text_of(page, "#result-next") == translate("page.result.recovery_choice", "en")
    assert text_of(page, "#reset-password") == translate("page.recovery.password.button", "en")
    assert text_of(page, "#reset-mfa") == translate("page.recovery.mfa.button", "en")
    assert page.is_hidden("#credential")
    assert accessibility_problems(page) == []
    assert page.evaluate("document.activeElement.id") == "result-heading"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "reset-password"
    page.keyboard.press("Enter")

    page.wait_for_selector('body[data-credential="shown"]', state="attached", timeout=DECISION_TIMEOUT_MS)
    assert text_of(page, "#recovery-status") == translate("page.recovery.chosen.password", "en")
    assert page.is_disabled("#reset-password")
    assert page.is_disabled("#reset-mfa")
    assert text_of(page, "#credential-kind") == translate("page.credential.kind.password_reset_link", "en")
    assert text_of(page, "#credential-help") == translate(
        "page.credential.help.reset.password_reset_link", "en"
    )
    reset_link = page.get_attribute("#credential-value a", "href")
    assert reset_link is not None
    assert reset_link.startswith(f"{okta_stack.okta.base_url}/signin/reset-password/")
    assert page.evaluate("document.activeElement.id") == "credential-heading"
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "recovery-password-en.png"), full_page=True)

    assert tokens
    again = requests.get(
        f"{okta_stack.api}/verify/credential", headers={"Authorization": tokens[-1]}, timeout=HTTP_TIMEOUT
    )
    assert again.status_code == 410
    assert okta_stack.resets_at_okta(person) == 1
    assert okta_stack.okta.users[person.idp_user_id]["status"] == "RECOVERY"
    page.click("#credential-hide")
    assert text_of(page, "#credential-value") == ""
    assert reset_link not in page.content()
    assert errors.messages == []


def test_recovery_choice_japanese_refusals(
    okta_stack: OktaStack,
    launch_chromium: Callable[[Path | None], Any],
    screenshots: Path,
) -> None:
    person = okta_stack.person()
    # Chromium sends Accept-Language ja-JP, so the e-mail form and then the page are Japanese.
    page = open_phone(
        launch_chromium(None), f"{okta_stack.api}/recovery", locale="ja-JP", timezone="Asia/Tokyo"
    )
    errors = PageErrors(page)

    assert page.evaluate("document.documentElement.lang") == "ja"
    assert text_of(page, "#entry-heading") == translate("page.entry.recovery.heading", "ja")
    start_recovery(page, person.work_email)
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert text_of(page, "#intro-lead") == translate("page.intro.lead.recovery", "ja")
    page.click("#start")
    upload_with_file_picker(page, person.pictures)

    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    page.wait_for_selector('body[data-recovery="choice"]', state="attached")
    assert text_of(page, "#result-heading") == translate("page.result.passed.heading", "ja")
    assert text_of(page, "#result-message") == translate("api.next_step.recovery_choice", "ja")
    assert text_of(page, "#reset-password") == translate("page.recovery.password.button", "ja")
    assert text_of(page, "#reset-mfa-help") == translate("page.recovery.mfa.help", "ja")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "recovery-choice-ja.png"), full_page=True)

    # The Okta fake makes both kinds of reset, so a route in the browser returns the API's 501
    # body, as the API does for a provider that cannot reset MFA factors.
    not_supported = {
        "error": "ResetNotSupportedError",
        "message": translate("api.error.recovery_not_supported", "ja", kind="MFA"),
        "field": "kind",
    }
    page.route(RESET_ROUTE, lambda route: route.fulfill(status=501, json=not_supported))
    page.click("#reset-mfa")
    page.wait_for_selector('body[data-recovery="not-supported"]', state="attached")
    page.unroute(RESET_ROUTE)
    assert text_of(page, "#recovery-error-message") == translate("page.recovery.error.not_supported", "ja")
    assert page.is_disabled("#reset-mfa")
    assert page.is_enabled("#reset-password")
    assert page.evaluate("document.activeElement.id") == "reset-password"

    # A decision older than the maximum age (300 s by default) authorizes nothing: the API returns 410.
    okta_stack.age_decision(person, seconds=3600)
    page.click("#reset-password")
    page.wait_for_selector('body[data-recovery="too-old"]', state="attached")
    assert text_of(page, "#recovery-error-message") == translate("page.recovery.error.too_old", "ja")
    assert page.is_disabled("#reset-password")
    assert page.is_disabled("#reset-mfa")
    assert page.is_hidden("#credential")
    assert page.evaluate("document.activeElement.id") == "recovery-choice-heading"
    assert accessibility_problems(page) == []
    assert okta_stack.resets_at_okta(person) == 0

    page.click("#recovery-restart-link")
    page.wait_for_selector("#entry-heading")
    assert page.url == f"{okta_stack.api}/recovery?lang=ja"
    assert text_of(page, "#entry-heading") == translate("page.entry.recovery.heading", "ja")
    assert errors.messages == []


def test_recovery_help_desk_mfa_english(
    okta_stack: OktaStack,
    launch_chromium: Callable[[Path | None], Any],
    tmp_path: Path,
) -> None:
    person = okta_stack.person()
    okta_stack.okta.enroll_factor(person.idp_user_id, "push")
    stack_file = write_description(okta_stack.stack, tmp_path / "local-stack.json")
    started = run_operator_command(stack_file, "recovery", "start", "--person", person.person_id, "--json")
    assert started.returncode == 0, started.stderr
    recovery_id = json.loads(started.stdout)["recovery_id"]
    page = open_phone(launch_chromium(None), invitation_link(okta_stack.stack, person.personal_email))
    errors = PageErrors(page)

    wait_for_state(page, "intro")
    assert text_of(page, "#intro-lead") == translate("page.intro.lead.recovery", "en")
    page.click("#start")
    upload_with_file_picker(page, person.pictures)

    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    assert text_of(page, "#result-message") == translate("api.next_step.recovery_agent", "en")
    assert text_of(page, "#result-next") == translate("page.result.recovery_agent", "en")
    assert page.is_hidden("#recovery-choice")
    assert text_of(page, "#credential-status") == translate("page.credential.reset.waiting_agent", "en")
    assert accessibility_problems(page) == []
    # The page keeps polling while the agent decides, because the API returns 409 until the reset is stored.
    page.wait_for_timeout(3000)
    assert text_of(page, "#credential-status") == translate("page.credential.reset.waiting_agent", "en")
    reset = run_operator_command(stack_file, "recovery", "reset", recovery_id, "--kind", "mfa")
    assert reset.returncode == 0, reset.stderr

    page.wait_for_selector('body[data-credential="shown"]', state="attached", timeout=DECISION_TIMEOUT_MS)
    assert text_of(page, "#credential-kind") == translate("page.credential.kind.password_reset_link", "en")
    assert text_of(page, "#credential-help") == translate(
        "page.credential.help.reset.password_reset_link", "en"
    )
    assert okta_stack.okta.factor_types(person.idp_user_id) == []
    assert accessibility_problems(page) == []
    assert errors.messages == []
