"""Load a SAM template and resolve its parameters, conditions, Globals and intrinsic functions.

The local stack creates resources in moto from the same template.yaml that SAM deploys, so this
module implements the part of CloudFormation and the SAM transform that decides property values:

- YAML short tags (`!Ref`, `!Sub`, `!GetAtt`, ...) and their long forms (`Ref`, `Fn::Sub`, ...);
- parameters: defaults, overrides, AllowedValues, AllowedPattern, length and value bounds;
- conditions and resource `Condition`, `Fn::If` and `AWS::NoValue`;
- SAM Globals merged into each `AWS::Serverless::*` resource (maps merge, lists prepend the
  Globals);
- the SAM resources that the transform would generate and that templates refer to
  (`<Function>Role`, `<StateMachine>Role`, `ServerlessHttpApi`);
- a creation order in which every resource comes after the resources its properties refer to.

Resource references are resolved through a `ReferenceResolver`, so the template never needs to know
how the stack names its resources.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from hireproof.local.errors import TemplateError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
STACK_NAME = "hireproof-local"


class _NoValue:
    """The value of `Ref: AWS::NoValue`: the enclosing key or list item is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

# SAM properties that the transform turns into separate resources. Their references do not order the
# function or state machine itself, and they are handled after every resource exists.
DEFERRED_PROPERTIES: Mapping[str, frozenset[str]] = {
    "AWS::Serverless::Function": frozenset({"Events", "Policies"}),
    "AWS::Serverless::StateMachine": frozenset({"Events", "Policies"}),
}

_GLOBALS_SECTIONS = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "StateMachine": "AWS::Serverless::StateMachine",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


# ----------------------------------------------------------------------------- YAML
class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation short tags and keeps date-like scalars as strings."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported YAML node for !{name}")

    if name == "Ref":
        return {"Ref": value}
    if name == "Condition":
        return {"Condition": value}
    if name == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{name}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)
# CloudFormation reads `2010-09-09` and similar scalars as strings, not dates.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_document(path: Path) -> dict[str, Any]:
    """Read a template file (YAML or JSON) into plain dicts with long-form intrinsic functions."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    try:
        document = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid YAML in template {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources section")
    return document


# ----------------------------------------------------------------------------- model
class ReferenceResolver(Protocol):
    """Supplies the values of `Ref` and `Fn::GetAtt` for resources."""

    def ref(self, logical_id: str) -> Any:
        """Return the value of `Ref` for a resource."""
        ...

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """Return the value of `Fn::GetAtt` for a resource attribute."""
        ...


@dataclass(frozen=True)
class TemplateResource:
    """One resource after conditions and SAM Globals, with its properties still unresolved."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    implicit: bool = False
    """True for a resource that the SAM transform would generate, such as `<Function>Role`."""


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """Merge a SAM Globals value into a resource value the way the SAM transform does.

    Maps merge key by key (recursively, the resource wins on a conflict), lists put the Globals
    items first, and any other value, including an intrinsic function, is replaced by the
    resource's.
    """
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


