"""Shared setup for the verification session tests: a mocked stack, a hire, captured AWS calls.

`sessions_stack()` builds template.yaml's tables, bucket, key, secrets and SES identity in
moto and sets the environment that the invitation and verification API functions read.
`CallRecorder` captures the parameters of chosen AWS operations on HireProof's cached
clients through botocore's event hooks, so tests count SendTaskSuccess calls and read the
e-mails that SES v2 was asked to send.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_lambda_powertools.utilities import parameters

# Powertools' Tracer builds X-Ray's recorder, which opens a UDP socket, on first use.
# Importing it here, while pytest collects and before sockets are disabled, opens it early.
from aws_xray_sdk.core import xray_recorder  # noqa: F401

from hireproof import aws as hireproof_aws
from hireproof.models import Address, Hire, HireSource, PersonName, onboarding_id_for
from hireproof.onboarding import store as onboarding_store
from template_resources import ROOT, StackResources, mocked_stack

PAGE_URL = "https://verify.example.test"
TOKEN_IN_LINK = re.compile(r"https://verify\.example\.test/verify#token=([A-Za-z0-9_\-]+)")
TOKEN_PLACEHOLDER = "REPLACE_WITH_INVITATION_TOKEN"


def make_hire(*, locale: str = "en", employee_id: str = "4821", **changes: Any) -> Hire:
    """Build the demo hire, whose name and date of birth match hireproof.local.assets' card."""
    hire = Hire(
        source=HireSource.BAMBOOHR,
        source_employee_id=employee_id,
        source_event_id=f"evt-{employee_id}",
        legal_name=PersonName(given="Renée", middle="Claire", family="Dubois"),
        preferred_name="Renée",
        personal_email="renee.dubois@example.net",
        work_email=f"renee.dubois.{employee_id}@example.com",
        locale=locale,
        date_of_birth=dt.date(1990, 5, 14),
        start_date=dt.date(2027, 1, 4),
        home_address=Address(line1="12 Rue Example", city="Springfield", postal_code="12345", country="US"),
    )
    return hire.model_copy(update=changes) if changes else hire


def add_onboarding(hire: Hire) -> str:
    """Store a hire as an onboarding record and return its id."""
    onboarding_id = onboarding_id_for(hire.source, hire.source_employee_id)
    onboarding_store.create_onboarding(onboarding_id, hire)
    return onboarding_id


def session_environment(stack: StackResources) -> dict[str, str]:
    """Return the environment both session functions need, with names from the mocked stack."""
    return {
        "EVIDENCE_BUCKET": stack.name("EvidenceBucket"),
        "DATA_KEY_ARN": stack.arn("DataKey"),
        "SENDER_EMAIL": stack.name("SenderIdentity"),
        "HASH_KEY_SECRET_ARN": stack.name("HashKeySecret"),
        "VERIFICATION_PAGE_URL": PAGE_URL,
        "INVITATION_TTL_SECONDS": "86400",
        "VERIFICATION_MAX_REMINDERS": "3",
        "VERIFICATION_MAX_ATTEMPTS": "3",
        "VERIFICATION_ENGINE": "local",
        "HIREPROOF_STAGE": "dev",
        "POWERTOOLS_SERVICE_NAME": "hireproof",
        "POWERTOOLS_METRICS_NAMESPACE": "HireProof",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


@contextmanager
def sessions_stack() -> Iterator[StackResources]:
    """Start moto with the template's resources and the session functions' environment."""
    parameters.clear_caches()
    with mocked_stack() as stack:
        os.environ.update(session_environment(stack))
        yield stack
    parameters.clear_caches()


class CallRecorder:
    """Records the parameters of AWS operations made through HireProof's cached clients."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}

    def watch(self, service: str, event_service: str, operation: str) -> list[dict[str, Any]]:
        """Start recording one operation, e.g. watch("stepfunctions", "sfn", "SendTaskSuccess")."""
        recorded = self.calls.setdefault(operation, [])

        def record(params: dict[str, Any], **_: Any) -> None:
            recorded.append(dict(params))

        hireproof_aws.client(service).meta.events.register(
            f"provide-client-params.{event_service}.{operation}", record
        )
        return recorded


def token_from_email(params: dict[str, Any]) -> str:
    """Return the invitation token of the link in a recorded SendEmail request."""
    text = params["Content"]["Simple"]["Body"]["Text"]["Data"]
    match = TOKEN_IN_LINK.search(text)
    assert match, "the e-mail contains no verification link"
    return match.group(1)


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py as its own module, as Lambda would."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # pydantic resolves the models' postponed annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_event(function: str, name: str) -> dict[str, Any]:
    """Read one sample event from events/<function>/<name>.json."""
    path: Path = ROOT / "events" / function / f"{name}.json"
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def api_event(name: str, token: str | None, *, body: str | None = None) -> dict[str, Any]:
    """Return a verification API sample event with the bearer token (or no header) and body."""
    event = load_event("verification_api", name)
    if token is None:
        del event["headers"]["authorization"]
    else:
        header = event["headers"]["authorization"]
        assert TOKEN_PLACEHOLDER in header
        event["headers"]["authorization"] = header.replace(TOKEN_PLACEHOLDER, token)
    if body is not None:
        event["body"] = body
    return event


class LambdaContext:
    """The context attributes Powertools' Logger reads."""

    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
