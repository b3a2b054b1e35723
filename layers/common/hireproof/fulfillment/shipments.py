"""Shipment records and the delivery callbacks that resume the onboarding workflow.

Two items in the onboarding table describe one shipment:
- pk=<onboarding_id>, sk="SHIPMENT#<shipment_id>": the shipment's status, the hash of
  the address it was sent to, the task token of the Wait For Delivery step and the
  outcome the fulfillment service reported. `address_hash` is projected into the
  ByAddressHash index, so the shared-address check also counts where laptops were sent.
- pk="SHIPMENT#<shipment_id>", sk="SHIPMENT": the onboarding id. A callback carries only
  the fulfillment service's shipment id, which HireProof does not choose, so this
  lookup item maps it back to the onboarding.

A callback settles a shipment once. A conditional update claims the outcome (REQUESTED
to DELIVERED, FAILED or RETURNED) before the task token is used, and
`workflow_notified_at` is set after Step Functions took it. A duplicate callback then
finds the outcome stored and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from hireproof import audit, aws
from hireproof.config import require_env
from hireproof.errors import ConflictError, NotFoundError, TransientError
from hireproof.fulfillment.models import (
    CallbackResult,
    DeliveryCallback,
    DeliveryStatus,
    Shipment,
    ShipmentStatus,
)
from hireproof.fulfillment.workflow import TaskTokenClosedError, send_outcome
from hireproof.onboarding import store
from hireproof.onboarding.store import now_iso

logger = Logger(child=True)

SHIPMENT_SK_PREFIX = "SHIPMENT#"
LOOKUP_SK = "SHIPMENT"
# A claim without a notification this old belongs to an invocation that crashed: the
# callback function's timeout is 30 s, so 120 s leaves a wide margin.
STALE_CLAIM_SECONDS = 120
RETRY_HINT = "retry the callback in a minute"


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def _shipment_key(onboarding_id: str, shipment_id: str) -> dict[str, str]:
    return {"pk": onboarding_id, "sk": f"{SHIPMENT_SK_PREFIX}{shipment_id}"}


def _lookup_key(shipment_id: str) -> dict[str, str]:
    return {"pk": f"{SHIPMENT_SK_PREFIX}{shipment_id}", "sk": LOOKUP_SK}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(exc: ClientError) -> bool:
    return _error_code(exc) == "ConditionalCheckFailedException"


# ----------------------------------------------------------------- records
def record_shipment(onboarding_id: str, shipment_id: str, address_hash: str) -> None:
    """Store a requested shipment and its lookup item in one transaction.

    Recording the same shipment again (a retried step) changes nothing. A shipment id
    already recorded for another onboarding, or for another address, raises ConflictError.
    """
    table = _table()
    values = {":o": onboarding_id, ":s": shipment_id}
    lookup = {
        "TableName": table.name,
        "Key": _lookup_key(shipment_id),
        "UpdateExpression": "SET onboarding_id = :o, shipment_id = :s",
        "ConditionExpression": "attribute_not_exists(pk) OR onboarding_id = :o",
        "ExpressionAttributeValues": values,
    }
    shipment = {
        "TableName": table.name,
        "Key": _shipment_key(onboarding_id, shipment_id),
        "UpdateExpression": (
            "SET onboarding_id = :o, shipment_id = :s, address_hash = :h, "
            "#status = if_not_exists(#status, :requested), "
            "requested_at = if_not_exists(requested_at, :now)"
        ),
        "ConditionExpression": "attribute_not_exists(pk) OR address_hash = :h",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            **values,
            ":h": address_hash,
            ":requested": ShipmentStatus.REQUESTED.value,
            ":now": now_iso(),
        },
    }
    try:
        table.meta.client.transact_write_items(
            TransactItems=[{"Update": lookup}, {"Update": shipment}]
        )
    except ClientError as exc:
        if _error_code(exc) != "TransactionCanceledException":
            raise
        reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
        if "ConditionalCheckFailed" in reasons:
            raise ConflictError(
                f"shipment {shipment_id} is already recorded for another onboarding or address",
                field="shipment_id",
            ) from exc
        raise TransientError(
            f"recording shipment {shipment_id} was cancelled and can be retried"
        ) from exc
    logger.info(
        "shipment recorded", extra={"onboarding_id": onboarding_id, "shipment_id": shipment_id}
    )


def find_shipment(shipment_id: str) -> Shipment:
    """Return the shipment with this fulfillment service id, or raise NotFoundError."""
    lookup = _table().get_item(Key=_lookup_key(shipment_id), ConsistentRead=True).get("Item")
    if lookup is None:
        raise NotFoundError(f"shipment {shipment_id} not found", field="shipment_id")
    return _get_shipment(str(lookup["onboarding_id"]), shipment_id)


def _get_shipment(onboarding_id: str, shipment_id: str) -> Shipment:
    key = _shipment_key(onboarding_id, shipment_id)
    item = _table().get_item(Key=key, ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"shipment {shipment_id} not found", field="shipment_id")
    return Shipment.model_validate(item)


def record_cancellation(onboarding_id: str, shipment_id: str) -> None:
    """Mark a requested shipment CANCELLED, so that a later delivery callback gets 409.

    Cancelling twice is a no-op. A shipment that already has an outcome raises ConflictError.
    """
    try:
        _table().update_item(
            Key=_shipment_key(onboarding_id, shipment_id),
            UpdateExpression=(
                "SET #status = :cancelled, cancelled_at = if_not_exists(cancelled_at, :now)"
            ),
            ConditionExpression="#status IN (:requested, :cancelled)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":cancelled": ShipmentStatus.CANCELLED.value,
                ":requested": ShipmentStatus.REQUESTED.value,
                ":now": now_iso(),
            },
        )
    except ClientError as exc:
        if not _is_condition_failure(exc):
            raise
        current = _get_shipment(onboarding_id, shipment_id)
        raise ConflictError(
            f"shipment {shipment_id} is already {current.status} and cannot be cancelled",
            field="shipment_id",
        ) from exc
    logger.info(
        "shipment cancelled", extra={"onboarding_id": onboarding_id, "shipment_id": shipment_id}
    )


# ----------------------------------------------------------------- workflow
def register_delivery_token(onboarding_id: str, shipment_id: str, task_token: str) -> None:
    """Store the Wait For Delivery task token on a recorded shipment.

    A later registration replaces the token, because Step Functions issues a new one when
    the step is retried. When the shipment already has an outcome (the callback won the
    race against a retried step), the outcome is sent to the new token at once, so the
    workflow does not wait for a delivery that already happened.

    Raises NotFoundError when `record_shipment` never stored the shipment.
    """
    try:
        response = _table().update_item(
            Key=_shipment_key(onboarding_id, shipment_id),
            UpdateExpression="SET task_token = :t, token_registered_at = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":t": task_token, ":now": now_iso()},
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _is_condition_failure(exc):
            raise NotFoundError(
                f"shipment {shipment_id} of onboarding {onboarding_id} was never recorded",
                field="shipment_id",
            ) from exc
        raise
    shipment = Shipment.model_validate(response["Attributes"])
    log_keys = {"onboarding_id": onboarding_id, "shipment_id": shipment_id}
    logger.info("delivery task token registered", extra=log_keys)

    if shipment.status in (ShipmentStatus.REQUESTED, ShipmentStatus.CANCELLED):
        return
    logger.info(
        "resuming workflow with the stored shipment outcome",
        extra={**log_keys, "status": shipment.status.value},
    )
    try:
        send_outcome(task_token, shipment.status, shipment_id, shipment.outcome_at or now_iso())
    except TaskTokenClosedError as exc:
        raise _workflow_gone(shipment_id, exc.code) from exc
    _mark_notified(shipment)


def complete_delivery(callback: DeliveryCallback) -> CallbackResult:
    """Record a delivered shipment and send SendTaskSuccess to the waiting workflow, once.

    The task output is `{"delivered": true, "delivered_at": <iso>, "shipment_id": <id>}`,
    and the onboarding record gets `delivered_at`. A duplicate callback returns
    ALREADY_PROCESSED without calling Step Functions.

    Raises
    ------
    NotFoundError
        No shipment has this id.
    ConflictError
        The workflow does not wait yet because its token is not registered (retry
        later), no longer waits (the step timed out or ended), or the shipment
        already has another outcome.
    TransientError
        Step Functions failed. The claim is released so that a retried callback can succeed,
        as it is after any other failure before the workflow took the outcome.
    """
    if callback.status is not DeliveryStatus.DELIVERED:
        raise ValueError(f"complete_delivery needs a delivered callback, got {callback.status}")
    return _settle(callback)


def fail_delivery(callback: DeliveryCallback) -> CallbackResult:
    """Record a failed or returned shipment and send SendTaskFailure(DeliveryFailedError), once.

    The workflow's Catch on DeliveryFailedError decides what happens next. Errors are
    those of `complete_delivery`.
    """
    if callback.status is DeliveryStatus.DELIVERED:
        raise ValueError("fail_delivery needs a failed or returned callback, got delivered")
    return _settle(callback)


def _settle(callback: DeliveryCallback) -> CallbackResult:
    shipment = find_shipment(callback.shipment_id)
    outcome = callback.status.shipment_status
    received_at = now_iso()

    claimed = _claim_outcome(shipment, outcome, callback.occurred_at.isoformat(), received_at)
    taken_over = False
    if claimed is None:
        current = _get_shipment(shipment.onboarding_id, shipment.shipment_id)
        claimed = _handle_claimed_shipment(callback, current, received_at)
        if claimed is None:
            logger.info(
                "duplicate delivery callback",
                extra={"shipment_id": shipment.shipment_id, "status": callback.status.value},
            )
            return CallbackResult.ALREADY_PROCESSED
        taken_over = True
    return _resume_workflow(claimed, received_at, taken_over=taken_over)


def _claim_outcome(
    shipment: Shipment, outcome: ShipmentStatus, outcome_at: str, received_at: str
) -> Shipment | None:
    """Move the shipment from REQUESTED to `outcome`, or return None when its state forbids it."""
    expression = "SET #status = :outcome, outcome_at = :at, callback_received_at = :received"
    if outcome is ShipmentStatus.DELIVERED:
        expression += ", delivered_at = :at"
    try:
        response = _table().update_item(
            Key=_shipment_key(shipment.onboarding_id, shipment.shipment_id),
            UpdateExpression=expression,
            ConditionExpression=(
                "#status = :requested AND attribute_exists(task_token) "
                "AND attribute_not_exists(delivered_at)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":outcome": outcome.value,
                ":at": outcome_at,
                ":received": received_at,
                ":requested": ShipmentStatus.REQUESTED.value,
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _is_condition_failure(exc):
            return None
        raise
    return Shipment.model_validate(response["Attributes"])


def _handle_claimed_shipment(
    callback: DeliveryCallback, current: Shipment, received_at: str
) -> Shipment | None:
    """Decide a callback that could not claim the shipment, from its stored state.

    Returns None for a duplicate of a processed outcome, or the shipment when this call
    took over a claim left by a crashed invocation. Raises ConflictError otherwise.
    """
    shipment_id = current.shipment_id
    if current.status is ShipmentStatus.REQUESTED:
        if current.task_token is None:
            # The Wait For Delivery step has not registered its token yet, and the service retries.
            raise ConflictError(
                f"the onboarding workflow does not wait for shipment {shipment_id} yet, so "
                f"{RETRY_HINT}",
                field="shipment_id",
            )
        raise ConflictError(
            f"another callback for shipment {shipment_id} is being processed, so {RETRY_HINT}",
            field="shipment_id",
        )
    if current.status is not callback.status.shipment_status:
        if current.status is ShipmentStatus.CANCELLED:
            logger.warning(
                "outcome reported for a cancelled shipment",
                extra={"shipment_id": shipment_id, "status": callback.status.value},
            )
        raise ConflictError(
            f"shipment {shipment_id} is already {current.status.value}, so "
            f"a {callback.status.value} callback cannot change it",
            field="status",
        )
    if current.workflow_rejection:
        raise _workflow_gone(shipment_id, current.workflow_rejection)
    if current.workflow_notified_at:
        return None
    if not _is_stale(current.callback_received_at):
        raise ConflictError(
            f"another callback for shipment {shipment_id} is being processed, so {RETRY_HINT}",
            field="shipment_id",
        )
    try:
        response = _table().update_item(
            Key=_shipment_key(current.onboarding_id, shipment_id),
            UpdateExpression="SET callback_received_at = :received",
            ConditionExpression=(
                "callback_received_at = :previous AND attribute_not_exists(workflow_notified_at)"
            ),
            ExpressionAttributeValues={
                ":received": received_at,
                ":previous": current.callback_received_at,
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _is_condition_failure(exc):
            raise ConflictError(
                f"another callback for shipment {shipment_id} is being processed, so {RETRY_HINT}",
                field="shipment_id",
            ) from exc
        raise
    logger.warning(
        "taking over a stale delivery claim",
        extra={"onboarding_id": current.onboarding_id, "shipment_id": shipment_id},
    )
    return Shipment.model_validate(response["Attributes"])


def _is_stale(claimed_at: str | None) -> bool:
    if not claimed_at:
        return True
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(claimed_at)
    return age.total_seconds() > STALE_CLAIM_SECONDS


def _resume_workflow(claimed: Shipment, received_at: str, *, taken_over: bool) -> CallbackResult:
    """Send the claimed outcome to the workflow and record that it was sent."""
    if claimed.task_token is None or claimed.outcome_at is None:
        raise RuntimeError("a claimed shipment lacks its task token or outcome time")
    log_keys = {
        "onboarding_id": claimed.onboarding_id,
        "shipment_id": claimed.shipment_id,
        "status": claimed.status.value,
    }
    try:
        if claimed.status is ShipmentStatus.DELIVERED:
            # The close step reads delivered_at on the onboarding to decide whether to cancel.
            store.update_onboarding(claimed.onboarding_id, delivered_at=claimed.outcome_at)
        send_outcome(claimed.task_token, claimed.status, claimed.shipment_id, claimed.outcome_at)
    except TaskTokenClosedError as exc:
        if taken_over:
            # The crashed invocation may have used the token before it stopped, so a closed
            # token here does not show that the workflow missed the outcome.
            _mark_notified(claimed)
            logger.warning("stale claim's task token already closed", extra=log_keys)
            return CallbackResult.ALREADY_PROCESSED
        _record_rejection(claimed, exc.code)
        raise _workflow_gone(claimed.shipment_id, exc.code) from exc
    except Exception:
        # Any other failure leaves the workflow waiting, so a retried callback must be able
        # to claim the outcome again.
        _release_claim(claimed, received_at)
        raise

    _mark_notified(claimed)
    audit.record(
        subject_id=claimed.onboarding_id,
        action=f"shipment_{claimed.status.value.lower()}",
        outcome="workflow_resumed",
        actor="fulfillment",
        details={"shipment_id": claimed.shipment_id, "occurred_at": claimed.outcome_at},
    )
    logger.info("delivery callback accepted", extra=log_keys)
    return CallbackResult.ACCEPTED


def _workflow_gone(shipment_id: str, code: str) -> ConflictError:
    return ConflictError(
        f"the onboarding workflow no longer waits for shipment {shipment_id} ({code})",
        field="shipment_id",
    )


def _mark_notified(shipment: Shipment) -> None:
    _table().update_item(
        Key=_shipment_key(shipment.onboarding_id, shipment.shipment_id),
        UpdateExpression="SET workflow_notified_at = :now",
        ExpressionAttributeValues={":now": now_iso()},
    )


def _record_rejection(shipment: Shipment, code: str) -> None:
    """Keep the outcome but note that the workflow rejected it, so duplicates also get 409."""
    _table().update_item(
        Key=_shipment_key(shipment.onboarding_id, shipment.shipment_id),
        UpdateExpression="SET workflow_rejection = :code",
        ExpressionAttributeValues={":code": code},
    )
    logger.warning(
        "workflow rejected the delivery outcome",
        extra={
            "onboarding_id": shipment.onboarding_id,
            "shipment_id": shipment.shipment_id,
            "error": code,
        },
    )


def _release_claim(shipment: Shipment, received_at: str) -> None:
    """Undo this call's claim after Step Functions failed, so a retried callback can claim it."""
    try:
        _table().update_item(
            Key=_shipment_key(shipment.onboarding_id, shipment.shipment_id),
            UpdateExpression=(
                "SET #status = :requested REMOVE outcome_at, callback_received_at, delivered_at"
            ),
            ConditionExpression="#status = :outcome AND callback_received_at = :received",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":requested": ShipmentStatus.REQUESTED.value,
                ":outcome": shipment.status.value,
                ":received": received_at,
            },
        )
    except ClientError as exc:
        # The claim then goes stale and a callback retried after STALE_CLAIM_SECONDS takes it over.
        logger.error(
            "releasing the delivery claim failed",
            extra={
                "onboarding_id": shipment.onboarding_id,
                "shipment_id": shipment.shipment_id,
                "error": _error_code(exc),
            },
        )
