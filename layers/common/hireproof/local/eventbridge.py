"""EventBridge target input: the event as AWS sends it, and Input, InputPath and InputTransformer.

moto matches events to rules and hands the local runtime the targets it cannot deliver itself (see
`moto_hooks.install_events_hook`). This module turns moto's internal event message into the JSON
that the target receives in AWS.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from hireproof.local.errors import LocalRuntimeError

_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_\-$@]+)|\['([^']*)'\]|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-.]+)>")


class TargetInputError(LocalRuntimeError):
    """A target's Input, InputPath or InputTransformer cannot be applied to an event."""


def to_aws_event(moto_event: Mapping[str, Any]) -> dict[str, Any]:
    """Return the event in the shape EventBridge delivers: ISO 8601 time, no moto-only keys."""
    event = {key: value for key, value in moto_event.items() if key != "ingestion-time"}
    event["time"] = _iso_time(event.get("time"))
    return event


def _iso_time(value: Any) -> str:
    if isinstance(value, (int, float)):
        moment = datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if value is None:
        return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def json_path(document: Any, path: str) -> Any:
    """Return the value at a plain JSONPath (`$`, `$.a.b`, `$.a[0]`, `$['a-b']`), or None.

    NOTE: filters, wildcards and recursive descent are not supported. EventBridge InputPath and
    InputPathsMap use plain paths in practice, and an unsupported path raises TargetInputError.
    """
    if not path.startswith("$"):
        raise TargetInputError(f"JSONPath {path!r} must start with $")
    position = 1
    current = document
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None:
            raise TargetInputError(f"JSONPath {path!r} is not a plain path the local runtime supports")
        key, quoted, index = match.groups()
        position = match.end()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
        else:
            name = key if key is not None else quoted
            if not isinstance(current, Mapping) or name not in current:
                return None
            current = current[name]
    return current


def render_input(target: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """Return what `target` receives for `event` (already in the AWS shape)."""
    if "Input" in target:
        try:
            return json.loads(target["Input"])
        except ValueError as exc:
            raise TargetInputError(f"target {target.get('Id')} has an Input that is not JSON") from exc
    if "InputPath" in target:
        return json_path(event, target["InputPath"])
    if "InputTransformer" in target:
        return apply_input_transformer(target["InputTransformer"], event)
    return dict(event)


def apply_input_transformer(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """Apply InputPathsMap and InputTemplate the way EventBridge does.

    A placeholder inside a JSON string receives the value as text; a placeholder outside a string
    receives the value as JSON. A template that is not JSON after substitution is delivered as a
    string, as EventBridge does for plain-text templates.
    """
    values: dict[str, Any] = {
        name: json_path(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    values["aws.events.event"] = dict(event)
    values["aws.events.event.json"] = dict(event)
    template = str(transformer.get("InputTemplate", ""))

    output: list[str] = []
    in_string = False
    escaped = False
    position = 0
    while position < len(template):
        character = template[position]
        match = _PLACEHOLDER.match(template, position) if character == "<" else None
        if match is not None and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value)
                output.append(json.dumps(text)[1:-1])
            else:
                output.append(json.dumps(value))
            position = match.end()
            continue
        if in_string and character == "\\" and not escaped:
            escaped = True
        else:
            if character == '"' and not escaped:
                in_string = not in_string
            escaped = False
        output.append(character)
        position += 1

    rendered = "".join(output)
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered
