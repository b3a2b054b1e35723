"""Settings read from the Lambda environment, which template.yaml sets."""

from __future__ import annotations

import os
from enum import StrEnum

from hireproof.errors import ConfigurationError


class Stage(StrEnum):
    """Deployment stage; only local and dev accept a verification without a liveness check."""

    LOCAL = "local"
    DEV = "dev"
    PROD = "prod"


def require_env(name: str) -> str:
    """Return an environment variable, or raise ConfigurationError naming it."""
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set; deploy with template.yaml")
    return value


def optional_env(name: str, default: str = "") -> str:
    """Return an environment variable, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def int_env(name: str, default: int) -> int:
    """Return an integer environment variable, or raise ConfigurationError when it is not one."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def current_stage() -> Stage:
    """Return the deployment stage; an unknown value fails closed as prod."""
    try:
        return Stage(os.environ.get("HIREPROOF_STAGE", "prod"))
    except ValueError:
        return Stage.PROD
