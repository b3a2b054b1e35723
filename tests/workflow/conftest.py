"""Workflow test fixtures: template.yaml on the local stack, and the runtime's own fixture stack.

Both stacks share the process-wide moto server, which the first of them resets. A workflow test that
starts its own moto server in this process shares moto's backends with these stacks, so tests should
use these fixtures instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from hireproof.local.stack import LocalStack, default_services, seed_defaults

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "local_runtime" / "template.yaml"

T = TypeVar("T")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """template.yaml on the local runtime, with the default fake external systems and seed data."""
    with LocalStack(services=default_services()) as stack:
        seed_defaults(stack)
        yield stack


@pytest.fixture(scope="session")
def fixture_stack() -> Iterator[LocalStack]:
    """The local runtime's own small template (tests/workflow/fixtures/local_runtime)."""
    stack = LocalStack(FIXTURE_TEMPLATE, {"Stage": "local"}, stack_name="hireproof-fixture")
    with stack:
        yield stack


def _wait_until(check: Callable[[], T | None], *, timeout: float, describe: Callable[[], str]) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"not reached within {timeout} s: {describe()}")
        time.sleep(0.1)


@pytest.fixture
def wait_until() -> Callable[..., object]:
    """Return a poller: wait_until(check, timeout=s, describe=callable) returns check()'s value.

    It fails the test with `describe()` (for instance an execution history) when `check` has not
    returned a truthy value after `timeout` seconds.
    """
    return _wait_until
