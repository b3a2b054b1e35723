"""The full demo logs no personal data, token, credential or image.

demo_capture.py runs `python -m hireproof.demo` in its own process and records the values
of the demo's own hires (names, e-mail addresses, card numbers, dates of birth, street
addresses, invitation tokens, revealed credentials). Every line of the demo's handler log,
of its stdout and of its stderr (where the local runtime's log records go) is then scanned
for those values. The scan (`hireproof.demo.log_scan`) also flags any e-mail address, JWT or
base64 image, and tests/unit/test_log_scan.py shows that it does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hireproof.demo.log_scan import ForbiddenValues, scan

pytestmark = pytest.mark.workflow

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The demo takes about a minute on two cores, most of it waiting for a reminder and an expiry.
DEMO_TIMEOUT_SECONDS = 600
# The onboarding scenarios; the demo may run more, such as access decisions.
ONBOARDING_SCENARIOS = 6


def test_demo_logs_no_personal_data(tmp_path: Path) -> None:
    values_path, log_path, report_path = (
        tmp_path / "values.json",
        tmp_path / "demo.log",
        tmp_path / "report.json",
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))}

    completed = subprocess.run(  # noqa: S603 - this interpreter and a script of this repository
        [
            sys.executable,
            str(HERE / "demo_capture.py"),
            "--values",
            str(values_path),
            "--log",
            str(log_path),
            "--report",
            str(report_path),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
        check=False,
    )

    assert completed.returncode == 0, (
        f"the demo failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    assert len(json.loads(report_path.read_text())) >= ONBOARDING_SCENARIOS
    values = ForbiddenValues(
        **{key: set(items) for key, items in json.loads(values_path.read_text()).items()}
    )
    # The recorders saw every hire, link and card, so an empty list cannot hide a leak.
    assert {"Eileen", "Collins", "Sam", "Rivera", "Kenji", "Sato"} <= values.names
    assert len(values.emails) >= 2 * ONBOARDING_SCENARIOS
    assert len(values.document_numbers) >= 4  # the hires who show an ID card
    assert len(values.tokens) >= 7
    assert len(values.credentials) >= 2
    log_lines = log_path.read_text(encoding="utf-8").splitlines()
    assert len(log_lines) > 100, "the handler log is nearly empty; the scan would prove nothing"

    findings = [
        *scan(log_lines, values, source="demo.log"),
        *scan(completed.stdout.splitlines(), values, source="stdout"),
        *scan(completed.stderr.splitlines(), values, source="stderr"),
    ]

    assert findings == [], f"{len(findings)} leaks, first ones:\n" + "\n".join(map(str, findings[:20]))
