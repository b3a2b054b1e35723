"""Check the state machine definitions against the template that deploys them.

cfn-lint does not open DefinitionUri files, so this script covers what lies between
template.yaml and statemachines/*.asl.json:

- every DefinitionUri of an AWS::Serverless::StateMachine names an existing file;
- every `${Key}` placeholder in a definition has a DefinitionSubstitutions key on each
  state machine that uses the file, and every key is used in the file;
- every definition passes statelint once its placeholders are filled in;
- definitions stay in JSONPath (no JSONata, no `Assign` variables), because the local
  runtime (moto) executes only that.

Usage: check_asl.py [--template template.yaml]
ASL files are looked up in statemachines/ beside the template. Each problem is printed
as `<file>: <problem>`; the exit status is 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from statelint.linter import Linter

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form tags (!Ref, !GetAtt, ...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {key: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    return {key: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


@dataclass
class Usage:
    """One state machine in the template that uses an ASL file."""

    logical_id: str
    substitutions: dict[str, Any] | None  # None when the template uses an intrinsic here


@dataclass
class Report:
    """Problems found so far, as `<file>: <problem>` lines."""

    problems: list[str] = field(default_factory=list)

    def add(self, path: Path | str, problem: str) -> None:
        self.problems.append(f"{_display(path)}: {problem}")


def _display(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return loaded if isinstance(loaded, dict) else {}


def collect_usages(
    template_path: Path, template: dict[str, Any], report: Report
) -> dict[Path, list[Usage]]:
    """Map each local DefinitionUri file to the state machines that use it."""
    usages: dict[Path, list[Usage]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != STATE_MACHINE_TYPE:
            continue
        properties = resource.get("Properties") or {}
        uri = properties.get("DefinitionUri")
        if not isinstance(uri, str):
            report.add(
                template_path,
                f"{logical_id}: DefinitionUri is missing or not a local file."
                " Keep each workflow in statemachines/*.asl.json",
            )
            continue
        asl_path = (template_path.parent / uri).resolve()
        if not asl_path.is_file():
            report.add(template_path, f"{logical_id}: DefinitionUri file not found: {uri}")
            continue
        substitutions = properties.get("DefinitionSubstitutions", {})
        if not isinstance(substitutions, dict) or _is_intrinsic(substitutions):
            report.add(
                template_path,
                f"{logical_id}: DefinitionSubstitutions is not a literal mapping,"
                " so its keys cannot be checked",
            )
            substitutions = None
        usages.setdefault(asl_path, []).append(Usage(logical_id, substitutions))
    return usages


def _is_intrinsic(value: dict[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


def fill_placeholders(text: str) -> str:
    """Replace each `${Key}` with a sample value of the right JSON kind.

    Inside a JSON string a placeholder becomes ARN-shaped text, because statelint
    expects a URI in Resource. Outside a string it becomes the number 1, as in a timeout.
    """
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(text):
        match = PLACEHOLDER.match(text, index)
        if match:
            key = match.group(1)
            out.append(f"arn:aws:hireproof:us-east-1:123456789012:{key}" if in_string else "1")
            index = match.end()
            continue
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        out.append(char)
        index += 1
    return "".join(out)


def jsonata_uses(definition: dict[str, Any], where: str = "State Machine") -> Iterator[str]:
    """Yield every QueryLanguage other than JSONPath, because moto cannot execute JSONata.

    statelint validates JSONata states instead of rejecting them. In JSONPath states it
    already rejects `Assign`, the other feature that moto lacks.
    """
    language = definition.get("QueryLanguage", "JSONPath")
    if language != "JSONPath":
        yield f"{where}.QueryLanguage is {language!r}. Write the workflow in JSONPath"
    states = definition.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        path = f"{where}.States.{name}"
        language = state.get("QueryLanguage", "JSONPath")
        if language != "JSONPath":
            yield f"{path}.QueryLanguage is {language!r}. Write the workflow in JSONPath"
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from jsonata_uses(branch, f"{path}.Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from jsonata_uses(state[key], f"{path}.{key}")


def check_file(asl_path: Path, usages: list[Usage], template_path: Path, report: Report) -> None:
    text = asl_path.read_text(encoding="utf-8")
    placeholders = set(PLACEHOLDER.findall(text))
    if not usages:
        report.add(asl_path, f"not used by any {STATE_MACHINE_TYPE} in {_display(template_path)}")
    for usage in usages:
        if usage.substitutions is None:
            continue
        keys = {str(key) for key in usage.substitutions}
        for key in sorted(placeholders - keys):
            report.add(
                asl_path,
                f"placeholder ${{{key}}} has no DefinitionSubstitutions key on {usage.logical_id}",
            )
        for key in sorted(keys - placeholders):
            report.add(
                asl_path,
                f"DefinitionSubstitutions key {key} of {usage.logical_id} is not used in the file",
            )
    try:
        definition = json.loads(fill_placeholders(text))
    except json.JSONDecodeError as exc:
        report.add(asl_path, f"invalid JSON after filling in placeholders: {exc}")
        return
    if not isinstance(definition, dict):
        report.add(asl_path, "invalid definition: expected a JSON object")
        return
    for problem in Linter.validate(definition):
        report.add(asl_path, problem)
    for problem in jsonata_uses(definition):
        report.add(asl_path, problem)


def check(template_path: Path) -> list[str]:
    """Return every problem found, as `<file>: <problem>` lines."""
    report = Report()
    template = load_template(template_path)
    usages = collect_usages(template_path, template, report)
    asl_files = set(usages)
    asl_dir = template_path.parent / "statemachines"
    asl_files.update(path.resolve() for path in asl_dir.glob("*.asl.json"))
    for asl_path in sorted(asl_files):
        check_file(asl_path, usages.get(asl_path, []), template_path, report)
    return report.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    args = parser.parse_args(argv)
    problems = check(args.template)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"check_asl: state machine definitions of {_display(args.template)} are consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
