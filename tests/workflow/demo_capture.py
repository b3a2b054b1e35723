"""Run the demo (`python -m hireproof.demo`) and write down every personal value it used.

    python tests/workflow/demo_capture.py --values VALUES.json --log DEMO.log --report REPORT.json

test_log_scan.py runs this script in its own process and scans the demo's log lines for
the values. The demo's actors are wrapped, not changed: the HR system records each hire
body it posts, the phone each invitation token it opens and credential it reveals, and
`card_of` each specimen card's number. The root logger also writes every record of the
local runtime at INFO and above to stderr, so those lines are scanned too.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import requests

from hireproof.demo import __main__ as demo_main
from hireproof.demo import scenarios
from hireproof.demo.actors import HrSystem, Phone
from hireproof.demo.log_scan import ForbiddenValues

VALUES = ForbiddenValues()


class _WholeRecordFormatter(logging.Formatter):
    """Formats the message followed by every attribute of the record, `extra` fields included."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{super().format(record)} {vars(record)!r}"


def _record_hire(body: dict[str, Any]) -> None:
    name = body.get("legal_name") or {}
    VALUES.names.update(str(name[part]) for part in ("given", "middle", "family") if name.get(part))
    if body.get("preferred_name"):
        VALUES.names.add(str(body["preferred_name"]))
    VALUES.emails.update(
        str(body[key]) for key in ("personal_email", "work_email", "manager_email") if body.get(key)
    )
    if body.get("date_of_birth"):
        VALUES.dates_of_birth.add(str(body["date_of_birth"]))
    for key in ("home_address", "shipping_address"):
        address = body.get(key) or {}
        if address.get("line1"):
            VALUES.addresses.add(str(address["line1"]))


def _install_recorders() -> None:
    post_hire = HrSystem.post_hire

    def recording_post_hire(self: HrSystem, body: dict[str, Any], *, event_id: str | None = None) -> Any:
        _record_hire(body)
        return post_hire(self, body, event_id=event_id)

    HrSystem.post_hire = recording_post_hire  # type: ignore[method-assign]

    from_email = Phone.from_email.__func__  # type: ignore[attr-defined]

    def recording_from_email(cls: type[Phone], api_url: str, email_text: str) -> Phone:
        phone: Phone = from_email(cls, api_url, email_text)
        VALUES.tokens.add(phone.token)
        return phone

    Phone.from_email = classmethod(recording_from_email)  # type: ignore[method-assign,assignment]

    reveal_credential = Phone.reveal_credential

    def recording_reveal(self: Phone) -> requests.Response:
        response = reveal_credential(self)
        if response.status_code == 200:
            VALUES.credentials.add(str(response.json()["value"]))
        return response

    Phone.reveal_credential = recording_reveal  # type: ignore[method-assign]

    card_of = scenarios.card_of

    def recording_card_of(employee_id: str, given: str, family: str, **fields: Any) -> Any:
        card = card_of(employee_id, given, family, **fields)
        VALUES.document_numbers.add(str(card.document_number))
        VALUES.names.update({given, family})
        return card

    scenarios.card_of = recording_card_of


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--values", type=Path, required=True, help="where to write the recorded values (JSON)"
    )
    parser.add_argument("--log", type=Path, required=True, help="the demo's handler log file")
    parser.add_argument("--report", type=Path, required=True, help="the demo's JSON report")
    arguments = parser.parse_args()

    # basicConfig binds the real stderr now, before the demo redirects sys.stderr to its log.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_WholeRecordFormatter("%(levelname)s %(name)s %(message)s"))
    _install_recorders()
    status = demo_main.main(["--log", str(arguments.log), "--report", str(arguments.report)])
    document = {key: sorted(value) for key, value in vars(VALUES).items()}
    arguments.values.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
