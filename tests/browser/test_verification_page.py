"""The new hire's verification page in Chromium, against the local stack, as a hire uses it.

Each test starts a hire through the generic HR webhook, opens the e-mailed link in a phone-sized
Chromium whose camera plays the hire's pictures, and checks what the page shows. Screenshots go
to build/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from fake_camera import write_fake_camera
from hireproof.demo.scenarios import home_of
from hireproof.i18n import format_address, translate
from hireproof.local.stack import LocalStack
from hireproof.models import Address
from page_support import (
    CAPTURE_TIMEOUT,
    DECISION_TIMEOUT_MS,
    NewHire,
    PageErrors,
    accessibility_problems,
    open_phone,
    pass_capture_steps,
    start_hire,
    take_photo,
    text_of,
    wait_for_segment,
    wait_for_state,
)

pytestmark = pytest.mark.browser
# The local stack stages users in IAM Identity Center, whose first credential is the user name.
USER_NAME_KIND = "page.credential.kind.identity_center_first_sign_in"
# Built by `make page`, which CI does not run.
LIVENESS_BUNDLE = (
    Path(__file__).resolve().parents[2] / "layers/common/hireproof/web/static/liveness/hireproof-liveness.js"
)


def credential_status(stack: LocalStack, link: str) -> int:
    token = link.split("#token=", 1)[1]
    response = requests.get(
        f"{stack.api_url}/verify/credential", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def test_page_function_serves_page_and_catalogs(page_stack: LocalStack) -> None:
    page = requests.get(f"{page_stack.api_url}/verify", timeout=30)
    catalog = requests.get(f"{page_stack.api_url}/verify/assets/i18n/ja.json", timeout=30)
    outside = requests.get(f"{page_stack.api_url}/verify/assets/..%2F..%2Fapp.py", timeout=30)

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"connect-src 'self' {page_stack.endpoint_url}" in page.headers["Content-Security-Policy"]
    assert catalog.json()["messages"]["page.intro.heading"] == translate("page.intro.heading", "ja")
    assert outside.status_code == 404


def test_happy_path_english_shows_credential_once(
    page_stack: LocalStack,
    hr_system: Any,
    launch_chromium: Callable[[Path | None], Any],
    camera_file: Path,
    screenshots: Path,
) -> None:
    hire = start_hire(page_stack, hr_system, locale="en")
    camera = write_fake_camera(camera_file, hire.pictures)
    browser = launch_chromium(camera.path)
    page = open_phone(browser, hire.link)
    errors = PageErrors(page)

    wait_for_state(page, "intro")
    assert page.evaluate("location.hash") == ""
    assert "token" not in page.url
    assert text_of(page, "#intro-heading") == translate("page.intro.heading", "en")
    assert translate("page.privacy.deletion", "en") in text_of(page, "#screen-intro")
    assert text_of(page, "#intro-expires").startswith("This link works until ")
    assert accessibility_problems(page) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "start"

    page.click("#start")
    wait_for_state(page, "capture-id_front")
    assert text_of(page, "#capture-progress") == "Step 1 of 3"
    assert accessibility_problems(page) == []
    pass_capture_steps(page, camera)

    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    page.wait_for_selector('body[data-credential="shown"]', state="attached", timeout=DECISION_TIMEOUT_MS)
    assert text_of(page, "#result-heading") == translate("page.result.passed.heading", "en")
    home = Address.model_validate(home_of(hire.employee_id))
    assert text_of(page, "#result-next") == translate(
        "page.result.ships_to", "en", address=format_address(home, "en")
    )
    assert text_of(page, "#credential-kind") == translate(USER_NAME_KIND, "en")
    shown_value = text_of(page, "#credential-value")
    assert shown_value
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "happy-path-en.png"), full_page=True)

    assert credential_status(page_stack, hire.link) == 410
    page.click("#credential-hide")
    assert text_of(page, "#credential-value") == ""
    assert text_of(page, "#credential-status") == translate("page.credential.hidden", "en")

    again = open_phone(browser, hire.link)
    wait_for_state(again, "already-decided")
    again.wait_for_selector('body[data-credential="already-shown"]', state="attached")
    assert text_of(again, "#credential-status") == translate("api.error.credential_shown", "en")
    assert shown_value not in again.content()
    assert errors.messages == []


def test_retake_hint_after_selfie_without_face(
    page_stack: LocalStack,
    hr_system: Any,
    launch_chromium: Callable[[Path | None], Any],
    camera_file: Path,
    screenshots: Path,
) -> None:
    hire = start_hire(page_stack, hr_system, locale="en")
    camera = write_fake_camera(camera_file, hire.pictures)
    page = open_phone(launch_chromium(camera.path), hire.link)
    errors = PageErrors(page)

    wait_for_state(page, "intro")
    page.click("#start")
    pass_capture_steps(page, camera, selfie_segment="no_face")

    retake_screen = 'body[data-retake="true"][data-state="capture-selfie"]'
    page.wait_for_selector(retake_screen, timeout=DECISION_TIMEOUT_MS)
    assert page.is_visible("#retake-hint")
    assert text_of(page, "#retake-message") == translate("api.retake.no_face_in_selfie", "en")
    attempts = translate("api.retake.attempts_left.other", "en", attempts_left=2)
    assert text_of(page, "#retake-attempts") == attempts
    assert text_of(page, "#capture-heading") == translate("api.step.selfie", "en")
    page.wait_for_selector("#take-photo:not([disabled])")
    assert accessibility_problems(page) == []
    wait_for_segment(page, camera, "selfie", time.monotonic() + CAPTURE_TIMEOUT)
    page.screenshot(path=str(screenshots / "retake-hint.png"), full_page=True)

    take_photo(page, camera, "selfie")
    page.click("#use-photo")
    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    page.wait_for_selector('body[data-credential="shown"]', state="attached", timeout=DECISION_TIMEOUT_MS)
    assert errors.messages == []


def _expire_link(stack: LocalStack, hire: NewHire) -> None:
    """Move the link's expiry into the past, as if the hire opened it a day late."""
    table = stack.resource("dynamodb").Table(stack.physical_id("VerificationTable"))
    table.update_item(
        Key={"session_id": hire.session_id},
        UpdateExpression="SET token_expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 60},
    )


