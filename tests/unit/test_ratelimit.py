"""hireproof.ratelimit on moto: fixed-window counters in the verification table, and their HTTP 429."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from botocore.exceptions import ClientError

from hireproof import http_errors, ratelimit
from hireproof.errors import ConflictError, RateLimitedError
from sessions_support import LambdaContext, load_event, sessions_stack
from template_resources import StackResources

WINDOW = 3600
# 2027-01-04T09:00:00Z, the start of an hour, so offsets into the window are easy to read.
WINDOW_START = 1_798_966_800


@pytest.fixture
def stack() -> Iterator[StackResources]:
    with sessions_stack() as stack:
        yield stack


def _counter(stack: StackResources, scope: str, window_start: int) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(stack.name("VerificationTable"))
    item: dict[str, Any] | None = table.get_item(Key={"session_id": f"ratelimit#{scope}#{window_start}"}).get(
        "Item"
    )
    return item


def _hit(scope: str, *, limit: int = 3, now: float = WINDOW_START + 10) -> int:
    return ratelimit.hit(scope, limit=limit, window_seconds=WINDOW, message="slow down", now=now)


def test_hit_counts_requests_in_window(stack: StackResources) -> None:
    counts = [_hit("source#login#abc", now=WINDOW_START + offset) for offset in (0, 100, 3599)]

    assert counts == [1, 2, 3]
    counter = _counter(stack, "source#login#abc", WINDOW_START)
    assert counter is not None
    assert int(counter["hits"]) == 3


def test_hit_counter_expires_two_windows_later(stack: StackResources) -> None:
    _hit("source#login#abc", now=WINDOW_START + 10)
    _hit("source#login#abc", now=WINDOW_START + 20)

    counter = _counter(stack, "source#login#abc", WINDOW_START)

    assert counter is not None
    # The first request sets the TTL attribute, and later ones keep it.
    assert int(counter["expires_at"]) == WINDOW_START + 2 * WINDOW


def test_hit_over_limit_raises_with_retry_after(stack: StackResources) -> None:
    for _ in range(3):
        _hit("person#login#h1", now=WINDOW_START + 600)

    with pytest.raises(RateLimitedError) as raised:
        _hit("person#login#h1", now=WINDOW_START + 600)

    assert raised.value.retry_after == WINDOW - 600
    assert raised.value.message == "slow down"
    counter = _counter(stack, "person#login#h1", WINDOW_START)
    assert counter is not None
    # A rejected request is not counted.
    assert int(counter["hits"]) == 3


def test_hit_retry_after_is_at_least_one_second(stack: StackResources) -> None:
    _hit("person#login#h1", limit=1, now=WINDOW_START + WINDOW - 0.5)

    with pytest.raises(RateLimitedError) as raised:
        _hit("person#login#h1", limit=1, now=WINDOW_START + WINDOW - 0.2)

    assert raised.value.retry_after == 1


def test_hit_next_window_starts_from_zero(stack: StackResources) -> None:
    for _ in range(3):
        _hit("person#login#h1", now=WINDOW_START + 5)
    with pytest.raises(RateLimitedError):
        _hit("person#login#h1", now=WINDOW_START + WINDOW - 1)

    count = _hit("person#login#h1", now=WINDOW_START + WINDOW)

    assert count == 1
    next_counter = _counter(stack, "person#login#h1", WINDOW_START + WINDOW)
    assert next_counter is not None
    assert int(next_counter["hits"]) == 1


def test_hit_scopes_count_separately(stack: StackResources) -> None:
    for _ in range(3):
        _hit("person#login#h1")

    other_person = _hit("person#login#h2")
    other_purpose = _hit("person#recovery#h1")

    assert other_person == 1
    assert other_purpose == 1


@pytest.mark.parametrize("limit", [0, -1])
def test_hit_limit_zero_or_less_disables(stack: StackResources, limit: int) -> None:
    counts = [_hit("source#login#abc", limit=limit) for _ in range(5)]

    assert counts == [0] * 5
    assert _counter(stack, "source#login#abc", WINDOW_START) is None


def test_hit_other_dynamodb_errors_propagate(stack: StackResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFICATION_TABLE", "hireproof-test-missing-table")

    with pytest.raises(ClientError) as raised:
        _hit("source#login#abc")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ----------------------------------------------------------------- HTTP mapping
def test_rate_limited_error_response_is_429() -> None:
    response = http_errors.error_response(RateLimitedError("Too many attempts.", retry_after=42))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert json.loads(str(response.body)) == {"error": "RateLimitedError", "message": "Too many attempts."}


def test_other_error_response_has_no_retry_after() -> None:
    response = http_errors.error_response(ConflictError("retry later"))

    assert response.status_code == 409
    assert "Retry-After" not in response.headers


def test_resolver_returns_retry_after_header() -> None:
    app = APIGatewayHttpResolver()
    http_errors.register(app)

    @app.post("/verify/submit")
    def limited() -> Response[str]:
        raise RateLimitedError("Too many attempts.", retry_after=120)

    context: Any = LambdaContext()
    result = app.resolve(load_event("verification_api", "submit"), context)

    assert result["statusCode"] == 429
    assert result["headers"]["Retry-After"] == "120"
    assert json.loads(result["body"])["error"] == "RateLimitedError"
