"""`hireproof dlq list|redrive`: the stack's dead-letter queues, their depth, and moving messages back.

A queue of the stack counts as a dead-letter queue when another queue's RedrivePolicy names
it, or when its logical id ends in `DeadLetterQueue` (EventBridge targets name their
dead-letter queue only in the rule, which SQS cannot report).

Redrive moves messages to the source queue whose RedrivePolicy names the dead-letter queue,
or to the queue given with --to. In AWS it starts an SQS message move task
(StartMessageMoveTask), which runs asynchronously at SQS. moto 5.2.5, which runs the local
stack, does not implement that API, so with --local the messages are moved here one by one:
received, sent to the destination with their attributes, then deleted.

A dead-letter queue of an EventBridge target or of a function's asynchronous invocations has
no source queue: its messages are the events themselves. `--to-function` invokes the named
function asynchronously with each message's body, then deletes the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from hireproof.cli.errors import CommandError
from hireproof.cli.output import print_json_lines, print_table
from hireproof.cli.target import Target

QUEUE_TYPE = "AWS::SQS::Queue"
# A deployed stack reports the translated type, the local stack file the template's.
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
DLQ_SUFFIX = "DeadLetterQueue"
COLUMNS = (
    ("queue", "QUEUE"),
    ("messages", "MESSAGES"),
    ("in_flight", "IN FLIGHT"),
    ("sources", "SOURCES"),
)
# SQS ReceiveMessage returns at most 10 messages per call.
RECEIVE_BATCH = 10


@dataclass(frozen=True)
class QueueInfo:
    """One SQS queue of the stack with the attributes redrive decisions need."""

    logical_id: str
    url: str
    arn: str
    messages: int
    in_flight: int
    dead_letter_target_arn: str | None


def _queues(target: Target) -> list[QueueInfo]:
    sqs = target.client("sqs")
    queues = []
    for resource in target.of_type(QUEUE_TYPE):
        attributes = sqs.get_queue_attributes(
            QueueUrl=resource.physical_id,
            AttributeNames=[
                "QueueArn",
                "RedrivePolicy",
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
        queues.append(
            QueueInfo(
                logical_id=resource.logical_id,
                url=resource.physical_id,
                arn=attributes["QueueArn"],
                messages=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                dead_letter_target_arn=redrive.get("deadLetterTargetArn"),
            )
        )
    return queues


def _sources(queue: QueueInfo, queues: list[QueueInfo]) -> list[QueueInfo]:
    return [q for q in queues if q.dead_letter_target_arn == queue.arn]


def dead_letter_queues(target: Target) -> list[tuple[QueueInfo, list[QueueInfo]]]:
    """Return each dead-letter queue of the stack with the queues that redrive into it."""
    queues = _queues(target)
    found = []
    for queue in queues:
        sources = _sources(queue, queues)
        if sources or queue.logical_id.endswith(DLQ_SUFFIX):
            found.append((queue, sources))
    return found


def list_command(target: Target, *, as_json: bool, out: TextIO) -> int:
    """Print every dead-letter queue with its depth and source queues."""
    rows = [
        {
            "queue": queue.logical_id,
            "messages": queue.messages,
            "in_flight": queue.in_flight,
            "sources": [source.logical_id for source in sources],
            "url": queue.url,
        }
        for queue, sources in dead_letter_queues(target)
    ]
    if as_json:
        print_json_lines(rows, out)
    else:
        print_table(rows, COLUMNS, out)
    return 0


def _find(queues: list[tuple[QueueInfo, list[QueueInfo]]], name: str) -> tuple[QueueInfo, list[QueueInfo]]:
    for queue, sources in queues:
        if name in (queue.logical_id, queue.url, queue.arn, queue.url.rsplit("/", 1)[-1]):
            return queue, sources
    known = ", ".join(queue.logical_id for queue, _ in queues) or "none"
    raise CommandError(f"{name} is not a dead-letter queue of this stack; choose one of: {known}")


def _destination(
    target: Target, queue: QueueInfo, sources: list[QueueInfo], destination: str | None
) -> QueueInfo:
    if destination is not None:
        for candidate in _queues(target):
            if destination in (candidate.logical_id, candidate.url, candidate.arn):
                return candidate
        raise CommandError(f"--to {destination} is not a queue of this stack; use a logical id")
    if len(sources) == 1:
        return sources[0]
    if not sources:
        raise CommandError(
            f"{queue.logical_id} has no source queue; name a destination with --to QUEUE, or "
            "--to-function FUNCTION to invoke the function whose events these are"
        )
    names = ", ".join(source.logical_id for source in sources)
    raise CommandError(f"{queue.logical_id} has {len(sources)} source queues ({names}); choose one with --to")


def _function_name(target: Target, logical_id: str) -> str:
    functions = [r for t in FUNCTION_TYPES for r in target.of_type(t)]
    for function in functions:
        if logical_id == function.logical_id:
            return function.physical_id
    known = ", ".join(sorted(f.logical_id for f in functions)) or "none"
    raise CommandError(f"--to-function {logical_id} is not a function of this stack; choose one of: {known}")


def _receive_all(target: Target, source: QueueInfo) -> Iterator[dict[str, Any]]:
    """Yield every visible message; the caller deletes each one once it is handled."""
    sqs = target.client("sqs")
    while True:
        batch = sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return
        yield from batch


def _move_one_by_one(target: Target, source: QueueInfo, destination: QueueInfo) -> int:
    sqs = target.client("sqs")
    moved = 0
    for message in _receive_all(target, source):
        request: dict[str, Any] = {"QueueUrl": destination.url, "MessageBody": message["Body"]}
        if message.get("MessageAttributes"):
            request["MessageAttributes"] = message["MessageAttributes"]
        # Sending before deleting means that a crash in between duplicates the message, not loses it.
        sqs.send_message(**request)
        sqs.delete_message(QueueUrl=source.url, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    return moved


def _invoke_one_by_one(target: Target, source: QueueInfo, function_name: str) -> int:
    sqs, functions = target.client("sqs"), target.client("lambda")
    invoked = 0
    for message in _receive_all(target, source):
        # Asynchronous, as EventBridge invokes: the function's retries and its own
        # dead-letter queue apply again to a message that still fails.
        functions.invoke(FunctionName=function_name, InvocationType="Event", Payload=message["Body"].encode())
        sqs.delete_message(QueueUrl=source.url, ReceiptHandle=message["ReceiptHandle"])
        invoked += 1
    return invoked


def redrive_command(
    target: Target,
    *,
    queue_name: str,
    destination: str | None,
    function: str | None = None,
    as_json: bool,
    out: TextIO,
) -> int:
    """Move a dead-letter queue's messages back to its source queue, or hand them to a function."""
    queue, sources = _find(dead_letter_queues(target), queue_name)
    if function is not None:
        invoked = _invoke_one_by_one(target, queue, _function_name(target, function))
        result: dict[str, Any] = {
            "queue": queue.logical_id,
            "function": function,
            "invoked": invoked,
            "method": "lambda-invoke-event",
        }
        message = (
            f"invoked {function} with {invoked} message{'s' if invoked != 1 else ''} "
            f"from {queue.logical_id} and deleted them\n"
        )
    elif target.local:
        to = _destination(target, queue, sources, destination)
        moved = _move_one_by_one(target, queue, to)
        result = {
            "queue": queue.logical_id,
            "destination": to.logical_id,
            "moved": moved,
            "method": "receive-send-delete",
        }
        message = (
            f"moved {moved} message{'s' if moved != 1 else ''} from {queue.logical_id} to {to.logical_id} "
            "one by one (the local stack's moto has no StartMessageMoveTask)\n"
        )
    else:
        to = _destination(target, queue, sources, destination)
        task = target.client("sqs").start_message_move_task(SourceArn=queue.arn, DestinationArn=to.arn)
        result = {
            "queue": queue.logical_id,
            "destination": to.logical_id,
            "messages": queue.messages,
            "task_handle": task["TaskHandle"],
            "method": "StartMessageMoveTask",
        }
        message = (
            f"started moving about {queue.messages} messages from {queue.logical_id} to {to.logical_id}; "
            f"follow it with `aws sqs list-message-move-tasks --source-arn {queue.arn}`\n"
        )
    if as_json:
        print_json_lines([result], out)
    else:
        out.write(message)
    return 0
