"""Estimate the AWS cost of one verified hire: webhook to ACTIVE on the happy path, us-east-1.

    .venv/bin/python benchmarks/cost.py           # prints the table; `make bench` also stores it

Where each quantity comes from:

- Step Functions state transitions: the states the happy path enters, found by walking
  statemachines/onboarding.asl.json from StartAt and taking the PASSED / approved branch of
  each Choice.
- Lambda invocations and the product's AWS requests (DynamoDB, S3, KMS, SES, SNS, EventBridge)
  are counted while the demo's genuine hire runs on the local stack. Invocations come from the
  local runtime's "invocation finished" log records. Requests come from a botocore
  `before-call` hook on the session from which `hireproof.aws` creates every client.
- What the local run cannot show is added from the code: the verification page's static
  requests (the browser loads them; the demo's phone does not), the Face Liveness route and
  the Rekognition and Textract calls that the Rekognition engine makes per verification (the
  local engine makes none), and the hire's three direct S3 uploads per verification.
- Lambda GB-seconds use each function's MemorySize from template.yaml and a typical duration
  per invocation that is an estimate (TYPICAL_DURATION_MS), not a measurement in AWS.

Not counted: Secrets Manager reads (Powertools caches them per container), the KMS requests
that DynamoDB, S3, SQS and SNS make to encrypt with DataKey (they cache data keys), CloudWatch
Logs and metrics, X-Ray traces, the identity provider and fulfillment service, and fixed
monthly costs (KMS keys, the dashboard, alarms). Read units assume items under 4 KB and write units items
under 1 KB, so large onboarding items cost somewhat more than shown.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASL_FILE = ROOT / "statemachines" / "onboarding.asl.json"
TEMPLATE_FILE = ROOT / "template.yaml"

PRICES_AS_OF = "December 2026"
UNVERIFIED = f"list price as of {PRICES_AS_OF}, not verified here"


@dataclass(frozen=True)
class Price:
    """One us-east-1 on-demand list price: USD per `per` units, and where the figure came from."""

    usd: float
    per: int
    unit: str
    source: str

    @property
    def each(self) -> float:
        """USD for one unit."""
        return self.usd / self.per


PRICES: dict[str, Price] = {
    "lambda_request": Price(0.20, 1_000_000, "request", "aws.amazon.com/lambda/pricing; " + UNVERIFIED),
    # arm64, first 6 billion GB-seconds a month.
    "lambda_gb_second": Price(
        0.0000133334, 1, "GB-second", "artillery lib/platform/aws-lambda/prices.js (arm64 base rate)"
    ),
    "step_functions_transition": Price(
        0.025, 1_000, "state transition", "aws/agent-toolkit-for-aws step-functions guide ($0.025/1000)"
    ),
    "http_api_request": Price(1.00, 1_000_000, "request", "API Gateway HTTP API, first 300M; " + UNVERIFIED),
    "dynamodb_write": Price(
        0.625, 1_000_000, "write request unit", "on-demand after the November 2024 cut (airbyte.com summary)"
    ),
    "dynamodb_read": Price(
        0.125, 1_000_000, "read request unit", "on-demand after the November 2024 cut (airbyte.com summary)"
    ),
    "s3_write": Price(0.005, 1_000, "PUT, POST, LIST or COPY", "S3 Standard; " + UNVERIFIED),
    "s3_read": Price(0.0004, 1_000, "GET or other request", "S3 Standard; " + UNVERIFIED),
    "kms_request": Price(0.03, 10_000, "request", UNVERIFIED),
    "ses_email": Price(0.10, 1_000, "e-mail", UNVERIFIED),
    "sns_publish": Price(0.50, 1_000_000, "publish", UNVERIFIED),
    "eventbridge_event": Price(1.00, 1_000_000, "custom event", UNVERIFIED),
    "rekognition_face_liveness": Price(0.015, 1, "check", "first 500K checks a month; " + UNVERIFIED),
    "rekognition_image": Price(
        0.001, 1, "image", "CompareFaces and DetectFaces, first 1M a month; " + UNVERIFIED
    ),
    "textract_analyze_id": Price(0.025, 1, "page", "AnalyzeID, first 100K pages a month; " + UNVERIFIED),
}

# Verifications per hire on the happy path: the hire's own, then the laptop recipient's.
VERIFICATIONS = 2
# Per verification with the Rekognition engine (hireproof.verification.rekognition_engine):
# one Face Liveness check, DetectFaces on the reference face and on the ID front, one
# CompareFaces, and AnalyzeID on the front (one page).
REKOGNITION_PER_VERIFICATION = {
    "rekognition_face_liveness": 1,
    "rekognition_image": 3,
    "textract_analyze_id": 1,
}
# The page (index.html), icon.svg, styles.css, five JavaScript modules and one message
# catalog, all served by VerificationPageFunction, once per verification.
PAGE_REQUESTS_PER_VERIFICATION = 9
# POST /verify/liveness, which only the Rekognition engine uses.
LIVENESS_ROUTE_PER_VERIFICATION = 1
# Presigned POSTs of the ID front, ID back and selfie, straight from the phone to S3.
UPLOADS_PER_VERIFICATION = 3

# Typical duration of one invocation in AWS, in milliseconds: estimates, not measurements.
# Steps that call the identity provider or the fulfillment service wait on the network. The
# verification API's average mixes five short routes with one submit of about 2.5 s, in which
# Face Liveness results, DetectFaces, CompareFaces and AnalyzeID run in parallel.
DEFAULT_DURATION_MS = 150
TYPICAL_DURATION_MS = {
    "HrWebhookFunction": 300,
    "StageAccountFunction": 400,
    "IssueCredentialsFunction": 500,
    "GrantAccessFunction": 400,
    "ShipLaptopFunction": 400,
    "CloseOnboardingFunction": 300,
    "InviteToVerifyFunction": 250,
    "VerificationApiFunction": 600,
    "VerificationPageFunction": 20,
}

# Operations (botocore names) and the price each request is billed at.
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
S3_WRITE_OPERATIONS = {"PutObject", "CopyObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload"}
FREE_S3_OPERATIONS = {"DeleteObject", "DeleteObjects"}


# ----------------------------------------------------------------- the state machine
def happy_path(asl: dict[str, Any]) -> list[str]:
    """Return the names of the states a verified hire's execution enters, in order.

    A Choice follows its rule that compares with "PASSED" or `true`; every other state
    follows Next until a state ends the execution.
    """
    states = asl["States"]
    path: list[str] = []
    name: str | None = asl["StartAt"]
    while name is not None:
        if name in path:
            raise ValueError(f"the happy path loops at state {name!r}")
        path.append(name)
        state = states[name]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            return path
        if state["Type"] == "Choice":
            name = next(
                (
                    rule["Next"]
                    for rule in state["Choices"]
                    if rule.get("StringEquals") == "PASSED" or rule.get("BooleanEquals") is True
                ),
                None,
            )
            if name is None:
                raise ValueError(f"choice {path[-1]!r} has no PASSED or approved branch")
        else:
            name = state["Next"]
    return path


# ----------------------------------------------------------------- the template
def function_memory_mb() -> dict[str, int]:
    """Return each function's MemorySize from template.yaml, Globals applied."""
    from hireproof.local.template import Template, load_document

    template = Template(load_document(TEMPLATE_FILE), {}, base_dir=ROOT)
    return {
        resource.logical_id: int(resource.properties.get("MemorySize", 128))
        for resource in template.resources_of_type("AWS::Serverless::Function")
    }


