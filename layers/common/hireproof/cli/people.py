"""`hireproof people revoke|restore`: an operator's revocation of a person's access, or its reversal.

The commands run `hireproof.risk.effects.revoke_person` / `restore_person` in this process,
with the environment of the stack's risk response functions, so the same code, identity
provider settings and audit trail apply as for an automated revocation. The operator's IAM
ARN is the audited actor.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any, TextIO

from hireproof.cli.errors import CommandError
from hireproof.cli.output import plain, print_fields, print_json_lines
from hireproof.cli.target import Target
from hireproof.errors import HireProofError, NotFoundError

# Together their environments name the identity provider, the gateway administration secret,
# the re-verification state machine, the access groups and the tables. The risk events
# function alone lacks the access groups, which restore needs.
EFFECTS_FUNCTIONS = ("RiskEventsFunction", "CloseReverificationFunction")


def _effect(name: str) -> Callable[..., Any]:
    try:
        module = importlib.import_module("hireproof.risk.effects")
    except ModuleNotFoundError as exc:
        raise CommandError(
            "this HireProof installation has no hireproof.risk.effects; install the version the stack runs"
        ) from exc
    function: Callable[..., Any] = getattr(module, name)
    return function


def change_command(
    target: Target, *, person_id: str, revoke: bool, reason: str, as_json: bool, out: TextIO
) -> int:
    """Revoke or restore one person's access and print the outcome."""
    effect = _effect("revoke_person" if revoke else "restore_person")
    actor = target.caller_arn()
    with target.product_environment(*EFFECTS_FUNCTIONS):
        try:
            result = effect(person_id, actor=actor, reason=reason)
        except NotFoundError as exc:
            raise CommandError(
                f"person {person_id} not found in stack {target.stack_name}; a person id is the id of "
                "the onboarding that made them ACTIVE (see `hireproof onboardings list --state ACTIVE`)"
            ) from exc
        except HireProofError as exc:
            raise CommandError(f"{type(exc).__name__}: {exc.message}") from exc
    record: dict[str, Any] = {"action": "revoked" if revoke else "restored", "actor": actor}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        record.update(plain(dataclasses.asdict(result)))
    record["person_id"] = person_id
    if as_json:
        print_json_lines([record], out)
    else:
        print_fields(record, out)
    return 0
