"""Event sources of SAM functions and state machines: HTTP routes, schedules, rules, topics.

The SAM transform turns each entry of a function's or state machine's `Events` into separate
resources. The local stack connects them after every resource exists:

- HttpApi: a route of the local HTTP server (nothing is created in moto);
- Schedule, ScheduleV2: an EventBridge rule with the schedule, which never fires by itself locally;
  `LocalStack.trigger_schedule` runs it once;
- EventBridgeRule, CloudWatchEvent: an EventBridge rule targeting the function or state machine,
  delivered by the moto events hook;
- SNS: a `lambda` subscription, delivered by moto through the Lambda hook.

Other event types are logged as not emulated and listed in `EventSources.unsupported`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from hireproof.local.errors import TemplateError
from hireproof.local.provision import ProvisionContext, ResourceRecord, put_rule
from hireproof.local.template import TemplateResource, iter_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: `method` is upper case or ANY, `path` is a route path or `$default`.

    `api` is the API id that events report in requestContext.apiId.
    """

    method: str
    path: str
    function: str
    authorizer: str | None = None
    api: str | None = None


@dataclass(frozen=True)
class ScheduleSource:
    """One Schedule or ScheduleV2 event of a function or state machine."""

    owner: str
    event_id: str
    expression: str
    rule_name: str
    rule_arn: str
    input: str | None
    enabled: bool


@dataclass
class EventSources:
    """Everything the stack connected for the template's Events."""

    routes: list[HttpRoute] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)


def _ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    return None


def _api_default_authorizer(ctx: ProvisionContext, api_logical_id: str | None) -> str | None:
    if api_logical_id is None or api_logical_id not in ctx.template.resources:
        return None
    auth = ctx.template.resources[api_logical_id].properties.get("Auth") or {}
    default = ctx.resolve(auth.get("DefaultAuthorizer")) if isinstance(auth, dict) else None
    return str(default) if default else None


def _http_route(
    ctx: ProvisionContext, owner: TemplateResource, event_id: str, properties: dict[str, Any]
) -> HttpRoute:
    api = _ref_target(properties.get("ApiId")) or "ServerlessHttpApi"
    resolved = ctx.resolve({k: v for k, v in properties.items() if k != "ApiId"}) or {}
    version = str(resolved.get("PayloadFormatVersion", "2.0"))
    if version != "2.0":
        raise TemplateError(
            f"{owner.logical_id}.{event_id}: PayloadFormatVersion {version} is not emulated; "
            "the local HTTP server builds payload 2.0 events only"
        )
    authorizer = (resolved.get("Auth") or {}).get("Authorizer") or _api_default_authorizer(ctx, api)
    if authorizer == "NONE":
        authorizer = None
    api_record = ctx.records.get(api)
    return HttpRoute(
        method=str(resolved.get("Method", "ANY")).upper(),
        path=str(resolved.get("Path", "$default")),
        function=owner.logical_id,
        authorizer=str(authorizer) if authorizer else None,
        api=str(api_record.physical_id) if api_record is not None else api,
    )


def _target(owner: TemplateResource, event_id: str, arn: str, properties: dict[str, Any]) -> dict[str, Any]:
    kind = "LambdaTarget" if owner.type == "AWS::Serverless::Function" else "StepFunctionsTarget"
    target_id = (properties.get("Target") or {}).get("Id") or f"{owner.logical_id}{event_id}{kind}"
    target: dict[str, Any] = {"Id": str(target_id)[:64], "Arn": arn}
    for key in ("Input", "InputPath", "InputTransformer", "RetryPolicy"):
        if key in properties:
            target[key] = properties[key]
    dead_letter = properties.get("DeadLetterConfig") or {}
    if dead_letter.get("Arn"):
        target["DeadLetterConfig"] = {"Arn": dead_letter["Arn"]}
    elif dead_letter:
        logger.warning(
            "generated dead-letter queues are not created locally",
            extra={"resource": owner.logical_id, "event": event_id},
        )
    return target


def _state(properties: dict[str, Any]) -> str:
    if properties.get("Enabled") is False or str(properties.get("State", "ENABLED")).upper() == "DISABLED":
        return "DISABLED"
    return "ENABLED"


def connect(
    ctx: ProvisionContext, owner: TemplateResource, record: ResourceRecord, sources: EventSources
) -> None:
    """Connect every entry of `owner`'s Events and add what was made to `sources`."""
    arn = record.arn
    if arn is None:
        return
    for event_id, event in iter_events(owner):
        event_type = str(event.get("Type"))
        raw_properties = dict(event.get("Properties") or {})
        label = f"{owner.logical_id}.{event_id} ({event_type})"

        if event_type == "HttpApi" and owner.type == "AWS::Serverless::Function":
            sources.routes.append(_http_route(ctx, owner, event_id, raw_properties))
            continue

        properties = ctx.resolve(raw_properties) or {}
        rule_name = ctx.name(f"{owner.logical_id}{event_id}", 64)
        if event_type in ("Schedule", "ScheduleV2"):
            expression = str(properties.get("Schedule") or properties.get("ScheduleExpression"))
            state = _state(properties)
            rule_arn = put_rule(
                ctx,
                name=rule_name,
                event_bus=None,
                schedule=expression,
                state=state,
                description=properties.get("Description"),
                targets=[_target(owner, event_id, arn, properties)],
            )
            sources.rules[f"{owner.logical_id}.{event_id}"] = rule_arn
            sources.schedules.append(
                ScheduleSource(
                    owner=owner.logical_id,
                    event_id=event_id,
                    expression=expression,
                    rule_name=rule_name,
                    rule_arn=rule_arn,
                    input=properties.get("Input"),
                    enabled=state == "ENABLED",
                )
            )
        elif event_type in ("EventBridgeRule", "CloudWatchEvent"):
            rule_arn = put_rule(
                ctx,
                name=str(properties.get("RuleName") or rule_name),
                event_bus=properties.get("EventBusName"),
                pattern=properties.get("Pattern"),
                state=_state(properties),
                targets=[_target(owner, event_id, arn, properties)],
            )
            sources.rules[f"{owner.logical_id}.{event_id}"] = rule_arn
        elif event_type == "SNS" and owner.type == "AWS::Serverless::Function":
            attributes = {}
            if properties.get("FilterPolicy"):
                attributes["FilterPolicy"] = json.dumps(properties["FilterPolicy"])
            ctx.client("sns").subscribe(
                TopicArn=properties["Topic"], Protocol="lambda", Endpoint=arn, Attributes=attributes
            )
        else:
            # NOTE: SQS, DynamoDB, Kinesis, S3 and REST Api events are not connected locally.
            sources.unsupported.append(label)
            logger.warning(
                "event source not emulated",
                extra={"resource": owner.logical_id, "event": event_id, "type": event_type},
            )