# ----------------------------------------------------------------- counting on the local stack
class _InvocationCounter(logging.Handler):
    """Counts the local runtime's "invocation finished" records by function logical id."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.invocations: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "invocation finished":
            self.invocations[str(getattr(record, "function", "?"))] += 1


@contextmanager
def _counting_product_requests() -> Iterator[Counter[tuple[str, str]]]:
    """Count the AWS requests of every client that `hireproof.aws` creates, by service and operation."""
    from hireproof import aws

    requests: Counter[tuple[str, str]] = Counter()
    original = aws._session

    def count(model: Any, **_: Any) -> None:
        requests[(model.service_model.service_name, model.name)] += 1

    @functools.cache
    def counted_session() -> Any:
        session = original.__wrapped__()
        session.events.register("before-call", count)
        return session

    aws._session = counted_session
    aws.reset_clients()
    try:
        yield requests
    finally:
        aws._session = original
        aws.reset_clients()


def measure_genuine_hire() -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Run the demo's genuine hire once on a fresh local stack; return invocations and requests."""
    import os

    from hireproof.demo import scenarios
    from hireproof.demo.__main__ import build_demo
    from hireproof.local.defaults import DEMO_PARAMETERS, default_services
    from hireproof.local.stack import LocalStack

    invoker_logger = logging.getLogger("hireproof.local.invoker")
    counter = _InvocationCounter()
    saved_level = invoker_logger.level
    invoker_logger.addHandler(counter)
    invoker_logger.setLevel(logging.INFO)
    services = default_services()
    try:
        with (
            warnings.catch_warnings(),
            open(os.devnull, "w") as quiet,
            _redirect_stdout(quiet),
            _counting_product_requests() as requests,
            LocalStack(
                parameter_overrides=DEMO_PARAMETERS, services=services, stack_name="hireproof-cost"
            ) as stack,
        ):
            # Powertools warns for each handler call that emitted no metric; that is expected here.
            warnings.simplefilter("ignore", UserWarning)
            demo = build_demo(stack, services)
            counter.invocations.clear()
            requests.clear()
            report = scenarios.genuine_hire(demo, employee_id="COST-1")
            stack.wait_for_deliveries()
            if not scenarios.as_expected(report):
                raise RuntimeError(f"the genuine hire did not complete: {scenarios.mismatches(report)}")
            return Counter(counter.invocations), Counter(requests)
    finally:
        invoker_logger.removeHandler(counter)
        invoker_logger.setLevel(saved_level)


@contextmanager
def _redirect_stdout(stream: Any) -> Iterator[None]:
    # Handlers' Powertools loggers print JSON lines; the cost table should stand alone.
    saved, sys.stdout = sys.stdout, stream
    try:
        yield
    finally:
        sys.stdout = saved


# ----------------------------------------------------------------- pricing
@dataclass(frozen=True)
class LineItem:
    """One row of the estimate."""

    component: str
    quantity: float
    price: str

    @property
    def usd(self) -> float:
        """Cost of this row in USD."""
        return self.quantity * PRICES[self.price].each


def line_items(
    transitions: int,
    invocations: Counter[str],
    requests: Counter[tuple[str, str]],
    memory_mb: dict[str, int],
) -> list[LineItem]:
    """Price one verified hire from its counts."""
    invocations = Counter(invocations)
    invocations["VerificationPageFunction"] += PAGE_REQUESTS_PER_VERIFICATION * VERIFICATIONS
    invocations["VerificationApiFunction"] += LIVENESS_ROUTE_PER_VERIFICATION * VERIFICATIONS
    http_functions = (
        "HrWebhookFunction",
        "VerificationApiFunction",
        "VerificationPageFunction",
        "FulfillmentCallbackFunction",
    )
    gb_seconds = sum(
        count * memory_mb.get(name, 512) / 1024 * TYPICAL_DURATION_MS.get(name, DEFAULT_DURATION_MS) / 1000
        for name, count in invocations.items()
    )

    by_price: Counter[str] = Counter()
    for (service, operation), count in requests.items():
        if service == "dynamodb" and operation in WRITE_OPERATIONS:
            by_price["dynamodb_write"] += count
        elif service == "dynamodb" and operation in READ_OPERATIONS:
            by_price["dynamodb_read"] += count
        elif service == "s3" and operation not in FREE_S3_OPERATIONS:
            by_price["s3_write" if operation in S3_WRITE_OPERATIONS else "s3_read"] += count
        elif service == "kms":
            by_price["kms_request"] += count
        elif service in ("ses", "sesv2") and operation == "SendEmail":
            by_price["ses_email"] += count
        elif service == "sns" and operation == "Publish":
            by_price["sns_publish"] += count
        elif service == "events" and operation == "PutEvents":
            by_price["eventbridge_event"] += count
    by_price["s3_write"] += UPLOADS_PER_VERIFICATION * VERIFICATIONS
    for price, count in REKOGNITION_PER_VERIFICATION.items():
        by_price[price] += count * VERIFICATIONS

    items = [
        LineItem("Step Functions state transitions", transitions, "step_functions_transition"),
        LineItem("Lambda requests", sum(invocations.values()), "lambda_request"),
        LineItem("Lambda compute (arm64)", round(gb_seconds, 3), "lambda_gb_second"),
        LineItem("HTTP API requests", sum(invocations[name] for name in http_functions), "http_api_request"),
    ]
    labels = {
        "dynamodb_write": "DynamoDB writes",
        "dynamodb_read": "DynamoDB reads",
        "s3_write": "S3 PUT/POST/LIST",
        "s3_read": "S3 GET",
        "kms_request": "KMS requests",
        "ses_email": "SES e-mails",
        "sns_publish": "SNS publishes",
        "eventbridge_event": "EventBridge events",
        "rekognition_face_liveness": "Rekognition Face Liveness",
        "rekognition_image": "Rekognition CompareFaces/DetectFaces",
        "textract_analyze_id": "Textract AnalyzeID pages",
    }
    items.extend(
        LineItem(label, by_price[price], price) for price, label in labels.items() if by_price[price]
    )
    return items


