"""Accept one hire: store it, then start its onboarding execution.

The onboarding id is deterministic per (source, employee id) and is also the execution
name. A second report of the same hire (another delivery id, a replay, a retry after a
crash between the two steps) therefore stores no second record and starts no second
execution. The execution input contains ids only, because the hire stays in the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from botocore.exceptions import ClientError

from hireproof import aws
from hireproof.config import require_env
from hireproof.errors import TransientError
from hireproof.models import Hire, HireSource, onboarding_id_for
from hireproof.onboarding import store

ACCEPTED: Final = "accepted"
ALREADY_ACCEPTED: Final = "already accepted"

_RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "ServiceUnavailable", "InternalServerError", "RequestTimeout"}
)


@dataclass(frozen=True)
class Acceptance:
    """The outcome of one hire report."""

    onboarding_id: str
    status: str

    def as_response(self) -> dict[str, str]:
        """Return the webhook's JSON response body."""
        return {"onboarding_id": self.onboarding_id, "status": self.status}


def accept_hire(hire: Hire) -> Acceptance:
    """Store the hire and start its onboarding; report whether it was already accepted."""
    onboarding_id = onboarding_id_for(hire.source, hire.source_employee_id)
    created = store.create_onboarding(onboarding_id, hire)
    # Started even when the record existed: a crash after the write must not strand the hire.
    started = start_onboarding(onboarding_id, hire.source)
    return Acceptance(onboarding_id, ACCEPTED if created and started else ALREADY_ACCEPTED)


def start_onboarding(onboarding_id: str, source: HireSource) -> bool:
    """Start the onboarding execution; return False when an execution of that name exists.

    Step Functions returns the running execution's ARN when name and input match, and
    raises ExecutionAlreadyExists otherwise (for example after the execution ended).
    """
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=require_env("ONBOARDING_STATE_MACHINE_ARN"),
            name=onboarding_id,
            input=json.dumps({"onboarding_id": onboarding_id, "source": source.value}),
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return False
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _RETRYABLE_CODES or status >= 500:
            raise TransientError("Step Functions did not start the onboarding; retry") from exc
        raise
    return True