# ----------------------------------------------------------------------------- template
class Template:
    """A template with parameters and conditions decided and Globals merged.

    `parameter_overrides` replace parameter defaults. An override for a parameter that the template
    does not declare raises TemplateError, so a typo cannot silently leave the default in place.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        parameter_overrides: Mapping[str, Any] | None = None,
        *,
        base_dir: Path,
        stack_name: str = STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.document = document
        self.base_dir = base_dir
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.pseudo_parameters: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": PARTITION,
            "AWS::StackName": stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{region}:{account_id}:stack/{stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.mappings: dict[str, Any] = dict(document.get("Mappings") or {})
        self._excluded: set[str] = set()
        self.parameters = self._decide_parameters(parameter_overrides or {})
        self.conditions = self._decide_conditions()
        self.resources = self._select_resources()

    @classmethod
    def from_file(
        cls,
        path: Path,
        parameter_overrides: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Template:
        """Load the template at `path`; relative CodeUri and DefinitionUri start at its folder."""
        return cls(load_document(path), parameter_overrides, base_dir=path.parent, **kwargs)

    @property
    def declared_parameters(self) -> dict[str, Any]:
        """The template's Parameters section."""
        return dict(self.document.get("Parameters") or {})

    # ------------------------------------------------------------------ parameters
    def _decide_parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        declared = self.declared_parameters
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(
                f"parameter override(s) {unknown} are not declared by the template; "
                f"declared parameters: {sorted(declared)}"
            )
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in overrides:
                raw = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
            values[name] = _parameter_value(name, spec, raw)
        return values

    # ------------------------------------------------------------------ conditions
    def _decide_conditions(self) -> dict[str, bool]:
        definitions: dict[str, Any] = dict(self.document.get("Conditions") or {})
        decided: dict[str, bool] = {}
        in_progress: list[str] = []

        def decide(name: str) -> bool:
            if name in decided:
                return decided[name]
            if name not in definitions:
                raise TemplateError(f"condition {name} is not defined in Conditions")
            if name in in_progress:
                raise TemplateError(f"conditions refer to each other in a cycle: {[*in_progress, name]}")
            in_progress.append(name)
            value = self._evaluate(definitions[name], None, decide)
            in_progress.pop()
            if not isinstance(value, bool):
                raise TemplateError(f"condition {name} does not evaluate to true or false")
            decided[name] = value
            return value

        for name in definitions:
            decide(name)
        return decided

    def condition(self, name: str) -> bool:
        """Return the value of a named condition."""
        if name not in self.conditions:
            raise TemplateError(f"condition {name} is not defined in Conditions")
        return self.conditions[name]

    # ------------------------------------------------------------------ resources
    def _select_resources(self) -> dict[str, TemplateResource]:
        globals_section: dict[str, Any] = dict(self.document.get("Globals") or {})
        globals_by_type = {
            _GLOBALS_SECTIONS[name]: value
            for name, value in globals_section.items()
            if name in _GLOBALS_SECTIONS
        }
        unknown_globals = sorted(set(globals_section) - set(_GLOBALS_SECTIONS))
        if unknown_globals:
            raise TemplateError(f"Globals has unknown section(s) {unknown_globals}")

        resources: dict[str, TemplateResource] = {}
        for logical_id, body in (self.document.get("Resources") or {}).items():
            if not isinstance(body, dict) or "Type" not in body:
                raise TemplateError(f"resource {logical_id} has no Type")
            condition = body.get("Condition")
            if condition is not None and not self.condition(condition):
                continue
            resource_type = body["Type"]
            properties = dict(body.get("Properties") or {})
            if resource_type in globals_by_type:
                properties = merge_globals(globals_by_type[resource_type], properties)
            depends_on = body.get("DependsOn") or ()
            if isinstance(depends_on, str):
                depends_on = (depends_on,)
            resources[logical_id] = TemplateResource(
                logical_id=logical_id,
                type=resource_type,
                properties=properties,
                depends_on=tuple(depends_on),
                metadata=dict(body.get("Metadata") or {}),
            )
        self._excluded = {
            logical_id for logical_id in (self.document.get("Resources") or {}) if logical_id not in resources
        }
        resources.update(self._implicit_resources(resources, globals_by_type))
        return resources

    def _implicit_resources(
        self, resources: Mapping[str, TemplateResource], globals_by_type: Mapping[str, Any]
    ) -> dict[str, TemplateResource]:
        implicit: dict[str, TemplateResource] = {}
        needs_http_api = False
        for resource in resources.values():
            if resource.type in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
                role_id = f"{resource.logical_id}Role"
                if "Role" not in resource.properties and role_id not in resources:
                    principal = (
                        "lambda.amazonaws.com"
                        if resource.type == "AWS::Serverless::Function"
                        else "states.amazonaws.com"
                    )
                    implicit[role_id] = TemplateResource(
                        logical_id=role_id,
                        type="AWS::IAM::Role",
                        properties={"AssumeRolePolicyDocument": _trust_policy(principal)},
                        implicit=True,
                    )
            if resource.type == "AWS::Serverless::Function":
                for event in (resource.properties.get("Events") or {}).values():
                    is_http = isinstance(event, dict) and event.get("Type") == "HttpApi"
                    if is_http and "ApiId" not in (event.get("Properties") or {}):
                        needs_http_api = True
        if needs_http_api and "ServerlessHttpApi" not in resources:
            implicit["ServerlessHttpApi"] = TemplateResource(
                logical_id="ServerlessHttpApi",
                type="AWS::Serverless::HttpApi",
                properties=dict(globals_by_type.get("AWS::Serverless::HttpApi") or {}),
                implicit=True,
            )
        return implicit

    def resources_of_type(self, *types: str) -> list[TemplateResource]:
        """Return the resources of the given types in template order."""
        return [resource for resource in self.resources.values() if resource.type in types]

    def resource(self, logical_id: str) -> TemplateResource:
        """Return one resource or raise TemplateError naming the known logical ids."""
        if logical_id not in self.resources:
            raise TemplateError(
                f"resource {logical_id} is not in the template (or its condition is false); "
                f"resources: {sorted(self.resources)}"
            )
        return self.resources[logical_id]

    # ------------------------------------------------------------------ dependencies
    def references(self, value: Any) -> set[str]:
        """Return the logical ids of resources that `value` refers to through Ref, GetAtt or Sub."""
        found: set[str] = set()
        self._collect_references(value, found)
        return {name for name in found if name in self.resources or name in self._excluded}

    def _collect_references(self, value: Any, found: set[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self._collect_references(item, found)
            return
        if not isinstance(value, dict):
            return
        if _is_intrinsic(value):
            key, argument = next(iter(value.items()))
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
                return
            if key == "Fn::GetAtt":
                logical_id = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
                found.add(str(logical_id))
                return
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                for name in _SUB_VARIABLE.findall(text):
                    if not name.startswith("!") and name not in variables:
                        found.add(name.split(".")[0])
                self._collect_references(variables, found)
                return
            if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
                branch = argument[1] if self.condition(argument[0]) else argument[2]
                self._collect_references(branch, found)
                return
        for item in value.values():
            self._collect_references(item, found)

    def dependencies(self, logical_id: str) -> set[str]:
        """Return the resources that must exist before `logical_id` can be created."""
        resource = self.resource(logical_id)
        deferred = DEFERRED_PROPERTIES.get(resource.type, frozenset())
        properties = {key: value for key, value in resource.properties.items() if key not in deferred}
        needed = self.references(properties) | set(resource.depends_on)
        generated_role = self.resources.get(f"{logical_id}Role")
        if generated_role is not None and generated_role.implicit:
            needed.add(generated_role.logical_id)
        needed.discard(logical_id)
        excluded = sorted(needed & self._excluded)
        if excluded:
            raise TemplateError(f"resource {logical_id} refers to {excluded}, whose condition is false")
        unknown = sorted(needed - set(self.resources))
        if unknown:
            raise TemplateError(f"resource {logical_id} depends on unknown resource(s) {unknown}")
        return needed

    def creation_order(self) -> list[str]:
        """Return every logical id with dependencies first, in template order otherwise."""
        order: list[str] = []
        state: dict[str, str] = {}
        path: list[str] = []

        def visit(logical_id: str) -> None:
            if state.get(logical_id) == "done":
                return
            if state.get(logical_id) == "visiting":
                cycle = [*path[path.index(logical_id) :], logical_id]
                raise TemplateError(f"resources refer to each other in a cycle: {' -> '.join(cycle)}")
            state[logical_id] = "visiting"
            path.append(logical_id)
            for dependency in sorted(self.dependencies(logical_id)):
                visit(dependency)
            path.pop()
            state[logical_id] = "done"
            order.append(logical_id)

        for logical_id in self.resources:
            visit(logical_id)
        return order

    # ------------------------------------------------------------------ intrinsic functions
    def resolve(self, value: Any, resolver: ReferenceResolver) -> Any:
        """Return `value` with intrinsic functions evaluated and AWS::NoValue entries removed."""
        resolved = self._evaluate(value, resolver, self.condition)
        return None if resolved is NO_VALUE else resolved

    def _evaluate(self, value: Any, resolver: ReferenceResolver | None, condition: Any) -> Any:
        if isinstance(value, list):
            items = [self._evaluate(item, resolver, condition) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if _is_intrinsic(value):
            key, argument = next(iter(value.items()))
            return self._intrinsic(key, argument, resolver, condition)
        result: dict[str, Any] = {}
        for key, item in value.items():
            evaluated = self._evaluate(item, resolver, condition)
            if evaluated is not NO_VALUE:
                result[key] = evaluated
        return result

    def _intrinsic(self, name: str, argument: Any, resolver: ReferenceResolver | None, condition: Any) -> Any:
        def evaluate(item: Any) -> Any:
            return self._evaluate(item, resolver, condition)

        if name == "Ref":
            return self._ref(str(argument), resolver)
        if name == "Condition":
            return bool(condition(str(argument)))
        if name == "Fn::GetAtt":
            if isinstance(argument, str):
                logical_id, _, attribute = argument.partition(".")
            else:
                logical_id, attribute = evaluate(argument[0]), ".".join(evaluate(argument[1:]))
            return self._get_att(str(logical_id), str(attribute), resolver)
        if name == "Fn::Sub":
            return self._sub(argument, resolver, condition)
        if name == "Fn::If":
            _expect_list(name, argument, 3)
            chosen = argument[1] if condition(argument[0]) else argument[2]
            return evaluate(chosen)
        if name == "Fn::Equals":
            _expect_list(name, argument, 2)
            return _comparable(evaluate(argument[0])) == _comparable(evaluate(argument[1]))
        if name == "Fn::Not":
            _expect_list(name, argument, 1)
            return not _expect_bool(name, evaluate(argument[0]))
        if name == "Fn::And":
            return all(_expect_bool(name, evaluate(item)) for item in _expect_list(name, argument))
        if name == "Fn::Or":
            return any(_expect_bool(name, evaluate(item)) for item in _expect_list(name, argument))
        if name == "Fn::Join":
            _expect_list(name, argument, 2)
            delimiter, items = evaluate(argument[0]), evaluate(argument[1])
            if not isinstance(items, list):
                raise TemplateError(f"Fn::Join needs a list, got {items!r}")
            return str(delimiter).join(_text(item) for item in items)
        if name == "Fn::Select":
            _expect_list(name, argument, 2)
            index, items = int(evaluate(argument[0])), evaluate(argument[1])
            if not isinstance(items, list) or not 0 <= index < len(items):
                raise TemplateError(f"Fn::Select index {index} is outside {items!r}")
            return items[index]
        if name == "Fn::Split":
            _expect_list(name, argument, 2)
            return _text(evaluate(argument[1])).split(str(evaluate(argument[0])))
        if name == "Fn::FindInMap":
            return self._find_in_map(evaluate(argument))
        if name == "Fn::Base64":
            return base64.b64encode(_text(evaluate(argument)).encode("utf-8")).decode("ascii")
        if name == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in ("a", "b", "c")]
        if name == "Fn::ToJsonString":
            return json.dumps(evaluate(argument), separators=(",", ":"))
        if name == "Fn::Length":
            items = evaluate(argument)
            if not isinstance(items, list):
                raise TemplateError(f"Fn::Length needs a list, got {items!r}")
            return len(items)
        if name == "Fn::ImportValue":
            raise TemplateError("Fn::ImportValue refers to another stack, which the local stack cannot read")
        raise TemplateError(f"intrinsic function {name} is not supported by the local stack")

    def _ref(self, name: str, resolver: ReferenceResolver | None) -> Any:
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self._excluded:
            raise TemplateError(f"Ref {name}: the resource's condition is false, so it does not exist")
        if name in self.resources:
            if resolver is None:
                raise TemplateError(f"Ref {name}: conditions cannot refer to resources")
            return resolver.ref(name)
        raise TemplateError(f"Ref {name}: no parameter, pseudo parameter or resource has that name")

    def _get_att(self, logical_id: str, attribute: str, resolver: ReferenceResolver | None) -> Any:
        if logical_id in self._excluded:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: the resource's condition is false")
        if logical_id not in self.resources:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: no resource has that logical id")
        if resolver is None:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: conditions cannot refer to resources")
        return resolver.get_att(logical_id, attribute)

    def _sub(self, argument: Any, resolver: ReferenceResolver | None, condition: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            _expect_list("Fn::Sub", argument, 2)
            text = argument[0]
            variables = self._evaluate(argument[1], resolver, condition)
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub needs a string, got {text!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name and name not in self.pseudo_parameters:
                logical_id, _, attribute = name.partition(".")
                return _text(self._get_att(logical_id, attribute, resolver))
            return _text(self._ref(name, resolver))

        return _SUB_VARIABLE.sub(replace, text)

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise TemplateError(f"Fn::FindInMap needs [map, top key, second key], got {argument!r}")
        map_name, top, second = (str(item) for item in argument[:3])
        try:
            return self.mappings[map_name][top][second]
        except KeyError:
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return argument[3]["DefaultValue"]
            raise TemplateError(f"Fn::FindInMap: {map_name}/{top}/{second} is not in Mappings") from None


# ----------------------------------------------------------------------------- helpers
def _trust_policy(principal: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }


def _parameter_value(name: str, spec: Mapping[str, Any], raw: Any) -> Any:
    parameter_type = str(spec.get("Type", "String"))
    is_list = parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")
    if is_list:
        items = raw if isinstance(raw, list) else [item.strip() for item in str(raw).split(",")]
        values = [str(item) for item in items if str(item) != ""]
        for item in values:
            _check_allowed(name, spec, item)
        return values

    text = _text(raw)
    _check_allowed(name, spec, text)
    if parameter_type == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(f"parameter {name} must be a number, got {text!r}") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}={text} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}={text} is above MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name} is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        raise TemplateError(f"parameter {name} is longer than MaxLength {spec['MaxLength']}")
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), text):
        raise TemplateError(
            f"parameter {name}={text!r} does not match AllowedPattern {spec['AllowedPattern']}"
        )
    return text


