"""Command line of the local runtime: `python -m hireproof.local serve [--port N]`."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from hireproof.local.fakes.access_gateway import FakeAccessGateway
from hireproof.local.fakes.ssf_transmitter import FakeSsfTransmitter
from hireproof.local.runtime import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from hireproof.local.stack import LocalStack

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
        "--stack-file",
        type=Path,
        default=Path("build/local-stack.json"),
        help=(
            "where to write the stack's endpoint, API URL and resource names for "
            "`hireproof --local` while it runs (default: build/local-stack.json)"
        ),
    )
    arguments = parser.parse_args(argv)

    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from hireproof.local.description import write_description
    from hireproof.local.stack import LocalStack, default_services, seed_defaults

    services = [] if arguments.no_services else default_services()
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
        print(f"HTTP API:      {stack.api_url}", flush=True)
        print(f"moto endpoint: {stack.endpoint_url}", flush=True)
        if health is not None:
            print(f"health:        {stack.api_url}/health", flush=True)
        if services:
            _print_access(stack)
        stack_file = write_description(stack, arguments.stack_file)
        print(f"stack file:    {stack_file}  (read by `hireproof --local`)", flush=True)
        print(f"services:      {len(services)} started; press Ctrl-C to stop", flush=True)
        try:
            shown = 0
            while not stopping.wait(1.0):
                shown = _print_new_links(stack, shown)
        finally:
            # A stale file would point the operator command at a stopped stack.
            stack_file.unlink(missing_ok=True)
        print("stopping", flush=True)
    return 0


def _print_access(stack: LocalStack) -> None:
    """Print what a local user needs to sign webhooks and review requests."""
    secret_arn = stack.physical_id("HrWebhookSecret")
    secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    print(f"region:        {REGION}", flush=True)
    print(
        f"credentials:   AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}",
        flush=True,
    )
    print("               (local dummies; sign review requests with them)", flush=True)
    print(
        f"generic key:   {secret['generic']}  (HR webhook key of source 'generic'; secret {secret_arn})",
        flush=True,
    )
    api = stack.api_url
    print(f"access:        POST {api}/access/evaluate, keys {api}/access/keys", flush=True)
    print(f"shared signals: POST {stack.api_url}/ssf/events", flush=True)
    print(
        f"OpenID Connect: issuer {api}, discovery {api}/.well-known/openid-configuration "
        "(register clients with `hireproof --local oidc-clients register`)",
        flush=True,
    )
    for service in stack.services:
        if isinstance(service, FakeAccessGateway):
            print(
                f"fake gateway:  issuer {service.issuer}, audience {service.audience} "
                "(hireproof.local.fakes.access_gateway mints its tokens)",
                flush=True,
            )
        elif isinstance(service, FakeSsfTransmitter):
            print(
                f"fake SSF transmitter: issuer {service.base_url} "
                "(hireproof.local.fakes.ssf_transmitter signs its SETs)",
                flush=True,
            )


def _print_new_links(stack: LocalStack, shown: int) -> int:
    """Print the verification links of e-mails sent since the last call; return how many were seen."""
    mails = stack.sent_emails()
    for mail in mails[shown:]:
        for link in _LINK.findall(str(mail["body"])):
            print(f"e-mail sent:   {mail['subject']}: {link}", flush=True)
    return len(mails)


if __name__ == "__main__":
    sys.exit(main())
