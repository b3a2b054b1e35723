"""Failures of the local runtime itself, as opposed to product failures in `hireproof.errors`.

These classes describe a broken template, a missing function file or a misused local stack. They
never reach a state machine as an error name, so they live apart from the product's error catalogue.
"""

from __future__ import annotations


class LocalRuntimeError(Exception):
    """Base class for every failure of the local runtime."""


class TemplateError(LocalRuntimeError):
    """The template cannot be loaded, a parameter is invalid or an intrinsic cannot be resolved."""


class UnknownResourceError(LocalRuntimeError, LookupError):
    """A logical id names no resource of the running stack."""


class StackStateError(LocalRuntimeError):
    """The stack was used before start(), after stop(), or twice under the same stack name."""


class HandlerLoadError(LocalRuntimeError):
    """A function's handler module or handler attribute cannot be loaded from its CodeUri."""


class InvocationLockTimeoutError(LocalRuntimeError):
    """An invocation waited too long for another in-process invocation to finish."""


class ExecutionTimeoutError(AssertionError, TimeoutError):
    """A Step Functions execution did not reach the expected point before the wait's bound.

    It is both an AssertionError, so that pytest reports it as a failed check, and a TimeoutError.
    `history` carries the execution's events, and the message contains them formatted for reading.
    """

    def __init__(self, message: str, *, execution_arn: str, history: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.execution_arn = execution_arn
        self.history = history