def _check_allowed(name: str, spec: Mapping[str, Any], text: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [_text(item) for item in allowed]:
        raise TemplateError(f"parameter {name}={text!r} is not one of AllowedValues {allowed}")


def _text(value: Any) -> str:
    """Render a scalar the way CloudFormation does when it becomes part of a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"expected a string value, got {value!r}")


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, (str, int, float, bool)):
        return _text(value)
    return value


def _expect_list(name: str, argument: Any, length: int | None = None) -> list[Any]:
    if not isinstance(argument, list) or (length is not None and len(argument) != length):
        expected = f"a list of {length}" if length is not None else "a list"
        raise TemplateError(f"{name} needs {expected}, got {argument!r}")
    return argument


def _expect_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TemplateError(f"{name} needs true or false, got {value!r}")
    return value


def as_text(value: Any) -> str:
    """Return a resolved scalar as the string CloudFormation would pass to a service."""
    return _text(value)


def text_map(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Return a resolved map of scalars (such as environment variables) with string values."""
    return {str(key): _text(value) for key, value in (values or {}).items()}


def iter_events(resource: TemplateResource) -> Iterable[tuple[str, dict[str, Any]]]:
    """Yield (event id, event definition) for a SAM function's or state machine's Events."""
    for event_id, event in (resource.properties.get("Events") or {}).items():
        if isinstance(event, dict):
            yield str(event_id), event
