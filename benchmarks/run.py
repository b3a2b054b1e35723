"""`make bench`: measure HireProof's speed targets and write build/bench.json.

Figures (this machine; medians):
- each handler's cold import time, from `python -X importtime` (target: at most 250 ms);
- the local engine's compute time per verification (target: at most 2 s);
- the demo's wall time for one genuine hire, webhook to ACTIVE (target: at most 10 s);
- the warm access decision's p50 and p99 over 2,000 requests, next to the floor (one RS256
  verify plus one RS256 sign) and the store's lookup and audit write, measured in the same run
  (target: p50 at most 1.5 x floor + store); see benchmarks/access.py;
- the estimated AWS cost of one verified hire (benchmarks/cost.py), stored under "cost".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_FILE = ROOT / "build" / "bench.json"
IMPORT_TARGET_MS = 250.0
ENGINE_TARGET_S = 2.0
GENUINE_HIRE_TARGET_S = 10.0


def merge(figures: dict[str, Any]) -> dict[str, Any]:
    """Merge figures into build/bench.json and return the whole document."""
    BENCH_FILE.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = json.loads(BENCH_FILE.read_text()) if BENCH_FILE.exists() else {}
    document.update(figures)
    BENCH_FILE.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document


def import_time_ms(function_dir: Path) -> float:
    """Return the cumulative import time of one handler module in a fresh interpreter."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # Powertools idempotency builds its DynamoDB persistence layer at import time.
        "IDEMPOTENCY_TABLE": "bench-idempotency",
    }
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=function_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(result.stderr.splitlines()):
        fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == "app":
            return int(fields[1]) / 1000
    raise RuntimeError(f"no import time reported for {function_dir.name}")


def handler_import_times(runs: int) -> dict[str, float]:
    """Return the median cold import time in ms of every handler under functions/."""
    times: dict[str, float] = {}
    for function_dir in sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").exists()):
        samples = [import_time_ms(function_dir) for _ in range(runs)]
        times[function_dir.name] = round(statistics.median(samples), 1)
    return times


def genuine_hire_seconds(runs: int) -> list[float]:
    """Run the genuine-hire scenario `runs` times on one local stack; return wall seconds each."""
    from hireproof.demo import scenarios
    from hireproof.demo.__main__ import build_demo
    from hireproof.local.defaults import DEMO_PARAMETERS, default_services
    from hireproof.local.stack import LocalStack

    services = default_services()
    with LocalStack(parameter_overrides=DEMO_PARAMETERS, services=services) as stack:
        demo = build_demo(stack, services)
        seconds = []
        for number in range(runs):
            started = time.monotonic()
            report = scenarios.genuine_hire(demo, employee_id=f"B-{number}")
            if not scenarios.as_expected(report):
                raise RuntimeError(f"genuine hire did not complete: {scenarios.mismatches(report)}")
            seconds.append(round(time.monotonic() - started, 2))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="samples per figure (median reported)")
    parser.add_argument("--access-requests", type=int, default=2000, help="access decisions timed (min 2000)")
    args = parser.parse_args()

    imports = handler_import_times(args.runs)
    heaviest = max(imports, key=lambda name: imports[name])
    print(f"handler cold import, median of {args.runs} (ms); target <= {IMPORT_TARGET_MS:.0f}:")
    for name, ms in imports.items():
        print(f"  {name:<26} {ms:7.1f}  ratio to target {ms / IMPORT_TARGET_MS:.2f}")

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from local_engine import time_engine

    engine = time_engine(max(10, args.runs))
    engine_seconds = float(engine["local_engine_seconds"])
    print(
        f"local engine per verification: median {engine_seconds:.2f} s, "
        f"max {engine['local_engine_seconds_max']:.2f} s "
        f"(ratio to target {engine_seconds / ENGINE_TARGET_S:.2f})"
    )

    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            hires = genuine_hire_seconds(max(3, args.runs // 2))
        finally:
            sys.stdout = stdout
    hire_median = statistics.median(hires)
    print(
        f"demo genuine hire, webhook to ACTIVE: median {hire_median:.2f} s of {hires} "
        f"(ratio to target {hire_median / GENUINE_HIRE_TARGET_S:.2f})"
    )

    from access import time_access

    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            access = time_access(max(2000, args.access_requests))
        finally:
            sys.stdout = stdout
    print(
        f"access decision, warm, {access['requests']} requests: p50 {access['decision']['p50_ms']:.2f} ms, "
        f"p99 {access['decision']['p99_ms']:.2f} ms; floor (RS256 verify + sign) p50 "
        f"{access['floor_rs256_verify_plus_sign']['p50_ms']:.2f} ms; store (lookup + audit) p50 "
        f"{access['store_lookup_plus_audit']['p50_ms']:.2f} ms; ratio to target "
        f"(1.5 x floor + store) {access['p50_ratio_to_target']:.2f}; KMS signing path (moto) p50 "
        f"{access['kms_signing_path_via_moto']['p50_ms']:.2f} ms"
    )

    from cost import estimate, print_table

    cost = estimate()
    print_table(cost)

    from risk import time_risk

    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            risk = time_risk()
        finally:
            sys.stdout = stdout
    small, large = risk["runs"]
    print(
        f"risk events, EventBridge envelope to handler: {small['events']} in {small['seconds']:.1f} s "
        f"({small['events_per_second']:.0f}/s), {large['events']} in {large['seconds']:.1f} s "
        f"({large['events_per_second']:.0f}/s); 10k/1k time ratio {risk['ratio_10k_to_1k']:.2f} "
        f"(target <= {risk['linear_target_ratio']:.0f})"
    )

    merge(
        {
            "access_decision": access,
            "risk_events": risk,
            "cost": cost,
            "handler_import_ms": imports,
            "handler_import_target_ms": IMPORT_TARGET_MS,
            "heaviest_handler": heaviest,
            **engine,
            "local_engine_target_seconds": ENGINE_TARGET_S,
            "genuine_hire_wall_seconds": hire_median,
            "genuine_hire_samples": hires,
            "genuine_hire_target_seconds": GENUINE_HIRE_TARGET_S,
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        }
    )
    print(f"written to {BENCH_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
