"""Resume the Wait For Delivery step with a shipment's outcome."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from hireproof import aws
from hireproof.errors import DeliveryFailedError, TransientError
from hireproof.fulfillment.models import ShipmentStatus

# Step Functions returns these when the task token no longer belongs to a waiting task:
# the step timed out, its execution stopped, or the token was already used.
CLOSED_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class TaskTokenClosedError(Exception):
    """Step Functions rejected a task token because its task no longer waits."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def send_outcome(
    task_token: str, status: ShipmentStatus, shipment_id: str, outcome_at: str
) -> None:
    """Send SendTaskSuccess for a delivery, or SendTaskFailure(DeliveryFailedError) otherwise.

    The success output is `{"delivered": true, "delivered_at": <iso>, "shipment_id": <id>}`.
    The failure cause is `{"shipment_id", "status", "occurred_at"}` as JSON.

    Raises
    ------
    TaskTokenClosedError
        The token's task no longer waits, and a retry cannot change that.
    TransientError
        Any other Step Functions or network failure, which a retry may fix.
    """
    sfn = aws.client("stepfunctions")
    try:
        if status is ShipmentStatus.DELIVERED:
            output = {"delivered": True, "delivered_at": outcome_at, "shipment_id": shipment_id}
            sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        else:
            cause = {"shipment_id": shipment_id, "status": status.value, "occurred_at": outcome_at}
            sfn.send_task_failure(
                taskToken=task_token, error=DeliveryFailedError.__name__, cause=json.dumps(cause)
            )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in CLOSED_TOKEN_CODES:
            raise TaskTokenClosedError(code) from exc
        raise TransientError(
            f"Step Functions failed with {code}, and the callback can be retried"
        ) from exc
    except BotoCoreError as exc:
        raise TransientError(
            f"Step Functions is unreachable ({type(exc).__name__}), and the callback can be retried"
        ) from exc
