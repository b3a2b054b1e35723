"""Run a function's real handler in this process, the way the Lambda Python runtime would.

Each function's handler module (`functions/<dir>/app.py` for `Handler: app.lambda_handler`) is
imported from its CodeUri under a module name unique to the stack and the function, because every
function folder has a module named `app`. The module is imported and called with the function's
resolved environment variables in `os.environ`.

`os.environ` belongs to the whole process, so one lock serializes every invocation, and the
environment is swapped in and out around the import and the call. Consequently a handler must never
invoke another function synchronously (Lambda `Invoke` with RequestResponse, or anything that waits
for another function to finish): the inner invocation waits for the lock that the outer one holds.
That wait is bounded by `lock_timeout` and then fails with InvocationLockTimeoutError instead of
hanging. Asynchronous invocations, Step Functions executions and EventBridge deliveries do not have
this problem because they run on other threads and simply wait their turn.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from hireproof.local.errors import HandlerLoadError, InvocationLockTimeoutError

logger = logging.getLogger(__name__)

# One lock for the process, because os.environ is one mapping for the process.
_INVOCATION_LOCK = threading.Lock()


def _install_snapshot_environ_reads() -> None:
    """Make os.environ.items(), values() and copy() read one snapshot of the variables.

    The standard versions list the keys first and then read each value, so a key that an
    invocation removes in between raises KeyError in the reading thread. botocore reads
    os.environ.items() (through urllib's proxy settings) whenever a client is created, and
    moto's Step Functions engine creates clients on its own threads. Copying the underlying
    dict is atomic under the GIL, so reads from a snapshot never fail.
    """
    environ_type = type(os.environ)
    if getattr(environ_type, "_hireproof_snapshot_reads", False):
        return

    def snapshot(self: Any) -> list[tuple[str, str]]:
        data = dict(self._data)
        return [(self.decodekey(key), self.decodevalue(value)) for key, value in data.items()]

    environ_type.items = snapshot  # type: ignore[method-assign, assignment]
    environ_type.values = lambda self: [value for _, value in snapshot(self)]  # type: ignore[method-assign, assignment, return-value]
    environ_type.copy = lambda self: dict(snapshot(self))  # type: ignore[method-assign]
    environ_type._hireproof_snapshot_reads = True  # type: ignore[attr-defined]


_install_snapshot_environ_reads()

DEFAULT_LOCK_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class FunctionSpec:
    """The settings of one template function that the invoker needs to run it."""

    logical_id: str
    function_name: str
    function_arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout_seconds: int = 3
    runtime: str = "python3.13"
    log_group_name: str | None = None


class LambdaContext:
    """The context object of the Lambda Python runtime, with the attributes Powertools reads."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.function_arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = spec.log_group_name or f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"local/{request_id}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the function's configured Timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationFailure(Exception):
    """A handler failed or returned what Lambda cannot send; `error_type` is the errorType."""

    def __init__(self, error_type: str, error_message: str, stack_trace: list[str], request_id: str) -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = stack_trace
        self.request_id = request_id

    def payload(self) -> dict[str, Any]:
        """Return the Lambda error payload that Step Functions reads `errorType` from."""
        return {
            "errorType": self.error_type,
            "errorMessage": self.error_message,
            "requestId": self.request_id,
            "stackTrace": self.stack_trace,
        }


def _decimal_default(value: Any) -> Any:
    # The Lambda Python runtime serializes Decimal (from DynamoDB) as a JSON number.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Invoker:
    """Imports and calls the handlers of one stack; each module is imported once per stack."""

    def __init__(
        self,
        *,
        module_prefix: str,
        runtime_environment: Callable[[FunctionSpec, str], Mapping[str, str]] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self._module_prefix = module_prefix
        self._runtime_environment = runtime_environment or default_runtime_environment
        self._lock_timeout = lock_timeout
        self._modules: dict[str, ModuleType] = {}

    def invoke(self, spec: FunctionSpec, event: Any) -> Any:
        """Run the handler with `event` and return its result after a JSON round trip.

        The handler's own exception propagates unchanged, so a caller can check its class.
        """
        request_id = str(uuid.uuid4())
        result = self._call(spec, event, request_id)
        return json.loads(self._encode(result, request_id))

    def invoke_payload(self, spec: FunctionSpec, payload: bytes) -> tuple[bytes, str | None]:
        """Run the handler on a raw Lambda payload, as the Invoke API does.

        Returns the response payload and the FunctionError value: None on success, "Unhandled" with
        a payload of errorType/errorMessage when the handler raised. Step Functions turns errorType
        into the state's error name, so an exception's class name is what ASL Retry and Catch match.
        """
        request_id = str(uuid.uuid4())
        try:
            event = json.loads(payload.decode("utf-8")) if payload.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            failure = InvocationFailure(
                "Runtime.UnmarshalError", f"Invalid JSON payload: {exc}", [], request_id
            )
            return json.dumps(failure.payload()).encode("utf-8"), "Unhandled"
        try:
            result = self._call(spec, event, request_id)
            return self._encode(result, request_id), None
        except InvocationFailure as marshal_failure:
            return json.dumps(marshal_failure.payload()).encode("utf-8"), "Unhandled"
        except Exception as exc:  # noqa: BLE001 - every handler failure becomes a Lambda error payload
            handler_failure = _failure_from(exc, request_id)
            return json.dumps(handler_failure.payload()).encode("utf-8"), "Unhandled"

    def forget_modules(self) -> None:
        """Drop the imported handler modules so that the next invocation imports them again."""
        for module in self._modules.values():
            sys.modules.pop(module.__name__, None)
        self._modules.clear()

    # ------------------------------------------------------------------ internals
    def _call(self, spec: FunctionSpec, event: Any, request_id: str) -> Any:
        if not _INVOCATION_LOCK.acquire(timeout=self._lock_timeout):
            raise InvocationLockTimeoutError(
                f"invocation of {spec.logical_id} waited {self._lock_timeout:.0f} s for another "
                "in-process invocation; a handler must not invoke another function synchronously, "
                "because local invocations run one at a time"
            )
        started = time.monotonic()
        logger.info("invocation started", extra={"function": spec.logical_id, "request_id": request_id})
        try:
            overlay = {**self._runtime_environment(spec, request_id), **spec.environment}
            with _environment(overlay):
                handler = self._handler(spec)
                result = handler(event, LambdaContext(spec, request_id))
        except Exception as exc:
            logger.warning(
                "invocation failed",
                extra={
                    "function": spec.logical_id,
                    "request_id": request_id,
                    "error_type": type(exc).__name__,
                },
            )
            logger.debug("invocation traceback", exc_info=True)
            raise
        finally:
            _INVOCATION_LOCK.release()

        elapsed = time.monotonic() - started
        logger.info(
            "invocation finished",
            extra={
                "function": spec.logical_id,
                "request_id": request_id,
                "duration_ms": round(elapsed * 1000),
            },
        )
        if elapsed > spec.timeout_seconds:
            # NOTE: a thread cannot be stopped, so the configured Timeout is reported, not enforced.
            logger.warning(
                "invocation exceeded the function timeout",
                extra={
                    "function": spec.logical_id,
                    "request_id": request_id,
                    "timeout_s": spec.timeout_seconds,
                },
            )
        return result

    def _encode(self, result: Any, request_id: str) -> bytes:
        try:
            return json.dumps(result, default=_decimal_default).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise InvocationFailure(
                "Runtime.MarshalError", f"Unable to marshal response: {exc}", [], request_id
            ) from exc

    def _handler(self, spec: FunctionSpec) -> Callable[[Any, LambdaContext], Any]:
        module_path, _, attribute = spec.handler.rpartition(".")
        if not module_path or not attribute:
            raise HandlerLoadError(
                f"Handler {spec.handler!r} of {spec.logical_id} is not <module>.<function>"
            )
        module = self._modules.get(spec.logical_id)
        if module is None:
            module = self._import(spec, module_path)
            self._modules[spec.logical_id] = module
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise HandlerLoadError(
                f"{spec.logical_id}: {module.__file__} has no callable {attribute!r} (Handler {spec.handler})"
            )
        return handler  # type: ignore[no-any-return]

    def _import(self, spec: FunctionSpec, module_path: str) -> ModuleType:
        file = spec.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
        if not file.is_file():
            raise HandlerLoadError(
                f"{spec.logical_id}: handler file {file} does not exist (CodeUri {spec.code_dir}, "
                f"Handler {spec.handler})"
            )
        name = f"{self._module_prefix}_{spec.logical_id}"
        module_spec = importlib.util.spec_from_file_location(name, file)
        if module_spec is None or module_spec.loader is None:
            raise HandlerLoadError(f"{spec.logical_id}: cannot import {file}")
        module = importlib.util.module_from_spec(module_spec)
        # pydantic and dataclasses look classes up in sys.modules by module name.
        sys.modules[name] = module
        # Lambda puts the code folder on sys.path, so a handler may import modules next to it.
        # NOTE: such sibling modules share sys.modules under their plain names, so two functions
        # with a sibling module of the same name would get the first one imported.
        sys.path.insert(0, str(spec.code_dir))
        try:
            module_spec.loader.exec_module(module)
        except Exception:
            sys.modules.pop(name, None)
            raise
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(spec.code_dir))
        return module


def _failure_from(exc: BaseException, request_id: str) -> InvocationFailure:
    stack = [line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__)]
    # The Lambda runtime reports a handler it cannot load under this name.
    error_type = "Runtime.ImportModuleError" if isinstance(exc, HandlerLoadError) else type(exc).__name__
    return InvocationFailure(error_type, str(exc), stack, request_id)


