"""Command line of the local runtime: `python -m hireproof.local serve [--port N]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType


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
    arguments = parser.parse_args(argv)

    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
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
        print(f"services:      {len(services)} started; press Ctrl-C to stop", flush=True)
        while not stopping.wait(1.0):
            pass
        print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
