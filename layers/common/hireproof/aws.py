"""boto3 clients and resources, created once per process and reused across invocations."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Adaptive retries absorb throttling inside one invocation; Step Functions retries the rest.
_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=5, read_timeout=20)


@cache
def _session() -> boto3.session.Session:
    # One session loads each service model once; a session per client would parse it again.
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """Return a shared boto3 client; the endpoint comes from the standard AWS settings."""
    return _session().client(service, config=_CONFIG)


@cache
def table(name: str) -> Any:
    """Return a shared DynamoDB Table resource."""
    return _session().resource("dynamodb", config=_CONFIG).Table(name)


def reset_clients() -> None:
    """Forget cached clients, for a test or a local stack that changes the endpoint."""
    client.cache_clear()
    table.cache_clear()
    _session.cache_clear()


def plain(value: Any) -> Any:
    """Return a DynamoDB value with its Decimals turned back into int or float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    return value
