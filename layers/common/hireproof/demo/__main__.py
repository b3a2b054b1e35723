"""Run the demo: `python -m hireproof.demo` (or `make demo`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hireproof.demo import access, recovery, risk, scenarios
from hireproof.demo.actors import HrSystem, Reviewer
from hireproof.local.defaults import DEMO_PARAMETERS, default_services, seed
from hireproof.local.fakes.access_gateway import FakeAccessGateway
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.fakes.okta import FakeOkta

REPORT_FIELDS = (
    "scenario",
    "execution_status",
    "onboarding_state",
    "decision",
    "reasons",
    "credentials_issued",
    "shipments",
    "alerts",
    "wall_seconds",
)


def _print_summary(reports: list[scenarios.ScenarioReport]) -> None:
    print()
    print(f"{'scenario':<30} {'execution':<10} {'state':<8} {'decision':<13} cred ship alert  secs  reasons")
    for r in reports:
        print(
            f"{r.scenario:<30} {r.execution_status:<10} {r.onboarding_state:<8} {r.decision or '-':<13} "
            f"{r.credentials_issued:>4} {r.shipments:>4} {r.alerts:>5} {r.wall_seconds:>5.1f}  "
            f"{', '.join(r.reasons) or '-'}"
        )
        for note in r.notes:
            print(f"{'':<32}- {note}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run HireProof's onboarding scenarios on the local stack.")
    parser.add_argument("--report", default="build/demo-report.json", help="where to write the JSON report")
    parser.add_argument(
        "--log", default="build/demo.log", help="where the handlers' JSON log lines go (one per line)"
    )
    args = parser.parse_args(argv)
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    with (
        open(args.log, "w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        # Powertools loggers bind sys.stdout when a handler module is imported, which happens
        # inside the stack, so every handler line lands in the log file, and the console
        # shows only the demo's own progress.
        reports, seconds = _run(console=sys.__stdout__)
    _print_summary(reports)
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    print(f"Report written to {path}, handler logs to {args.log} ({seconds:.1f} s in all)")
    failed = [r for r in reports if not scenarios.as_expected(r)]
    for report in failed:
        print(f"NOT AS EXPECTED: {report.scenario}: {'; '.join(scenarios.mismatches(report))}")
    return 1 if failed else 0


def build_demo(stack: Any, services: list[Any]) -> scenarios.Demo:
    """Seed a started stack and wire the demo's outside parties to it."""
    seed(stack)
    fulfillment = next(s for s in services if isinstance(s, FakeFulfillment))
    gateway = next((s for s in services if isinstance(s, FakeAccessGateway)), None)
    secret_arn = stack.physical_id("HrWebhookSecret")
    secret_string = stack.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return scenarios.Demo(
        stack=stack,
        fulfillment=fulfillment,
        hr=HrSystem(stack.api_url, json.loads(secret_string)["generic"]),
        reviewer=Reviewer(stack.api_url),
        gateway=gateway,
    )


def _run(console: Any) -> tuple[list[scenarios.ScenarioReport], float]:
    from hireproof.local.stack import LocalStack

    # Okta is the identity provider of the demo: Identity Center's API cannot reset a password.
    services = [*default_services(), FakeOkta()]
    started = time.monotonic()
    print(
        "Starting the local stack (moto on 127.0.0.1, real handlers and state machines)...",
        flush=True,
        file=console,
    )
    with LocalStack(parameter_overrides=DEMO_PARAMETERS, services=services) as stack:
        demo = build_demo(stack, services)
        print(
            f"Stack ready in {time.monotonic() - started:.1f} s at {stack.api_url}", flush=True, file=console
        )

        collect_expired = scenarios.never_verified(demo)
        reports = []
        for run in (
            scenarios.genuine_hire,
            scenarios.impostor,
            scenarios.duplicate_webhook,
            scenarios.expired_id,
            scenarios.reused_shipping_address,
        ):
            print(f"- {run.__name__} ...", flush=True, file=console)
            reports.append(run(demo))
        print("- access_decisions ...", flush=True, file=console)
        by_name = {r.scenario: r for r in reports}
        reports.append(access.access_decisions(demo, by_name["genuine_hire"], by_name["impostor"]))
        genuine, active = by_name["genuine_hire"], by_name["expired_id"]
        print("- high_risk_after_activation ...", flush=True, file=console)
        reports.append(risk.high_risk_after_activation(demo, genuine))
        print("- out_of_order_events ...", flush=True, file=console)
        reports.append(risk.out_of_order_events(demo, genuine))
        print("- shared_signals_session_revoked ...", flush=True, file=console)
        reports.append(risk.shared_signals_session_revoked(demo, active))
        for recovery_run in (
            recovery.self_service_password_reset,
            recovery.help_desk_mfa_reset,
            recovery.impostor_recovery_attempt,
        ):
            print(f"- {recovery_run.__name__} ...", flush=True, file=console)
            reports.append(recovery_run(demo))
        print(
            "- verification_never_completed (waiting for reminders and expiry) ...", flush=True, file=console
        )
        reports.append(collect_expired())
        duplicate = next(r for r in reports if r.scenario == "duplicate_webhook")
        scenarios.demo_refresh(demo, duplicate)
        scenarios.count_alerts(demo, reports)

    return reports, time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
