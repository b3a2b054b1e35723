"""Every place where the local runtime reaches into moto's internals (moto 5.2.5).

The rest of `hireproof.local` starts moto's documented ThreadedMotoServer and otherwise talks to
moto only through its HTTP API, like any AWS client. The hooks below patch moto classes in this
process, so that the moto server that runs in a thread of the same process:

- runs our real Lambda handlers (`install_lambda_hook`) instead of echoing the input;
- delivers EventBridge events to Lambda, Step Functions and SNS targets (`install_events_hook`),
  which moto does not do;
- gives a unique name to an execution started without one (`install_start_execution_name_fix`),
  because moto 5.2.5's ASL engine names every such execution "None";
- keeps the text and the HTML body of each e-mail sent through SES (`install_ses_capture`), because
  moto stores only one of them, and exposes the sent messages (`sent_emails`).

Each hook checks the moto signature it relies on when it is installed and raises MotoHookError
naming the function to update, and tests/workflow/test_moto_hooks_canary.py exercises every hook end
to end.
"""

from __future__ import annotations

import collections
import copy
import email
import email.policy
import inspect
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import moto
import requests

MOTO_VERSION = moto.__version__

# Targets that moto 5.2.5 delivers itself: CloudWatch Logs, archives, SQS and other event buses.
MOTO_NATIVE_TARGET_SERVICES = frozenset({"logs", "sqs", "events"})


class MotoHookError(RuntimeError):
    """A hook no longer fits the installed moto version."""


def _changed(thing: str, function: str) -> MotoHookError:
    return MotoHookError(f"moto {MOTO_VERSION} changed {thing}; update moto_hooks.{function}")


def _require_parameters(target: Any, expected: Sequence[str], thing: str, function: str) -> None:
    try:
        names = list(inspect.signature(target).parameters)
    except (TypeError, ValueError) as exc:
        raise _changed(thing, function) from exc
    if names[: len(expected)] != list(expected):
        raise MotoHookError(
            f"moto {MOTO_VERSION} changed {thing} (parameters {names}, expected {list(expected)}); "
            f"update moto_hooks.{function}"
        )


def _original(cls: type, name: str) -> Any:
    """Return the unpatched method, also when the hook was installed before."""
    method = getattr(cls, name)
    return getattr(method, "__hireproof_original__", method)


def _patch(cls: type, name: str, replacement: Callable[..., Any], original: Any) -> None:
    replacement.__hireproof_original__ = original  # type: ignore[attr-defined]
    setattr(cls, name, replacement)


# ----------------------------------------------------------------------------- server config
def configure_server(endpoint_url: str) -> None:
    """Make the moto server run ASL and use the Docker-free Lambda backend.

    Uses moto's documented `/moto-api/config` endpoint, then checks that the setting reached the
    process-wide configuration that the Step Functions and Lambda responses read.
    """
    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    response = requests.post(f"{endpoint_url}/moto-api/config", json=config, timeout=10)
    if response.status_code >= 300:
        raise _changed(f"/moto-api/config (HTTP {response.status_code})", "configure_server")
    try:
        from moto.core.config import default_user_config
    except ImportError as exc:  # pragma: no cover - canary covers it
        raise _changed("moto.core.config.default_user_config", "configure_server") from exc
    applied = (
        default_user_config.get("lambda", {}).get("use_docker") is False
        and default_user_config.get("stepfunctions", {}).get("execute_state_machine") is True
    )
    if not applied:
        raise _changed("how /moto-api/config stores lambda and stepfunctions settings", "configure_server")


def reset_server(endpoint_url: str) -> None:
    """Drop every resource in the moto server through its documented `/moto-api/reset` endpoint."""
    response = requests.post(f"{endpoint_url}/moto-api/reset", timeout=30)
    if response.status_code >= 300:
        raise _changed(f"/moto-api/reset (HTTP {response.status_code})", "reset_server")


# ----------------------------------------------------------------------------- Lambda
LambdaDispatcher = Callable[[str, bytes, str], "tuple[bytes, str | None] | None"]
"""(function name, payload, invocation type) -> (response payload, FunctionError or None).

Returns None for a function that the local runtime does not run, which leaves it to moto.
"""

