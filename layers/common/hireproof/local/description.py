"""A running local stack described as JSON, for tools in other processes such as `hireproof --local`.

`make serve` writes the description to build/local-stack.json and deletes it on stop. It
contains what CloudFormation's DescribeStacks and ListStackResources return for a deployed
stack: the stack name, the ApiUrl output and each resource's type and physical id. It also
contains the moto endpoint, the region and the local dummy credentials that a client needs:

    {"stack_name": "hireproof-local", "region": "us-east-1",
     "endpoint_url": "http://127.0.0.1:PORT", "api_url": "http://127.0.0.1:PORT",
     "credentials": {"access_key_id": "...", "secret_access_key": "..."},
     "outputs": {"ApiUrl": "http://127.0.0.1:PORT"},
     "resources": {"AuditTable": {"type": "AWS::DynamoDB::Table", "physical_id": "..."}, ...},
     "functions": {"ReviewApiFunction": {"environment": {...}}, ...}}

Only resources the local runtime created are listed; skipped ones (alarms, the HTTP API) are not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hireproof.local.runtime import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from hireproof.local.stack import LocalStack

DEFAULT_PATH = Path("build") / "local-stack.json"


def describe(stack: LocalStack) -> dict[str, Any]:
    """Return the description of a running stack as a JSON-ready dict."""
    resources = {
        logical_id: {"type": record.type, "physical_id": str(record.physical_id)}
        for logical_id, record in stack.resources.items()
        if record.created
    }
    functions: dict[str, Any] = {}
    for logical_id, record in stack.resources.items():
        if record.type == "AWS::Serverless::Function" and record.created:
            try:
                functions[logical_id] = {"environment": stack.function_environment(logical_id)}
            except LookupError:
                continue  # a function without local code has no environment to report
    return {
        "stack_name": stack.stack_name,
        "region": REGION,
        "endpoint_url": stack.endpoint_url,
        "api_url": stack.api_url,
        "credentials": {"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY},
        "outputs": {"ApiUrl": stack.api_url},
        "resources": resources,
        "functions": functions,
    }


def write_description(stack: LocalStack, path: Path = DEFAULT_PATH) -> Path:
    """Write the stack's description to `path` (readable by the owner only) and return the path.

    The file holds only local dummy credentials, but it is still written with mode 0600,
    because it names a live endpoint that accepts them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(describe(stack), indent=2, sort_keys=True) + "\n"
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    # The rename makes a reader see either the old file or the whole new one.
    temporary.replace(path)
    return path


def run_operator_command(
    stack_file: Path, *arguments: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `hireproof --local-file <stack_file> ...` in its own process, as an operator would.

    The child gets this process's environment without AWS_ and HIREPROOF_ variables, so its
    only AWS settings are the ones in the stack file.
    """
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "HIREPROOF_"))
    }
    return subprocess.run(  # noqa: S603 - this interpreter and this repository's command
        [sys.executable, "-m", "hireproof.cli", "--local-file", str(stack_file), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
