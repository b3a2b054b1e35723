"""LocalStack: HireProof's SAM template running on this machine without an AWS account.

    with LocalStack(parameter_overrides={"ReviewTimeoutSeconds": "5"}) as stack:
        requests.get(f"{stack.api_url}/health")
        stack.client("dynamodb").scan(TableName=stack.physical_id("OnboardingTable"))

start() runs, in this order:

1. the process-wide moto server (127.0.0.1, free port), with AWS_ENDPOINT_URL, the region and dummy
   credentials in os.environ and the moto hooks installed (see `runtime` and `moto_hooks`);
2. the local HTTP API socket, so that its URL can be a parameter value;
3. the `services` (fake external systems), whose start() returns template parameter overrides;
4. every template resource in dependency order, then every function's and state machine's Events.

Parameters are decided from, in increasing priority: template defaults, LOCAL_PARAMETER_DEFAULTS
(only those the template declares), VerificationPageUrl and OidcIssuerUrl = the local API URL (when
declared), the services' overrides and `parameter_overrides`.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from hireproof.local import moto_hooks
from hireproof.local.errors import (
    ExecutionTimeoutError,
    StackStateError,
    TemplateError,
    UnknownResourceError,
)
from hireproof.local.http import LocalHttpApi
from hireproof.local.invoker import FunctionSpec, Invoker
from hireproof.local.provision import (
    ProvisionContext,
    ResourceRecord,
    provision,
    template_path_default,
)
from hireproof.local.runtime import ACCESS_KEY_ID, RUNTIME, SECRET_ACCESS_KEY, Delivery, new_token
from hireproof.local.sources import EventSources, ScheduleSource, connect
from hireproof.local.template import ACCOUNT_ID, REGION, STACK_NAME, Template, load_document

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

LOCAL_PARAMETER_DEFAULTS: Mapping[str, str] = {
    "Stage": "local",
    "VerificationEngine": "local",
    "IdentityProvider": "identity_center",
    # moto's identitystore creates a store on first use, and this id matches the AWS id format.
    "IdentityStoreId": "d-0000000000",
}


class LocalService(Protocol):
    """A fake external system beside the stack, such as a fulfillment service."""

    def start(self) -> dict[str, str]:
        """Start serving and return template parameter overrides, such as its URL."""
        ...

    def stop(self) -> None:
        """Stop serving."""
        ...


def _defaults_module() -> Any:
    # The module is optional, so it is imported lazily; an import error inside it propagates.
    try:
        return importlib.import_module("hireproof.local.defaults")
    except ModuleNotFoundError as exc:
        if exc.name != "hireproof.local.defaults":
            raise
        return None


def default_services() -> list[LocalService]:
    """Return the fake external systems of `hireproof.local.defaults`, or none without it."""
    defaults = _defaults_module()
    return list(defaults.default_services()) if defaults is not None else []


def seed_defaults(stack: LocalStack) -> None:
    """Run `hireproof.local.defaults.seed(stack)` on a started stack, if that function exists.

    It creates what administrators would set up before a real deployment, such as groups.
    """
    defaults = _defaults_module()
    seed = getattr(defaults, "seed", None)
    if callable(seed):
        seed(stack)


class LocalStack:
    """The template's resources in moto, its handlers in-process and its HTTP API on a socket."""

    def __init__(
        self,
        template_path: Path | str | None = None,
        parameter_overrides: Mapping[str, Any] | None = None,
        services: Sequence[LocalService] = (),
        *,
        stack_name: str = STACK_NAME,
        api_port: int = 0,
        lock_timeout: float = 60.0,
    ) -> None:
        self.template_path = Path(template_path) if template_path else template_path_default()
        self.parameter_overrides = dict(parameter_overrides or {})
        self.services = list(services)
        self.stack_name = stack_name
        self._api_port = api_port
        self._lock_timeout = lock_timeout
        self._started_services: list[LocalService] = []
        self._records: dict[str, ResourceRecord] = {}
        self._functions: dict[str, FunctionSpec] = {}
        self._sources = EventSources()
        self._http: LocalHttpApi | None = None
        self._invoker: Invoker | None = None
        self._template: Template | None = None
        self._endpoint_url: str | None = None
        self._running = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start moto, the HTTP API and the services, then create every template resource."""
        if self._running:
            raise StackStateError("this LocalStack is already running")
        started = time.monotonic()
        document = load_document(self.template_path)
        # A stack can be started again after stop(); nothing of the previous run is kept.
        self._records = {}
        self._functions = {}
        self._sources = EventSources()
        self._started_services = []
        self._endpoint_url = RUNTIME.acquire(self.stack_name)
        self._running = True
        try:
            self._start(document)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "local stack started",
            extra={
                "stack": self.stack_name,
                "resources": len(self._records),
                "api_url": self.api_url,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )
        return self

    def _start(self, document: dict[str, Any]) -> None:
        self._http = LocalHttpApi(
            port=self._api_port,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            region=REGION,
            account_id=ACCOUNT_ID,
        )
        overrides = self._local_defaults(document)
        for service in self.services:
            self._started_services.append(service)
            overrides.update(service.start())
        overrides.update(self.parameter_overrides)

        template = Template(
            document,
            overrides,
            base_dir=self.template_path.parent,
            stack_name=self.stack_name,
            region=REGION,
            account_id=ACCOUNT_ID,
        )
        self._template = template
        self._invoker = Invoker(
            module_prefix=f"hireproof_local_{new_token()}", lock_timeout=self._lock_timeout
        )
        context = ProvisionContext(
            template=template,
            resolve=lambda value: template.resolve(value, self),
            client=RUNTIME.client,
            records=self._records,
            register_function=self._register_function,
            api_url=self._http.url,
        )
        for logical_id in template.creation_order():
            self._records[logical_id] = provision(context, template.resource(logical_id))
        for resource in template.resources_of_type(
            "AWS::Serverless::Function", "AWS::Serverless::StateMachine"
        ):
            connect(context, resource, self._records[resource.logical_id], self._sources)

        self._http.configure(self._sources.routes, self.invoke)
        self._http.start()

    def _local_defaults(self, document: Mapping[str, Any]) -> dict[str, Any]:
        declared = set((document.get("Parameters") or {}).keys())
        defaults = {name: value for name, value in LOCAL_PARAMETER_DEFAULTS.items() if name in declared}
        if "VerificationPageUrl" in declared and self._http is not None:
            defaults["VerificationPageUrl"] = self._http.url
        # The local API serves http, which the OIDC function cannot tell from the request.
        if "OidcIssuerUrl" in declared and self._http is not None:
            defaults["OidcIssuerUrl"] = self._http.url
        return defaults

    def stop(self) -> None:
        """Stop the HTTP API, running executions and services, and forget this stack's functions."""
        if not self._running:
            return
        errors: list[BaseException] = []
        if self._http is not None:
            self._http.stop()
        self._stop_executions()
        if not RUNTIME.wait_idle(timeout=10):
            logger.warning("background deliveries still running at stop", extra={"stack": self.stack_name})
        for service in reversed(self._started_services):
            try:
                service.stop()
            except Exception as exc:
                logger.exception("service stop failed", extra={"service": type(service).__name__})
                errors.append(exc)
        self._started_services.clear()
        if self._invoker is not None:
            self._invoker.forget_modules()
        RUNTIME.release(self.stack_name)
        self._running = False
        if errors:
            raise errors[0]

    def _stop_executions(self) -> None:
        if self._endpoint_url is None:
            return
        sfn = RUNTIME.client("stepfunctions")
        for record in self._records.values():
            if record.type not in (
                "AWS::Serverless::StateMachine",
                "AWS::StepFunctions::StateMachine",
            ):
                continue
            try:
                running = sfn.list_executions(stateMachineArn=record.physical_id, statusFilter="RUNNING")[
                    "executions"
                ]
                for execution in running:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="local stack stopped")
            except Exception:
                logger.warning(
                    "stopping executions failed",
                    extra={"state_machine": record.logical_id},
                    exc_info=True,
                )

    # ------------------------------------------------------------------ ReferenceResolver
    def ref(self, logical_id: str) -> Any:
        """Return the value of `Ref` for a created resource (used by template resolution)."""
        record = self._records.get(logical_id)
        if record is None:
            raise TemplateError(f"Ref {logical_id}: the resource is not created yet (dependency order)")
        return record.physical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """Return the value of `Fn::GetAtt` for a created resource (used by template resolution)."""
        record = self._records.get(logical_id)
        if record is None:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: the resource is not created yet")
        if attribute not in record.attributes:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: the local stack has no attribute {attribute} "
                f"for {record.type}; it has {sorted(record.attributes)}"
            )
        return record.attributes[attribute]

    # ------------------------------------------------------------------ public API
    @property
    def template(self) -> Template:
        """The template with this stack's parameters and conditions."""
        return self._require(self._template, "template")

    @property
    def api_url(self) -> str:
        """Base URL of the local HTTP API, such as http://127.0.0.1:8080."""
        return self._require(self._http, "api_url").url

    @property
    def endpoint_url(self) -> str:
        """URL of the moto server."""
        return self._require(self._endpoint_url, "endpoint_url")

    @property
    def resources(self) -> dict[str, ResourceRecord]:
        """Every resource's record, created or skipped, by logical id."""
        return dict(self._records)

    @property
    def routes(self) -> list[Any]:
        """The HTTP routes served by the local HTTP API."""
        return list(self._sources.routes)

    @property
    def unsupported_events(self) -> list[str]:
        """Events of functions and state machines that are not connected locally."""
        return list(self._sources.unsupported)

    def physical_id(self, logical_id: str) -> Any:
        """Return what `Ref` returns: table name, queue URL, topic ARN, bucket name, secret ARN,
        state machine ARN, function name..."""
        return self._record(logical_id).physical_id

    def arn(self, logical_id: str) -> str:
        """Return the resource's ARN."""
        record = self._record(logical_id)
        if record.arn is None:
            raise UnknownResourceError(f"{logical_id} ({record.type}) has no ARN")
        return record.arn

    def client(self, service: str) -> Any:
        """Return a boto3 client bound to the moto server."""
        self._require(self._endpoint_url, "client")
        return RUNTIME.client(service)

    def resource(self, service: str) -> Any:
        """Return a boto3 service resource bound to the moto server, such as resource("dynamodb")."""
        self._require(self._endpoint_url, "resource")
        return RUNTIME.resource(service)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Return a function's resolved environment variables from the template (Globals merged)."""
        return dict(self._function(logical_id).environment)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run a function's real handler in-process and return its JSON result.

        This is the path Step Functions tasks and EventBridge deliveries use too. An exception from
        the handler propagates unchanged.
        """
        spec = self._function(logical_id)
        return self._require(self._invoker, "invoke").invoke(spec, event)

    def sent_emails(self) -> list[moto_hooks.SentEmail]:
        """Return the messages SES accepted so far (to, subject, text and HTML), oldest first."""
        self._require(self._endpoint_url, "sent_emails")
        return moto_hooks.sent_emails(ACCOUNT_ID, REGION)

    def deliveries(self) -> list[Delivery]:
        """Return EventBridge deliveries and asynchronous invocations run so far."""
        return list(RUNTIME.deliveries)

    def wait_for_deliveries(self, timeout: float = 30) -> None:
        """Wait until every EventBridge delivery and asynchronous invocation has finished."""
        if not RUNTIME.wait_idle(timeout):
            pending = [d for d in RUNTIME.deliveries if d.status == "pending"]
            raise AssertionError(f"deliveries still running after {timeout} s: {pending}")

    def trigger_schedule(self, logical_id: str, event_id: str | None = None) -> Any:
        """Run a function's or state machine's Schedule event once.

        A function is invoked synchronously with the event that EventBridge would send (or the
        event's Input), and its result is returned. For a state machine, the execution ARN is
        returned.
        """
        schedule = self._schedule(logical_id, event_id)
        if schedule.input is not None:
            payload = json.loads(schedule.input)
        else:
            payload = {
                "version": "0",
                "id": new_token(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "region": REGION,
                "resources": [schedule.rule_arn],
                "detail": {},
            }
        record = self._record(logical_id)
        if logical_id in self._functions:
            return self.invoke(logical_id, payload)
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=record.physical_id, input=json.dumps(payload)
        )
        return response["executionArn"]

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Return every event of an execution's history, oldest first."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**request)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            request["nextToken"] = page["nextToken"]

    def wait_for_execution(self, execution_arn: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the execution is no longer RUNNING and return DescribeExecution's result.

        Raises ExecutionTimeoutError (an AssertionError and a TimeoutError) carrying the history.
        """
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() >= deadline:
                self._timeout(execution_arn, f"execution still RUNNING after {timeout} s")
            time.sleep(0.1)

    def wait_for_state(self, execution_arn: str, state_name: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the execution has entered `state_name` and return that history event.

        Useful before completing a `.waitForTaskToken` step. Raises ExecutionTimeoutError with the
        history when the state is not entered in time or the execution ends without entering it.
        """
        deadline = time.monotonic() + timeout
        sfn = self.client("stepfunctions")
        while True:
            for event in self.execution_history(execution_arn):
                details = event.get("stateEnteredEventDetails")
                if details and details.get("name") == state_name:
                    return event
            if sfn.describe_execution(executionArn=execution_arn)["status"] != "RUNNING":
                self._timeout(execution_arn, f"execution ended without entering state {state_name!r}")
            if time.monotonic() >= deadline:
                self._timeout(execution_arn, f"state {state_name!r} not entered after {timeout} s")
            time.sleep(0.1)

    def _timeout(self, execution_arn: str, reason: str) -> None:
        history = self.execution_history(execution_arn)
        raise ExecutionTimeoutError(
            f"{reason}: {execution_arn}\n{format_history(history)}",
            execution_arn=execution_arn,
            history=history,
        )

    # ------------------------------------------------------------------ internals
    def _register_function(self, spec: FunctionSpec | None, function_name: str) -> None:
        if spec is not None:
            self._functions[spec.logical_id] = spec
        RUNTIME.register_function(self.stack_name, function_name, spec, self._invoker if spec else None)

    def _record(self, logical_id: str) -> ResourceRecord:
        self._require(self._template, "physical_id")
        if logical_id not in self._records:
            raise UnknownResourceError(
                f"{logical_id} is not a resource of the running stack; resources: {sorted(self._records)}"
            )
        return self._records[logical_id]

    def _function(self, logical_id: str) -> FunctionSpec:
        self._require(self._template, "invoke")
        if logical_id not in self._functions:
            raise UnknownResourceError(
                f"{logical_id} is not a function with local code; functions: {sorted(self._functions)}"
            )
        return self._functions[logical_id]

    def _schedule(self, logical_id: str, event_id: str | None) -> ScheduleSource:
        schedules = [s for s in self._sources.schedules if s.owner == logical_id]
        if event_id is not None:
            schedules = [s for s in schedules if s.event_id == event_id]
        if not schedules:
            raise UnknownResourceError(
                f"{logical_id} has no Schedule event{f' {event_id}' if event_id else ''}"
            )
        if len(schedules) > 1:
            raise UnknownResourceError(
                f"{logical_id} has several Schedule events {[s.event_id for s in schedules]}; pass event_id"
            )
        return schedules[0]

    def _require(self, value: _T | None, what: str) -> _T:
        if not self._running or value is None:
            raise StackStateError(f"LocalStack.{what} needs a running stack; call start() or use `with`")
        return value


def format_history(history: Sequence[Mapping[str, Any]]) -> str:
    """Format execution history events one per line: id, type and the event's details."""
    lines = []
    for event in history:
        details = {key: value for key, value in event.items() if key.endswith("EventDetails")}
        lines.append(f"  {event.get('id')}: {event.get('type')} {json.dumps(details, default=str)[:2000]}")
    return "\n".join(lines)