def test_expired_link_explains_next_steps(
    page_stack: LocalStack,
    hr_system: Any,
    launch_chromium: Callable[[Path | None], Any],
    screenshots: Path,
) -> None:
    hire = start_hire(page_stack, hr_system, locale="en")
    _expire_link(page_stack, hire)
    page = open_phone(launch_chromium(None), hire.link)
    errors = PageErrors(page)

    wait_for_state(page, "link-expired")
    assert text_of(page, "#link-heading") == translate("page.link.expired.heading", "en")
    assert text_of(page, "#link-message") == translate("api.error.invitation_expired", "en")
    assert translate("page.link.next.newest_email", "en") in text_of(page, "#screen-link")
    assert translate("page.link.next.contact_hr", "en") in text_of(page, "#screen-link")
    assert page.evaluate("location.hash") == ""
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "expired-link.png"), full_page=True)
    assert errors.messages == []


def test_link_without_token_asks_for_email(
    page_stack: LocalStack, launch_chromium: Callable[[Path | None], Any]
) -> None:
    page = open_phone(launch_chromium(None), f"{page_stack.api_url}/verify")

    wait_for_state(page, "link-missing")
    assert text_of(page, "#link-heading") == translate("page.link.missing.heading", "en")
    assert text_of(page, "#link-message") == translate("api.error.invitation_missing", "en")


def test_japanese_hire_with_file_picker(
    page_stack: LocalStack,
    hr_system: Any,
    launch_chromium: Callable[[Path | None], Any],
    screenshots: Path,
) -> None:
    hire = start_hire(page_stack, hr_system, locale="ja")
    # The browser prefers English: the session's locale must win.
    page = open_phone(launch_chromium(None), "about:blank", locale="en-US", timezone="Asia/Tokyo")
    errors = PageErrors(page)
    # A phone whose camera the hire blocked: the page offers the file picker instead.
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('blocked by the test', 'NotAllowedError'));"
    )
    page.goto(hire.link)

    wait_for_state(page, "intro")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert text_of(page, "#intro-heading") == translate("page.intro.heading", "ja")
    assert page.title() == translate("page.title", "ja")
    expires = text_of(page, "#intro-expires")
    assert expires.startswith(translate("page.intro.expires", "ja", date=""))
    for unit in ("年", "月", "日"):
        assert unit in expires

    page.select_option("#language", "en")
    expect(page.locator("#intro-heading")).to_have_text(translate("page.intro.heading", "en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#language", "ja")
    expect(page.locator("#intro-heading")).to_have_text(translate("page.intro.heading", "ja"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    page.click("#start")
    for step in ("id_front", "id_back", "selfie"):
        wait_for_state(page, f"capture-{step}")
        page.wait_for_selector("#take-photo", state="hidden")
        assert text_of(page, "#camera-status") == translate("page.camera.denied", "ja")
        capture = "user" if step == "selfie" else "environment"
        assert page.get_attribute("#file-input", "capture") == capture
        page.set_input_files(
            "#file-input",
            files=[{"name": f"{step}.jpg", "mimeType": "image/jpeg", "buffer": hire.pictures[step]}],
        )
        wait_for_state(page, f"review-{step}")
        page.click("#use-photo")

    wait_for_state(page, "result-passed", DECISION_TIMEOUT_MS)
    page.wait_for_selector('body[data-credential="shown"]', state="attached", timeout=DECISION_TIMEOUT_MS)
    assert text_of(page, "#result-heading") == translate("page.result.passed.heading", "ja")
    assert text_of(page, "#result-message") == translate("api.next_step.credential_pending", "ja")
    assert text_of(page, "#credential-kind") == translate(USER_NAME_KIND, "ja")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(screenshots / "happy-path-ja.png"), full_page=True)
    assert errors.messages == []


def test_rekognition_mode_shows_liveness_step(
    rekognition_stack: LocalStack,
    rekognition_hr_system: Any,
    launch_chromium: Callable[[Path | None], Any],
    camera_file: Path,
) -> None:
    hire = start_hire(rekognition_stack, rekognition_hr_system, locale="en")
    camera = write_fake_camera(camera_file, hire.pictures)
    page = open_phone(launch_chromium(camera.path), hire.link)
    errors = PageErrors(page)

    wait_for_state(page, "intro")
    intro = text_of(page, "#intro-steps")
    assert translate("page.intro.step.liveness", "en") in intro
    assert translate("page.intro.step.selfie", "en") not in intro
    page.click("#start")
    for step in ("id_front", "id_back"):
        wait_for_state(page, f"capture-{step}")
        take_photo(page, camera, step)
        page.click("#use-photo")

    wait_for_state(page, "liveness-unavailable")
    assert text_of(page, "#liveness-progress") == "Step 3 of 3"
    assert text_of(page, "#liveness-heading") == translate("api.step.liveness", "en")
    assert text_of(page, "#liveness-status") == translate("page.liveness.unavailable", "en")
    # With the bundle built, the detector loads under the page's policy, and the step stops
    # only because moto has no Face Liveness sessions. Without it, the script load fails.
    registered = page.evaluate("typeof window.HireProofLiveness")
    assert registered == ("object" if LIVENESS_BUNDLE.is_file() else "undefined")
    assert errors.messages == []