def default_runtime_environment(spec: FunctionSpec, request_id: str) -> dict[str, str]:
    """Return the variables the Lambda runtime sets, plus settings that keep tracing local.

    The template's variables are applied over these, so a template can still enable tracing.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name or f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": spec.handler,
        # No X-Ray daemon runs locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


class _environment:
    """Apply variables to os.environ and restore the previous values afterwards.

    Restoring sets or deletes one key at a time, so other threads (the moto server reads MOTO_PORT)
    never see the base variables disappear.
    """

    def __init__(self, overlay: Mapping[str, str]) -> None:
        self._overlay = dict(overlay)
        self._previous: dict[str, str | None] = {}
        self._before: set[str] = set()

    def __enter__(self) -> None:
        self._before = set(os.environ)
        for key, value in self._overlay.items():
            self._previous[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc_info: object) -> None:
        for key, previous in self._previous.items():
            if previous is None:
                _unset(key)
            else:
                os.environ[key] = previous
        # A handler that set its own variables must not leak them into the next invocation.
        for key in set(os.environ) - self._before:
            _unset(key)


def _unset(key: str) -> None:
    # os.environ.pop(key, None) reads and then deletes, so a key that another thread removes in
    # between raises KeyError. A key that is already gone is what this wants anyway.
    with contextlib.suppress(KeyError):
        del os.environ[key]
