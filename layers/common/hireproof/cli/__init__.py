"""`hireproof`: the operator command for a deployed HireProof stack or the local one.

    hireproof --stack hireproof-prod --profile security onboardings list --state IN_REVIEW
    hireproof --local reviews approve generic-E-1004 --reason "Renewal receipt checked on a call"

Exit status: 0 on success, 2 for invalid usage (argparse), 1 for any other failure, with one
line on stderr that names the fix. No command prints a hire's name, e-mail address, address
or document data: onboardings are read with an allow-list projection, and the review API and
the audit trail carry ids, states and reasons only. The one exception is `recovery status`,
which prints the HR record's name once a caller passed verification, so that a help desk
agent can confirm whom they are talking to.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from hireproof.cli import audit_export, dlq, oidc_clients, onboardings, people, recovery, reviews
from hireproof.cli.errors import CommandError
from hireproof.cli.target import LOCAL_ENVIRONMENT_VARIABLE, LOCAL_STACK_FILE, Target, from_local, from_stack
from hireproof.models import OnboardingState
from hireproof.oidc.clients import SUPPORTED_SCOPES, TokenEndpointAuthMethod, check_redirect_uri

PROG = "hireproof"
REASON_MIN, REASON_MAX = 3, 500

Handler = Callable[[Target, argparse.Namespace, TextIO], int]


def _reason(text: str) -> str:
    stripped = text.strip()
    if not REASON_MIN <= len(stripped) <= REASON_MAX:
        raise argparse.ArgumentTypeError(
            f"must be {REASON_MIN} to {REASON_MAX} characters, got {len(stripped)}"
        )
    return stripped


def _time(text: str) -> str:
    try:
        return audit_export.parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date or time, such as 2026-12-01 or 2026-12-01T09:30:00Z"
        ) from exc


def _identifier(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text.strip()


def _redirect_uri(text: str) -> str:
    try:
        return check_redirect_uri(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _review_handler(*, approve: bool) -> Handler:
    def handle(target: Target, arguments: argparse.Namespace, out: TextIO) -> int:
        return reviews.decide_command(
            target,
            onboarding_id=arguments.onboarding_id,
            approve=approve,
            reason=arguments.reason,
            as_json=arguments.json,
            out=out,
        )

    return handle


def _people_handler(*, revoke: bool) -> Handler:
    def handle(target: Target, arguments: argparse.Namespace, out: TextIO) -> int:
        return people.change_command(
            target,
            person_id=arguments.person_id,
            revoke=revoke,
            reason=arguments.reason,
            as_json=arguments.json,
            out=out,
        )

    return handle


def _add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """Add the options that select the stack, accepted before or after the command names.

    On subcommands the defaults are SUPPRESS, so an option given before the command is not
    reset by the subcommand's parser.
    """

    def default(value: Any) -> Any:
        return value if top_level else argparse.SUPPRESS

    group = parser.add_argument_group("stack selection")
    group.add_argument(
        "--stack",
        metavar="NAME",
        default=default(None),
        help="CloudFormation stack name of a deployed HireProof (samconfig.toml's stack_name)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=default(None),
        help="AWS named profile whose credentials call AWS and sign review requests (default: AWS_PROFILE)",
    )
    group.add_argument(
        "--region",
        metavar="REGION",
        default=default(None),
        help="AWS region of the stack (default: the profile's region or AWS_REGION)",
    )
    group.add_argument(
        "--local",
        action="store_true",
        default=default(False),
        help="use the local stack that `make serve` runs (implied when HIREPROOF_LOCAL is set)",
    )
    group.add_argument(
        "--local-file",
        metavar="FILE",
        type=Path,
        default=default(None),
        help=(
            f"stack file that `make serve` writes "
            f"(default: ${LOCAL_ENVIRONMENT_VARIABLE} or {LOCAL_STACK_FILE})"
        ),
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print JSON objects, one per line, instead of text tables",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate a HireProof stack: onboardings, reviews, access revocation, "
        "help desk password and MFA recovery, dead-letter queues, the audit trail and "
        "OpenID Connect clients.",
        epilog="Select the stack with --stack NAME (AWS) or --local (make serve). "
        "Exit status: 0 success, 1 failure, 2 invalid usage.",
    )
    _add_global_options(parser, top_level=True)
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, top_level=False)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        help_text: str,
        handler: Handler,
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    # ---- onboardings
    section = groups.add_parser("onboardings", help="list and show onboardings (no personal data)")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = command(
        actions,
        "list",
        "list onboardings with state, decision and reasons, most recently updated first",
        lambda t, a, o: onboardings.list_command(t, state=a.state, as_json=a.json, out=o),
    )
    listing.add_argument(
        "--state", choices=[s.value for s in OnboardingState], help="only onboardings in this state"
    )
    show = command(
        actions,
        "show",
        "show one onboarding's state, decision, reasons, review and timestamps",
        lambda t, a, o: onboardings.show_command(t, onboarding_id=a.onboarding_id, as_json=a.json, out=o),
    )
    show.add_argument(
        "onboarding_id", metavar="ID", type=_identifier, help="onboarding id, such as generic-E-1001"
    )

    # ---- reviews
    section = groups.add_parser("reviews", help="decide onboardings held for review (signed review API)")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(
        actions,
        "list",
        "list onboardings waiting for a reviewer",
        lambda t, a, o: reviews.list_command(t, as_json=a.json, out=o),
    )
    for verb, approve in (("approve", True), ("reject", False)):
        decide = command(
            actions,
            verb,
            f"{verb} one onboarding held for review, through the IAM-authorized review API",
            _review_handler(approve=approve),
        )
        decide.add_argument("onboarding_id", metavar="ID", type=_identifier, help="onboarding id")
        decide.add_argument(
            "--reason", required=True, type=_reason, help="why, for the audit trail (3 to 500 characters)"
        )

    # ---- people
    section = groups.add_parser("people", help="revoke or restore a person's access")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    for verb, revoke in (("revoke", True), ("restore", False)):
        change = command(
            actions,
            verb,
            f"{verb} one person's access, with the same effects and audit as the risk response",
            _people_handler(revoke=revoke),
        )
        change.add_argument(
            "person_id",
            metavar="PERSON_ID",
            type=_identifier,
            help="person id (the onboarding id that made them ACTIVE)",
        )
        change.add_argument(
            "--reason", required=True, type=_reason, help="why, for the audit trail (3 to 500 characters)"
        )

    # ---- recovery
    section = groups.add_parser(
        "recovery", help="start, follow and complete help desk password and MFA recoveries"
    )
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = command(
        actions,
        "start",
        "start a recovery for a caller, who gets a single-use verification link by e-mail",
        lambda t, a, o: recovery.start_command(t, person_id=a.person, email=a.email, as_json=a.json, out=o),
    )
    subject = start.add_mutually_exclusive_group(required=True)
    subject.add_argument("--person", metavar="ID", type=_identifier, help="the caller's person id")
    subject.add_argument("--email", metavar="E", type=_identifier, help="the caller's work e-mail address")
    status = command(
        actions,
        "status",
        "show a recovery's status and, once the caller passed verification, the name on their HR record",
        lambda t, a, o: recovery.status_command(t, recovery_id=a.recovery_id, as_json=a.json, out=o),
    )
    status.add_argument("recovery_id", metavar="RECOVERY_ID", type=_identifier, help="recovery id (rcv-...)")
    reset = command(
        actions,
        "reset",
        "reset the caller's password or MFA factors after they passed verification; "
        "their verification page shows the new sign-in details",
        lambda t, a, o: recovery.reset_command(
            t, recovery_id=a.recovery_id, kind=a.kind, as_json=a.json, out=o
        ),
    )
    reset.add_argument("recovery_id", metavar="RECOVERY_ID", type=_identifier, help="recovery id (rcv-...)")
    reset.add_argument("--kind", required=True, choices=recovery.RESET_KINDS, help="what to reset")

    # ---- dlq
    section = groups.add_parser("dlq", help="inspect and redrive the stack's dead-letter queues")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    command(
        actions,
        "list",
        "list every dead-letter queue of the stack with its depth",
        lambda t, a, o: dlq.list_command(t, as_json=a.json, out=o),
    )
    redrive = command(
        actions,
        "redrive",
        "move a dead-letter queue's messages back to its source queue, "
        "the --to queue or the --to-function function",
        lambda t, a, o: dlq.redrive_command(
            t, queue_name=a.queue, destination=a.to, function=a.to_function, as_json=a.json, out=o
        ),
    )
    redrive.add_argument("queue", metavar="QUEUE", help="dead-letter queue: logical id, name, URL or ARN")
    destination = redrive.add_mutually_exclusive_group()
    destination.add_argument(
        "--to", metavar="QUEUE", help="destination queue's logical id (default: the one source queue)"
    )
    destination.add_argument(
        "--to-function",
        metavar="FUNCTION",
        help="invoke this function's logical id asynchronously with each message instead",
    )

    # ---- audit
    section = groups.add_parser("audit", help="export the audit trail")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = command(
        actions,
        "export",
        "write audit records as JSON lines; the records of one subject come oldest first",
        lambda t, a, o: audit_export.export_command(
            t, subject=a.subject, since=a.since, until=a.until, output=a.output, out=o
        ),
    )
    export.add_argument("--subject", metavar="ID", type=_identifier, help="only this onboarding or person id")
    export.add_argument(
        "--since", metavar="ISO", type=_time, help="records at or after this UTC date or time (inclusive)"
    )
    export.add_argument(
        "--until", metavar="ISO", type=_time, help="records before this UTC date or time (exclusive)"
    )
    export.add_argument(
        "--output", metavar="FILE", type=Path, help="write to FILE instead of standard output"
    )
    _add_oidc_clients(groups, command)
    return parser


def _add_oidc_clients(groups: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    section = groups.add_parser("oidc-clients", help="register and manage OpenID Connect clients")
    actions = section.add_subparsers(dest="action", metavar="ACTION", required=True)
    register = command(
        actions,
        "register",
        "register a relying party and print its client id and secret (the secret is shown only once)",
        lambda t, a, o: oidc_clients.register_command(
            t,
            name=a.name,
            redirect_uris=a.redirect_uri,
            scopes=a.scope or SUPPORTED_SCOPES,
            auth_method=a.auth_method,
            as_json=a.json,
            out=o,
        ),
    )
    register.add_argument(
        "--name", required=True, help="name shown to people signing in (1 to 100 characters)"
    )
    register.add_argument(
        "--redirect-uri",
        required=True,
        action="append",
        type=_redirect_uri,
        metavar="URI",
        help="exact redirect URI the client may use: https, or http only for the loopback hosts "
        "127.0.0.1, ::1 and localhost; repeat for several",
    )
    register.add_argument(
        "--scope",
        action="append",
        choices=SUPPORTED_SCOPES,
        default=None,
        help="scope the client may request; repeat for several (default: all; openid is required)",
    )
    register.add_argument(
        "--auth-method",
        choices=[method.value for method in TokenEndpointAuthMethod],
        default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC.value,
        help="how the client sends its secret to the token endpoint (default: client_secret_basic)",
    )
    command(
        actions,
        "list",
        "list the registered clients without their secrets",
        lambda t, a, o: oidc_clients.list_command(t, as_json=a.json, out=o),
    )
    for verb, help_text, run in (
        (
            "rotate-secret",
            "replace a client's secret and print the new one once; the old one stops working at once",
            oidc_clients.rotate_secret_command,
        ),
        ("disable", "disable a client, so that it can no longer log anyone in", oidc_clients.disable_command),
    ):
        change = command(
            actions,
            verb,
            help_text,
            lambda t, a, o, run=run: run(t, client_id=a.client_id, as_json=a.json, out=o),
        )
        change.add_argument("client_id", metavar="CLIENT_ID", type=_identifier, help="client id")


def resolve_target(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> Target:
    """Return the stack the options select; an ambiguous or missing choice is a usage error (2)."""
    environment_file = os.environ.get(LOCAL_ENVIRONMENT_VARIABLE)
    explicit_local = arguments.local or arguments.local_file is not None
    if arguments.stack and explicit_local:
        parser.error("choose one stack: --stack NAME or --local, not both")
    if explicit_local or (environment_file and not arguments.stack):
        path = arguments.local_file or (Path(environment_file) if environment_file else LOCAL_STACK_FILE)
        return from_local(path)
    if not arguments.stack:
        parser.error(
            "choose a stack: --stack NAME for a deployed one, or --local for the one `make serve` runs"
        )
    return from_stack(arguments.stack, profile=arguments.profile, region=arguments.region)


def _client_error_message(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    operation = getattr(exc, "operation_name", "AWS call")
    hint = (
        "the caller lacks this permission; use a profile whose role allows it"
        if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError")
        else "check the stack and the profile"
    )
    return f"{operation} failed with {code}: {error.get('Message', '')}; {hint}"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run one command and return its exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    stdout = out or sys.stdout
    handler: Handler = arguments.handler
    try:
        target = resolve_target(arguments, parser)
        return handler(target, arguments, stdout)
    except CommandError as exc:
        message = str(exc)
    except NoCredentialsError:
        message = "no AWS credentials found; pass --profile, or run `aws configure` or `aws sso login`"
    except EndpointConnectionError as exc:
        message = (
            f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}; "
            "check the network and --region, or that `make serve` still runs for --local"
        )
    except ClientError as exc:
        message = _client_error_message(exc)
    except BotoCoreError as exc:
        message = f"AWS call failed: {exc}; check the profile, region and network"
    except KeyboardInterrupt:
        return 130
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1
