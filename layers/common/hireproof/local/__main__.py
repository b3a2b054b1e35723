"""Command line of the local runtime: `python -m hireproof.local serve [--port N]`.

With its fake external systems (the default), serve runs the fake Okta as the identity
provider, so password and MFA resets work, and onboards one sample person to ACTIVE, whose
ID card and selfie photos it writes to `build/sample-person/`. Handler log lines go to
`--log`, so the console shows only what a person trying the stack needs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from hireproof.local.fakes.access_gateway import FakeAccessGateway
from hireproof.local.fakes.okta import FakeOkta
from hireproof.local.fakes.ssf_transmitter import FakeSsfTransmitter
from hireproof.local.runtime import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from hireproof.local.stack import LocalStack

SAMPLE_EMPLOYEE_ID = "S-0001"
_LINK = re.compile(r"https?://\S+/verify#token=[A-Za-z0-9_\-]+")


def _parameter(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hireproof.local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the local stack until Ctrl-C or SIGTERM")
    serve.add_argument(
        "--port",
        type=int,
        default=0,
        help="TCP port of the HTTP API on 127.0.0.1 (default: a free port)",
    )
    serve.add_argument(
        "--template",
        type=Path,
        default=None,
        help="SAM template (default: the repository's template.yaml)",
    )
    serve.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override; repeat for several",
    )
    serve.add_argument("--no-services", action="store_true", help="do not start the fake external systems")
    serve.add_argument("--log-level", default="INFO", help="log level of the local runtime (default: INFO)")
    serve.add_argument(
        "--log",
        type=Path,
        default=Path("build/serve.log"),
        help="where the handlers' JSON log lines and the runtime's log go (default: build/serve.log)",
    )
    serve.add_argument(
        "--sample-person",
        type=Path,
        default=Path("build/sample-person"),
        help="where to write the sample person's ID card and selfie photos (default: build/sample-person)",
    )
    serve.add_argument(
        "--stack-file",
        type=Path,
        default=Path("build/local-stack.json"),
        help=(
            "where to write the stack's endpoint, API URL and resource names for "
            "`hireproof --local` while it runs (default: build/local-stack.json)"
        ),
    )
    arguments = parser.parse_args(argv)

    arguments.log.parent.mkdir(parents=True, exist_ok=True)
    console = sys.stdout
    with (
        open(arguments.log, "a", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        # Powertools loggers bind sys.stdout when a handler module is imported inside the
        # stack, so handler lines land in the log file and the console stays readable.
        logging.basicConfig(
            level=arguments.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
            stream=log,
        )
        return _serve(arguments, console)


def _serve(arguments: argparse.Namespace, console: TextIO) -> int:
    from hireproof.local.description import write_description
    from hireproof.local.stack import LocalStack, default_services, seed_defaults

    def say(text: str) -> None:
        print(text, flush=True, file=console)

    # Okta is the identity provider of the served stack, as of the demo: Identity Center's
    # API cannot reset a password or MFA factors.
    services = [] if arguments.no_services else [*default_services(), FakeOkta()]
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    stack = LocalStack(
        template_path=arguments.template,
        parameter_overrides=dict(arguments.parameter),
        services=services,
        api_port=arguments.port,
    )
    with stack:
        if services:
            seed_defaults(stack)
        health = next((route for route in stack.routes if route.path == "/health"), None)
        say(f"HTTP API:      {stack.api_url}")
        say(f"moto endpoint: {stack.endpoint_url}")
        if health is not None:
            say(f"health:        {stack.api_url}/health")
        if services:
            _print_access(stack, say)
        stack_file = write_description(stack, arguments.stack_file)
        say(f"stack file:    {stack_file}  (read by `hireproof --local`)")
        say(f"handler logs:  {arguments.log}")
        shown = 0
        try:
            if services:
                say("sample person: onboarding one person to ACTIVE (a few seconds)...")
                _sample_person(stack, services, arguments.sample_person, say)
                shown = len(stack.sent_emails())
            say(f"services:      {len(services)} started; press Ctrl-C to stop")
            while not stopping.wait(1.0):
                shown = _print_new_links(stack, shown, say)
        finally:
            # A stale file would point the operator command at a stopped stack.
            stack_file.unlink(missing_ok=True)
        say("stopping")
    return 0


def _sample_person(stack: LocalStack, services: list[Any], folder: Path, say: Callable[[str], None]) -> None:
    """Onboard one person to ACTIVE and write the photos to verify as them; print their e-mail."""
    from hireproof.demo.__main__ import build_demo
    from hireproof.demo.recovery import onboard
    from hireproof.demo.scenarios import selfie_of
    from hireproof.local import assets

    member = onboard(build_demo(stack, services), SAMPLE_EMPLOYEE_ID, "Mae", "Jemison")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "id_front.jpg").write_bytes(assets.id_card_front(member.card))
    (folder / "id_back.jpg").write_bytes(assets.id_card_back(member.card))
    (folder / "selfie.jpg").write_bytes(selfie_of(SAMPLE_EMPLOYEE_ID))
    say(f"sample person: {member.body['work_email']} (ACTIVE, Okta account active)")
    say(f"               photos in {folder}/: id_front.jpg, id_back.jpg, selfie.jpg")


def _print_access(stack: LocalStack, say: Callable[[str], None]) -> None:
    """Print what a local user needs to sign webhooks and review requests."""
    secret_arn = stack.physical_id("HrWebhookSecret")
    secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    say(f"region:        {REGION}")
    say(f"credentials:   AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}")
    say("               (local dummies; sign review requests with them)")
    say(f"generic key:   {secret['generic']}  (HR webhook key of source 'generic'; secret {secret_arn})")
    api = stack.api_url
    say(f"access:        POST {api}/access/evaluate, keys {api}/access/keys")
    say(f"shared signals: POST {stack.api_url}/ssf/events")
    say(f"recovery:      {api}/recovery (password and MFA reset after a new verification)")
    say(
        f"OpenID Connect: issuer {api}, discovery {api}/.well-known/openid-configuration "
        "(register clients with `hireproof --local oidc-clients register`)"
    )
    for service in stack.services:
        if isinstance(service, FakeAccessGateway):
            say(
                f"fake gateway:  issuer {service.issuer}, audience {service.audience} "
                "(hireproof.local.fakes.access_gateway mints its tokens)"
            )
        elif isinstance(service, FakeSsfTransmitter):
            say(
                f"fake SSF transmitter: issuer {service.base_url} "
                "(hireproof.local.fakes.ssf_transmitter signs its SETs)"
            )


def _print_new_links(stack: LocalStack, shown: int, say: Callable[[str], None]) -> int:
    """Print the verification links of e-mails sent since the last call; return how many were seen."""
    mails = stack.sent_emails()
    for mail in mails[shown:]:
        for link in _LINK.findall(str(mail["body"])):
            say(f"e-mail sent:   {mail['subject']}: {link}")
    return len(mails)


if __name__ == "__main__":
    sys.exit(main())
