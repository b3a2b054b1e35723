"""Process-wide state of the local runtime: moto server, AWS settings, registered functions.

moto keeps its resources in module-level backends, and `os.environ` is one mapping per process, so
the pieces below exist once per process however many LocalStack objects use them:

- one ThreadedMotoServer on 127.0.0.1, started by the first stack and kept until the process exits,
  so that boto3 clients cached by handler modules stay valid from one stack to the next;
- the AWS settings in os.environ (endpoint, region, dummy credentials), set while any stack runs;
- the functions that stacks registered, which the moto hooks run through their stack's Invoker;
- EventBridge deliveries and asynchronous invocations, run on background threads and recorded.

Several stacks may run at once if their stack names differ, because every physical name contains the
stack name. moto is reset when the first of them starts.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from hireproof.local import moto_hooks
from hireproof.local.errors import StackStateError
from hireproof.local.eventbridge import render_input, to_aws_event
from hireproof.local.invoker import FunctionSpec, Invoker

logger = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# Dummy credentials: moto accepts any, and the HTTP API checks SigV4 signatures made with these.
ACCESS_KEY_ID = "AKIAHIREPROOFLOCAL01"
SECRET_ACCESS_KEY = "hireproof-local-secret-key-not-a-real-credential"  # noqa: S105 - local dummy

# Variables that could point boto3 at real AWS or real credentials while a stack runs.
_REMOVED_VARIABLES = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


@dataclass
class Delivery:
    """One EventBridge delivery to a target, or one asynchronous Lambda invocation."""

    source: str
    target_arn: str
    target_id: str
    status: str = "pending"
    error: str | None = None
    execution_arn: str | None = None
    started_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RegisteredFunction:
    """A function that a stack created in moto; `spec` is None when it has no local code to run."""

    stack_name: str
    spec: FunctionSpec | None
    invoker: Invoker | None


class Runtime:
    """The process-wide registry; use `RUNTIME`, never a second instance."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: Any = None
        self.endpoint_url: str | None = None
        self._stacks: set[str] = set()
        self._saved_environment: dict[str, str | None] = {}
        self._functions: dict[str, RegisteredFunction] = {}
        self._threads: set[threading.Thread] = set()
        self.deliveries: list[Delivery] = []
        self._clients: dict[str, Any] = {}
        self._session: Any = None

    # ------------------------------------------------------------------ lifecycle
    def acquire(self, stack_name: str) -> str:
        """Register a starting stack and return the moto endpoint URL."""
        with self._lock:
            if stack_name in self._stacks:
                raise StackStateError(
                    f"a local stack named {stack_name!r} is already running in this process; "
                    "stop it first or give the new one another stack_name"
                )
            endpoint = self._ensure_server()
            if not self._stacks:
                self._apply_environment(endpoint)
                try:
                    moto_hooks.reset_server(endpoint)
                    moto_hooks.configure_server(endpoint)
                    moto_hooks.install_all(self.dispatch_lambda, self.deliver_event)
                except BaseException:
                    self._restore_environment()
                    raise
                self.deliveries.clear()
            self._stacks.add(stack_name)
            return endpoint

    def release(self, stack_name: str) -> None:
        """Forget a stopped stack; the last one restores the environment the process had before."""
        with self._lock:
            self._stacks.discard(stack_name)
            for name in [n for n, f in self._functions.items() if f.stack_name == stack_name]:
                del self._functions[name]
            if not self._stacks:
                self._restore_environment()

    def _ensure_server(self) -> str:
        if self._server is not None and self.endpoint_url is not None:
            return self.endpoint_url
        from moto.server import ThreadedMotoServer

        # werkzeug logs one line per request at INFO, which would drown the test output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint_url = f"http://{host}:{port}"
        # moto's own clients (Step Functions tasks) find the server through MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        atexit.register(self._stop_server)
        logger.info("moto server started", extra={"endpoint": self.endpoint_url})
        return self.endpoint_url

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _apply_environment(self, endpoint: str) -> None:
        settings: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Never ask an instance metadata service for credentials or the region.
            "AWS_EC2_METADATA_DISABLED": "true",
            "MOTO_PORT": endpoint.rsplit(":", 1)[1],
        }
        for name in _REMOVED_VARIABLES:
            settings[name] = None
        for name in os.environ:
            if name.startswith("AWS_ENDPOINT_URL_"):
                settings[name] = None
        self._saved_environment = {name: os.environ.get(name) for name in settings}
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reset_product_clients()

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if name == "MOTO_PORT":
                # The server keeps running, and moto's engine threads may still need it.
                continue
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}
        _reset_product_clients()

    # ------------------------------------------------------------------ functions
    def register_function(
        self,
        stack_name: str,
        function_name: str,
        spec: FunctionSpec | None,
        invoker: Invoker | None,
    ) -> None:
        """Make moto run `spec` through `invoker` whenever `function_name` is invoked."""
        with self._lock:
            self._functions[function_name] = RegisteredFunction(stack_name, spec, invoker)

    def function(self, function_name: str) -> RegisteredFunction | None:
        """Return the registered function with this name, if any stack registered it."""
        with self._lock:
            return self._functions.get(function_name)

    def dispatch_lambda(
        self, function_name: str, payload: bytes, invocation_type: str
    ) -> tuple[bytes, str | None] | None:
        """Run an invocation that moto received; the moto Lambda hook calls this."""
        registered = self.function(function_name)
        if registered is None:
            return None
        if registered.spec is None or registered.invoker is None:
            error = {
                "errorType": "Runtime.LocalCodeMissing",
                "errorMessage": (
                    f"function {function_name} has no local code (CodeUri) for the local runtime"
                ),
            }
            return json.dumps(error).encode("utf-8"), "Unhandled"
        spec, invoker = registered.spec, registered.invoker
        if invocation_type == "DryRun":
            return b"", None
        if invocation_type == "Event":
            delivery = Delivery(
                source="lambda:Invoke(Event)",
                target_arn=spec.function_arn,
                target_id=spec.logical_id,
            )
            self._record(delivery)
            self.run_async(
                f"invoke-{spec.logical_id}",
                lambda: self._invoke_async(invoker, spec, payload, delivery),
            )
            return b"", None
        return invoker.invoke_payload(spec, payload)

    def _invoke_async(self, invoker: Invoker, spec: FunctionSpec, payload: bytes, delivery: Delivery) -> None:
        response, function_error = invoker.invoke_payload(spec, payload)
        if function_error:
            delivery.status = "failed"
            delivery.error = _error_type(response)
        else:
            delivery.status = "succeeded"

    # ------------------------------------------------------------------ EventBridge
    def deliver_event(
        self, rule: moto_hooks.RuleView, targets: list[dict[str, Any]], moto_event: dict[str, Any]
    ) -> None:
        """Deliver a matched event to targets moto cannot reach, each on its own thread."""
        event = to_aws_event(moto_event)
        for target in targets:
            delivery = Delivery(
                source=rule.arn, target_arn=str(target.get("Arn")), target_id=str(target.get("Id"))
            )
            self._record(delivery)
            self.run_async(
                f"deliver-{rule.name}-{delivery.target_id}",
                functools.partial(self._deliver, rule, target, event, delivery),
            )

    def _deliver(
        self,
        rule: moto_hooks.RuleView,
        target: dict[str, Any],
        event: dict[str, Any],
        delivery: Delivery,
    ) -> None:
        arn = delivery.target_arn
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            payload = render_input(target, event)
            if service == "lambda":
                self._deliver_to_lambda(arn, payload, delivery)
            elif service == "states":
                response = self.client("stepfunctions").start_execution(
                    stateMachineArn=arn, input=json.dumps(payload)
                )
                delivery.execution_arn = response["executionArn"]
                delivery.status = "succeeded"
            elif service == "sns":
                message = payload if isinstance(payload, str) else json.dumps(payload)
                self.client("sns").publish(TopicArn=arn, Message=message)
                delivery.status = "succeeded"
            else:
                delivery.status = "unsupported"
                delivery.error = f"the local runtime does not deliver to {service or arn} targets"
                logger.warning(
                    "event target not supported locally",
                    extra={"rule": rule.name, "target": delivery.target_id},
                )
                return
        except Exception as exc:  # noqa: BLE001 - a failed delivery is recorded and sent to the DLQ, as in AWS
            delivery.status = "failed"
            delivery.error = f"{type(exc).__name__}: {exc}"
        if delivery.status == "failed":
            logger.warning(
                "event delivery failed",
                extra={"rule": rule.name, "target": delivery.target_id, "error": delivery.error},
            )
            self._send_to_dead_letter_queue(rule, target, event, delivery)

    def _deliver_to_lambda(self, arn: str, payload: Any, delivery: Delivery) -> None:
        function_name = arn.split(":")[6]
        registered = self.function(function_name)
        if registered is None or registered.spec is None or registered.invoker is None:
            delivery.status = "failed"
            delivery.error = f"function {function_name} is not run by the local runtime"
            return
        response, function_error = registered.invoker.invoke_payload(
            registered.spec, json.dumps(payload).encode("utf-8")
        )
        if function_error:
            delivery.status = "failed"
            delivery.error = _error_type(response)
        else:
            delivery.status = "succeeded"

    def _send_to_dead_letter_queue(
        self,
        rule: moto_hooks.RuleView,
        target: Mapping[str, Any],
        event: Mapping[str, Any],
        delivery: Delivery,
    ) -> None:
        queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not queue_arn:
            return
        _, _, _, _, account, queue_name = str(queue_arn).split(":", 5)
        try:
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            attributes = {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": delivery.target_arn,
                "ERROR_CODE": "LocalDeliveryFailed",
                "ERROR_MESSAGE": (delivery.error or "")[:256],
            }
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v
                },
            )
        except Exception:
            logger.warning(
                "dead-letter queue send failed",
                extra={"rule": rule.name, "target": delivery.target_id},
                exc_info=True,
            )

    # ------------------------------------------------------------------ threads
    def run_async(self, name: str, work: Callable[[], None]) -> threading.Thread:
        """Run `work` on a tracked daemon thread; `wait_idle` waits for every such thread."""

        def run() -> None:
            try:
                work()
            except Exception:
                logger.exception("background work failed", extra={"work": name})
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=f"hireproof-local-{name}", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return thread

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no background delivery or asynchronous invocation runs; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            threads[0].join(min(remaining, 0.5))

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)

    # ------------------------------------------------------------------ clients
    def client(self, service: str) -> Any:
        """Return a boto3 client bound to the moto server, independent of os.environ.

        Clients are cached per service: creating one costs about 0.2 s, and boto3 clients are
        safe to share between threads once created.
        """
        with self._lock:
            if self.endpoint_url is None:
                raise StackStateError("the moto server is not running; start a LocalStack first")
            cached = self._clients.get(service)
            if cached is None:
                if self._session is None:
                    # One session shares botocore's loaded service models between clients.
                    self._session = boto3.session.Session()
                cached = self._session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id=ACCESS_KEY_ID,
                    aws_secret_access_key=SECRET_ACCESS_KEY,
                    config=Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=120),
                )
                self._clients[service] = cached
            return cached

    def resource(self, service: str) -> Any:
        """Return a boto3 service resource (such as a DynamoDB Table factory) bound to the moto server."""
        with self._lock:
            if self.endpoint_url is None:
                raise StackStateError("the moto server is not running; start a LocalStack first")
            if self._session is None:
                self._session = boto3.session.Session()
            return self._session.resource(
                service,
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )


def _error_type(response: bytes) -> str:
    try:
        return str(json.loads(response).get("errorType", "Unknown"))
    except (ValueError, AttributeError):
        return "Unknown"


def _reset_product_clients() -> None:
    """Drop boto3 clients that `hireproof.aws` cached, so they pick up the current endpoint."""
    try:
        from hireproof import aws
    except ImportError:
        return
    reset = getattr(aws, "reset_clients", None)
    if callable(reset):
        reset()


def new_token() -> str:
    """Return a short random token for module names and request ids."""
    return uuid.uuid4().hex[:12]


RUNTIME = Runtime()