def estimate() -> dict[str, Any]:
    """Measure and price one verified hire; return the figures for build/bench.json."""
    path = happy_path(json.loads(ASL_FILE.read_text(encoding="utf-8")))
    invocations, requests = measure_genuine_hire()
    items = line_items(len(path), invocations, requests, function_memory_mb())
    total = sum(item.usd for item in items)
    return {
        "per_verified_hire_usd": round(total, 4),
        "region": "us-east-1",
        "prices_as_of": PRICES_AS_OF,
        "happy_path_states": path,
        "items": [
            {
                "component": item.component,
                "quantity": item.quantity,
                "unit": PRICES[item.price].unit,
                "unit_usd": PRICES[item.price].each,
                "usd": round(item.usd, 6),
                "price_source": PRICES[item.price].source,
            }
            for item in items
        ],
        "lambda_invocations": dict(sorted(invocations.items())),
        "aws_requests": {
            f"{service}:{operation}": count for (service, operation), count in sorted(requests.items())
        },
    }


def print_table(figures: dict[str, Any], out: Any = sys.stdout) -> None:
    """Print the estimate as a table with its total."""
    out.write(f"cost per verified hire, us-east-1 list prices as of {figures['prices_as_of']} (estimate):\n")
    out.write(f"  {'component':<38} {'quantity':>10}  {'unit price (USD)':>16}  {'cost (USD)':>11}\n")
    for item in figures["items"]:
        quantity, unit_usd, usd = item["quantity"], item["unit_usd"], item["usd"]
        out.write(f"  {item['component']:<38} {quantity:>10g}  {unit_usd:>16.10f}  {usd:>11.6f}\n")
    out.write(f"  {'total':<38} {'':>10}  {'':>16}  {figures['per_verified_hire_usd']:>11.4f}\n")
    out.write(f"  happy path: {len(figures['happy_path_states'])} states entered\n")


def main() -> int:
    figures = estimate()
    print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