_lambda_dispatcher: LambdaDispatcher | None = None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _payload_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def install_lambda_hook(dispatch: LambdaDispatcher) -> None:
    """Route Lambda invocations that moto receives to `dispatch`.

    Two moto methods receive invocations. LambdaSimpleBackend.invoke serves the Invoke API, which
    Step Functions tasks and SQS event source mappings use. LambdaFunction.invoke serves SNS
    subscriptions, Kinesis and the InvokeAsync API, all asynchronous in AWS, so a call without an
    invocation type header is treated as an "Event" invocation there.
    """
    global _lambda_dispatcher
    try:
        from moto.awslambda.models import LambdaFunction
        from moto.awslambda_simple.models import LambdaSimpleBackend
    except ImportError as exc:
        raise _changed(
            "the location of LambdaSimpleBackend or LambdaFunction", "install_lambda_hook"
        ) from exc

    simple_invoke = _original(LambdaSimpleBackend, "invoke")
    function_invoke = _original(LambdaFunction, "invoke")
    _require_parameters(
        simple_invoke,
        ["self", "function_name", "qualifier", "body", "headers", "response_headers"],
        "LambdaSimpleBackend.invoke",
        "install_lambda_hook",
    )
    _require_parameters(
        function_invoke,
        ["self", "body", "request_headers", "response_headers"],
        "LambdaFunction.invoke",
        "install_lambda_hook",
    )
    _lambda_dispatcher = dispatch

    def backend_invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        function = self.get_function(function_name, qualifier)
        invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        result = _dispatch(function.function_name, body, invocation_type)
        if result is None:
            return simple_invoke(self, function_name, qualifier, body, headers, response_headers)
        payload, function_error = result
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        return payload

    def function_invoke_hook(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "Event"
        result = _dispatch(self.function_name, body, invocation_type)
        if result is None:
            return function_invoke(self, body, request_headers, response_headers)
        payload, function_error = result
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        return payload if invocation_type == "RequestResponse" else payload.decode("utf-8")

    _patch(LambdaSimpleBackend, "invoke", backend_invoke, simple_invoke)
    _patch(LambdaFunction, "invoke", function_invoke_hook, function_invoke)


def _dispatch(function_name: str, body: Any, invocation_type: str) -> tuple[bytes, str | None] | None:
    dispatcher = _lambda_dispatcher
    if dispatcher is None:
        return None
    return dispatcher(function_name, _payload_bytes(body), invocation_type)


# ----------------------------------------------------------------------------- EventBridge
@dataclass(frozen=True)
class RuleView:
    """The parts of a moto EventBridge rule that target delivery needs."""

    name: str
    arn: str
    event_bus_name: str


EventDeliverer = Callable[[RuleView, list[dict[str, Any]], dict[str, Any]], None]
"""(rule, targets, event) -> None; called for the targets that moto cannot deliver itself.

The event is moto's internal message: `time` and `ingestion-time` are epoch seconds.
"""

_event_deliverer: EventDeliverer | None = None


def install_events_hook(deliver: EventDeliverer) -> None:
    """Send matching events for Lambda, Step Functions, SNS and unknown targets to `deliver`.

    Wraps moto's Rule.send_to_targets. It also fixes two moto 5.2.5 behaviours that differ from AWS:
    a rule without an event pattern (a scheduled rule) matches every event there, and a DISABLED
    rule still delivers. Here neither delivers anything.
    """
    global _event_deliverer
    try:
        from moto.events.models import Rule
        from moto.utilities.arns import parse_arn
    except ImportError as exc:
        raise _changed("the location of moto.events.models.Rule", "install_events_hook") from exc

    send_to_targets = _original(Rule, "send_to_targets")
    _require_parameters(
        send_to_targets,
        ["self", "original_event", "transform_input"],
        "Rule.send_to_targets",
        "install_events_hook",
    )
    for attribute in ("event_pattern", "targets", "state", "name", "arn", "event_bus_name"):
        if attribute not in Rule.__init__.__code__.co_names and not hasattr(Rule, attribute):
            raise _changed(f"Rule.{attribute}", "install_events_hook")
    _event_deliverer = deliver

    def send_to_targets_hook(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if str(self.state).upper() == "DISABLED" or not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        native = [t for t in self.targets if parse_arn(t["Arn"]).service in MOTO_NATIVE_TARGET_SERVICES]
        others = [t for t in self.targets if t not in native]
        if others and _event_deliverer is not None:
            rule = RuleView(name=self.name, arn=self.arn, event_bus_name=self.event_bus_name)
            _event_deliverer(rule, copy.deepcopy(others), copy.deepcopy(dict(original_event)))
        if native:
            view = copy.copy(self)
            view.targets = native
            send_to_targets(view, original_event, transform_input)

    _patch(Rule, "send_to_targets", send_to_targets_hook, send_to_targets)


# ----------------------------------------------------------------------------- Step Functions
def install_start_execution_name_fix() -> None:
    """Name an execution started without a name with a random UUID, as AWS does.

    moto 5.2.5's ASL engine (StepFunctionsParserBackend.start_execution) uses the name None, so a
    second nameless execution of the same state machine fails with ExecutionAlreadyExists.
    """
    try:
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    except ImportError as exc:
        raise _changed(
            "the location of StepFunctionsParserBackend", "install_start_execution_name_fix"
        ) from exc

    start_execution = _original(StepFunctionsParserBackend, "start_execution")
    _require_parameters(
        start_execution,
        ["self", "state_machine_arn", "name", "execution_input"],
        "StepFunctionsParserBackend.start_execution",
        "install_start_execution_name_fix",
    )

    def start_execution_hook(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        return start_execution(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, *args, **kwargs
        )

    _patch(StepFunctionsParserBackend, "start_execution", start_execution_hook, start_execution)


# ----------------------------------------------------------------------------- SES
@dataclass(frozen=True)
class SentEmail:
    """One message that SES accepted in the moto server."""

    message_id: str
    source: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: str | None = None
    template_data: str | None = None

    @property
    def body(self) -> str | None:
        """The text body, or the HTML body when the message has no text part."""
        return self.text if self.text is not None else self.html

    def __getitem__(self, key: str) -> Any:
        """Read a field by name (`message["to"]`, `message["body"]`), as with a dict."""
        if key == "body" or key in self.__dataclass_fields__:
            return getattr(self, key)
        raise KeyError(key)


_capture = threading.local()
_bodies: dict[str, tuple[str | None, str | None]] = {}
_bodies_lock = threading.Lock()


def install_ses_capture() -> None:
    """Keep both bodies of every SES SendEmail (API v1 and v2), keyed by message id.

    moto's SES responses pass only the HTML body (or the text body when there is no HTML) to the
    backend. The response hooks note both bodies for the current thread, and the backend hook files
    them under the message id that SESBackend.send_email creates.
    """
    try:
        from moto.ses.models import SESBackend
        from moto.ses.responses import EmailResponse
        from moto.sesv2.responses import SESV2Response
    except ImportError as exc:
        raise _changed("the location of the SES backend or responses", "install_ses_capture") from exc

    backend_send = _original(SESBackend, "send_email")
    v1_send = _original(EmailResponse, "send_email")
    v2_send = _original(SESV2Response, "send_email")
    _require_parameters(
        backend_send,
        ["self", "source", "subject", "body", "destinations"],
        "SESBackend.send_email",
        "install_ses_capture",
    )
    for response_send, thing in (
        (v1_send, "EmailResponse.send_email"),
        (v2_send, "SESV2Response.send_email"),
    ):
        _require_parameters(response_send, ["self"], thing, "install_ses_capture")

    def backend_send_hook(self: Any, source: str, subject: str, body: str, destinations: Any) -> Any:
        message = backend_send(self, source, subject, body, destinations)
        bodies = getattr(_capture, "bodies", None)
        if bodies is not None:
            with _bodies_lock:
                _bodies[message.id] = bodies
        return message

    def v1_send_hook(self: Any) -> Any:
        _capture.bodies = (
            self._get_param("Message.Body.Text.Data"),
            self._get_param("Message.Body.Html.Data"),
        )
        try:
            return v1_send(self)
        finally:
            _capture.bodies = None

    def v2_send_hook(self: Any) -> Any:
        try:
            simple = json.loads(self.body).get("Content", {}).get("Simple", {}).get("Body", {})
        except (ValueError, AttributeError):
            simple = {}
        _capture.bodies = (simple.get("Text", {}).get("Data"), simple.get("Html", {}).get("Data"))
        try:
            return v2_send(self)
        finally:
            _capture.bodies = None

    _patch(SESBackend, "send_email", backend_send_hook, backend_send)
    _patch(EmailResponse, "send_email", v1_send_hook, v1_send)
    _patch(SESV2Response, "send_email", v2_send_hook, v2_send)


def sent_emails(account_id: str, region: str) -> list[SentEmail]:
    """Return every message SES accepted in this account and region, oldest first."""
    try:
        from moto.ses.models import Message, RawMessage, TemplateMessage, ses_backends
    except ImportError as exc:
        raise _changed("the location of moto.ses.models", "sent_emails") from exc
    backend = ses_backends[account_id][region]
    if not hasattr(backend, "sent_messages"):
        raise _changed("SESBackend.sent_messages", "sent_emails")

    result: list[SentEmail] = []
    for message in list(backend.sent_messages):
        if isinstance(message, Message):
            with _bodies_lock:
                text, html = _bodies.get(message.id, (None, None))
            if text is None and html is None:
                text = message.body
            result.append(
                SentEmail(
                    message_id=message.id,
                    source=message.source,
                    to=_addresses(message.destinations, "ToAddresses"),
                    cc=_addresses(message.destinations, "CcAddresses"),
                    bcc=_addresses(message.destinations, "BccAddresses"),
                    subject=message.subject,
                    text=text,
                    html=html,
                )
            )
        elif isinstance(message, RawMessage):
            result.append(_from_raw(message.id, message.source, list(message.destinations), message.raw_data))
        elif isinstance(message, TemplateMessage):
            result.append(
                SentEmail(
                    message_id=message.id,
                    source=message.source,
                    to=_addresses(message.destinations, "ToAddresses"),
                    cc=_addresses(message.destinations, "CcAddresses"),
                    bcc=_addresses(message.destinations, "BccAddresses"),
                    template=message.template,
                    template_data=message.template_data,
                )
            )
    return result


def _addresses(destinations: Any, key: str) -> list[str]:
    if isinstance(destinations, Mapping):
        return [str(address) for address in destinations.get(key, []) or []]
    return []


def _from_raw(message_id: str, source: str | None, destinations: list[str], raw_data: str) -> SentEmail:
    parsed = email.message_from_string(raw_data, policy=email.policy.default)
    text = html = None
    if isinstance(parsed, EmailMessage):
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        text = text_part.get_content() if isinstance(text_part, EmailMessage) else None
        html = html_part.get_content() if isinstance(html_part, EmailMessage) else None
    return SentEmail(
        message_id=message_id,
        source=str(source or parsed.get("From", "")),
        to=destinations or [str(address) for address in parsed.get_all("To", [])],
        subject=parsed.get("Subject"),
        text=text,
        html=html,
    )


# ----------------------------------------------------------------------------- all
# ----------------------------------------------------------------------------- DynamoDB
_TRANSACTION = threading.local()


def _transaction_keys(backend: Any, transact_items: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Return, per table name, the keys (moto DynamoType hash and range) a transaction writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys: dict[str, list[Any]] = {}
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue
        key = operation.get("Key") or operation.get("Item") or {}
        hash_value = DynamoType(key[table.hash_key_attr]) if table.hash_key_attr in key else None
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
        keys.setdefault(table.name, []).append((hash_value, range_value))
    return keys


def _snapshot_table(table: Any, real_deepcopy: Callable[..., Any]) -> Any:
    """Copy a table for a transaction's rollback: every item shared, the written ones copied."""
    snapshot = copy.copy(table)
    # Partitions the transaction does not write are shared; a written one is a new dict, since
    # a Put adds its key to the partition's dict.
    snapshot.items = collections.defaultdict(dict, table.items)
    for hash_value, range_value in _TRANSACTION.keys.get(table.name, []):
        if hash_value is None or hash_value not in table.items:
            continue
        if not table.range_key_attr:
            snapshot.items[hash_value] = real_deepcopy(table.items[hash_value])
            continue
        if snapshot.items[hash_value] is table.items[hash_value]:
            snapshot.items[hash_value] = dict(table.items[hash_value])
        if range_value is not None and range_value in table.items[hash_value]:
            snapshot.items[hash_value][range_value] = real_deepcopy(table.items[hash_value][range_value])
    return snapshot


def install_transaction_snapshot() -> None:
    """Make TransactWriteItems snapshot only the items it writes, not whole tables.

    moto 5.2.5 deep-copies every table a transaction names, to restore it when the transaction
    is cancelled. That costs time in proportion to the table's size, so the local stack slowed
    down as tables grew, which DynamoDB does not. The hook hands moto a snapshot in which the
    written items are deep copies and every other item is the stored object, which a cancelled
    transaction never changed. Rollback restores the same state as before.
    """
    try:
        import moto.dynamodb.models as dynamodb_models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table
    except ImportError as exc:
        raise _changed("the location of DynamoDBBackend", "install_transaction_snapshot") from exc
    transact = _original(DynamoDBBackend, "transact_write_items")
    thing = "DynamoDBBackend.transact_write_items"
    _require_parameters(transact, ["self", "transact_items"], thing, "install_transaction_snapshot")
    current_copy = getattr(dynamodb_models, "copy", None)
    if current_copy is not copy and type(current_copy).__name__ != "_SnapshotCopy":
        raise _changed(f"how {thing} copies tables", "install_transaction_snapshot")

    class _SnapshotCopy:
        """Stands in for the copy module inside moto.dynamodb.models."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table) and getattr(_TRANSACTION, "keys", None) is not None:
                return _snapshot_table(value, copy.deepcopy)
            return copy.deepcopy(value, memo)

    dynamodb_models.copy = _SnapshotCopy()  # type: ignore[attr-defined, assignment]

    def transact_write_items_hook(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _TRANSACTION.keys = _transaction_keys(self, transact_items)
        try:
            return transact(self, transact_items)  # type: ignore[no-any-return]
        finally:
            _TRANSACTION.keys = None

    _patch(DynamoDBBackend, "transact_write_items", transact_write_items_hook, transact)


def install_all(dispatch: LambdaDispatcher, deliver: EventDeliverer) -> None:
    """Install every hook; installing again only replaces the callbacks."""
    install_lambda_hook(dispatch)
    install_events_hook(deliver)
    install_start_execution_name_fix()
    install_ses_capture()
    install_transaction_snapshot()
