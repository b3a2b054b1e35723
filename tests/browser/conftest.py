"""Browser test fixtures: Debian's Chromium with a fake camera, and the local stack with the page.

Every test is skipped, with the Debian package names in the reason, when /usr/bin/chromium
is missing. Playwright drives that Chromium; `playwright install` is never run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hireproof.demo.actors import HrSystem
from hireproof.local.stack import LocalStack, default_services, seed_defaults

CHROMIUM = Path("/usr/bin/chromium")
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: install Debian's packages with `apt-get install chromium chromium-driver`"
)
ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "browser"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def page_template() -> Path:
    """Return the template the browser tests deploy: the repository's own."""
    return ROOT / "template.yaml"


@pytest.fixture(scope="session")
def template_path() -> Path:
    """The template that a test module's own stack deploys, the same as the page stack's."""
    return page_template()


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(MISSING_CHROMIUM)
    return CHROMIUM


@pytest.fixture(scope="session")
def page_stack() -> Iterator[LocalStack]:
    """The local stack with the default fakes, seed data and the verification page function."""
    with LocalStack(
        template_path=page_template(), services=default_services(), stack_name="hireproof-browser"
    ) as stack:
        seed_defaults(stack)
        yield stack


@pytest.fixture(scope="module")
def rekognition_stack(page_stack: LocalStack) -> Iterator[LocalStack]:
    """A second stack whose verification engine is Rekognition, for the live face check step.

    No request in these tests reaches Rekognition, which moto does not emulate.
    """
    stack = LocalStack(
        template_path=page_template(),
        parameter_overrides={"VerificationEngine": "rekognition"},
        stack_name="hireproof-browser-rekognition",
    )
    with stack:
        yield stack


def hr_system_of(stack: LocalStack) -> HrSystem:
    """Return the generic-webhook HR system of a stack, with the stack's generated signing key."""
    secret_arn = stack.physical_id("HrWebhookSecret")
    secret = stack.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return HrSystem(api_url=stack.api_url, secret=json.loads(secret)["generic"])


@pytest.fixture(scope="session")
def hr_system(page_stack: LocalStack) -> HrSystem:
    return hr_system_of(page_stack)


@pytest.fixture(scope="module")
def rekognition_hr_system(rekognition_stack: LocalStack) -> HrSystem:
    return hr_system_of(rekognition_stack)


@pytest.fixture(scope="session")
def playwright_driver(chromium: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in .venv")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch_chromium(playwright_driver: Any, chromium: Path) -> Iterator[Callable[[Path | None], Any]]:
    """Return launch(camera_file): Chromium whose camera plays that Y4M file (or a test pattern).

    The camera file is per browser process, so each test launches its own Chromium.
    """
    browsers: list[Any] = []

    def launch(camera_file: Path | None = None) -> Any:
        arguments = list(CHROMIUM_ARGS)
        if camera_file is not None:
            arguments.append(f"--use-file-for-fake-video-capture={camera_file}")
        browser = playwright_driver.chromium.launch(
            executable_path=str(chromium), args=arguments, headless=True
        )
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture
def camera_file(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A path for this test's fake camera video under build/browser/, removed after the test."""
    path = BUILD / f"camera-{request.node.name}.y4m"
    yield path
    # Each video is about 33 MB, and the screenshots are what a person looks at afterwards.
    if path.exists() and not os.environ.get("KEEP_FAKE_CAMERA"):
        path.unlink()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
