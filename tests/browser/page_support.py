"""What the browser tests do as the hire and as HR: start a hire, read the link, use the page.

Sign-in and recovery tests need a person whose onboarding has finished; `store_active_person`
writes one directly.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import Page

from fake_camera import FakeCamera
from hireproof.demo.actors import HrSystem
from hireproof.demo.scenarios import hire_body, home_of
from hireproof.hr.mapping import hire_from_generic
from hireproof.local import assets
from hireproof.local.stack import LocalStack
from hireproof.models import Hire

_LINK = re.compile(r"(https?://\S+/verify#token=[A-Za-z0-9_\-]+)")
EMAIL_TIMEOUT = 60.0
# The local engine decides in about two seconds, and the workflow needs a few more to
# register its task token and to issue the credential.
DECISION_TIMEOUT_MS = 90_000
CAPTURE_TIMEOUT = 40.0

# A 16x9 grey thumbnail of an element (the live preview or the photo under review).
_SIGNATURE_JS = """(selector) => {
  const element = document.querySelector(selector);
  const canvas = document.createElement("canvas");
  canvas.width = 16;
  canvas.height = 9;
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(element, 0, 0, 16, 9);
  const data = context.getImageData(0, 0, 16, 9).data;
  const grey = [];
  for (let i = 0; i < data.length; i += 4) {
    grey.push(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
  }
  return grey;
}"""


@dataclass(frozen=True)
class NewHire:
    """One hire started through the generic HR webhook, with the pictures their phone shows."""

    employee_id: str
    onboarding_id: str
    body: dict[str, Any]
    link: str
    pictures: dict[str, bytes]

    @property
    def session_id(self) -> str:
        return f"{self.onboarding_id}.onboarding"


def unique_selfie(seed: int) -> bytes:
    """Return the genuine person's selfie with its own framing and sensor noise (JPEG).

    The verification rejects an onboarding whose image has exactly the pixels another
    onboarding showed, as a second photograph never would; each test hire's selfie differs.
    """
    image = Image.open(io.BytesIO(assets.genuine_selfie())).convert("RGB")
    inset = 2 + seed % 9
    pixels = np.asarray(image.crop((inset, 0, image.width - inset, image.height)), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, 2.0, pixels.shape)
    noisy = Image.fromarray((pixels + noise).clip(0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def pictures_for(seed: int) -> dict[str, bytes]:
    """Return the ID front, ID back, selfie and a photo without a face, for one test hire.

    The card's number is the hire's own, because a document number seen in another
    onboarding fails the verification.
    """
    card = assets.DemoCard(
        given="Eileen",
        family="Collins",
        date_of_birth=dt.date(1990, 11, 19),
        document_number=f"B{seed % 10**8:08d}",
    )
    return {
        "id_front": assets.id_card_front(card),
        "id_back": assets.id_card_back(card),
        "selfie": unique_selfie(seed),
        "no_face": assets.no_face_photo(),
    }


def invitation_link(stack: LocalStack, personal_email: str) -> str:
    """Wait for the first invitation e-mail to an address and return its verification link."""
    deadline = time.monotonic() + EMAIL_TIMEOUT
    while time.monotonic() < deadline:
        for mail in stack.sent_emails():
            if personal_email in mail["to"]:
                match = _LINK.search(str(mail["body"]))
                assert match is not None, f"the invitation e-mail has no verification link: {mail['subject']}"
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no invitation e-mail to {personal_email} within {EMAIL_TIMEOUT:.0f} s")


def start_hire(stack: LocalStack, hr: HrSystem, *, locale: str = "en") -> NewHire:
    """Post a new hire to the generic webhook and return them once the invitation is sent."""
    suffix = uuid.uuid4().hex[:8]
    employee_id = f"B-{suffix.upper()}"
    body = hire_body(employee_id, "Eileen", "Collins", locale=locale, home_address=home_of(employee_id))
    response = hr.post_hire(body)
    assert response.status_code == 202, f"webhook returned HTTP {response.status_code}: {response.text}"
    return NewHire(
        employee_id=employee_id,
        onboarding_id=str(response.json()["onboarding_id"]),
        body=body,
        link=invitation_link(stack, body["personal_email"]),
        pictures=pictures_for(int(suffix, 16)),
    )


def active_person_body(employee_id: str) -> dict[str, Any]:
    """Return the HR body of an employee who started a month ago, with the name on `pictures_for` cards."""
    start_date = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    return hire_body(
        employee_id, "Eileen", "Collins", home_address=home_of(employee_id), start_date=start_date
    )


def hire_record(body: dict[str, Any]) -> Hire:
    """Return the Hire that the generic webhook would make of `body`."""
    return hire_from_generic(body, event_id=f"browser-{body['employee_id']}")


def element_signature(page: Page, selector: str) -> list[float]:
    signature: list[float] = page.evaluate(_SIGNATURE_JS, selector)
    return signature


def wait_for_segment(page: Page, camera: FakeCamera, segment: str, deadline: float) -> None:
    """Wait until the live preview shows `segment`; raise AssertionError after `deadline`."""
    while camera.segment_of(element_signature(page, "#camera-preview")) != segment:
        if time.monotonic() > deadline:
            raise AssertionError(f"the camera preview never showed {segment!r}")
        page.wait_for_timeout(100)


def take_photo(page: Page, camera: FakeCamera, segment: str) -> None:
    """Press the shutter while the fake camera shows `segment`, until the photo under review is it.

    The segment can change between the check and the click. A photo of the wrong picture
    is then taken again, as a hire would, until CAPTURE_TIMEOUT runs out.
    """
    deadline = time.monotonic() + CAPTURE_TIMEOUT
    while True:
        page.wait_for_selector("#take-photo:not([disabled])", timeout=CAPTURE_TIMEOUT * 1000)
        wait_for_segment(page, camera, segment, deadline)
        page.click("#take-photo")
        page.wait_for_function(
            "() => { const image = document.getElementById('review-image');"
            " return !document.getElementById('review').hidden && image.complete && image.naturalWidth > 0; }"
        )
        if camera.segment_of(element_signature(page, "#review-image")) == segment:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no photo of {segment!r} within {CAPTURE_TIMEOUT:.0f} s")
        page.click("#retake-photo")


def wait_for_state(page: Page, state: str, timeout_ms: float = 30_000) -> None:
    """Wait until the page's body carries data-state=`state` (each screen sets one)."""
    page.wait_for_selector(f'body[data-state="{state}"]', state="attached", timeout=timeout_ms)


class PageErrors:
    """JavaScript errors and console errors of one page, except failed requests the API refused."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx response as "Failed to load resource", and the tests expect some.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.messages.append(f"console error: {message.text}")


def open_phone(browser: Any, link: str, *, locale: str = "en-US", timezone: str = "America/Chicago") -> Page:
    context = browser.new_context(
        viewport={"width": 360, "height": 780},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        timezone_id=timezone,
    )
    page: Page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(link)
    return page


def pass_capture_steps(page: Page, camera: Any, selfie_segment: str = "selfie") -> None:
    """Take and upload the ID front, the ID back and the selfie with the camera."""
    for step, segment in (("id_front", "id_front"), ("id_back", "id_back"), ("selfie", selfie_segment)):
        wait_for_state(page, f"capture-{step}")
        assert page.is_enabled("#choose-file"), f"the file picker is disabled at {step}"
        take_photo(page, camera, segment)
        page.click("#use-photo")


def text_of(page: Page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


ACCESSIBILITY_CHECK = Path(__file__).with_name("accessibility_check.js")


def accessibility_problems(page: Page) -> list[str]:
    """Return what the accessibility check finds on the visible screen (empty when nothing)."""
    problems: list[str] = page.evaluate(ACCESSIBILITY_CHECK.read_text(encoding="utf-8"))
    return problems
