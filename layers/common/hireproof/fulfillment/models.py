"""Shipments, delivery callbacks and their statuses."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from hireproof.errors import InvalidRequestError

# The id is used in a DynamoDB key and in the cancel URL path, so only the characters that
# RFC 3986 leaves unreserved in a URL pass.
ShipmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")]


class ShipmentStatus(StrEnum):
    """Life cycle of one shipment as HireProof records it."""

    REQUESTED = "REQUESTED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"


class DeliveryStatus(StrEnum):
    """Outcome the fulfillment service reports in a delivery callback."""

    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"

    @property
    def shipment_status(self) -> ShipmentStatus:
        """The shipment status this outcome moves a shipment to."""
        return ShipmentStatus(self.value.upper())


class DeliveryCallback(BaseModel):
    """Body of `POST /fulfillment/callbacks`. Unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    shipment_id: ShipmentId
    status: DeliveryStatus
    occurred_at: AwareDatetime = Field(description="When the carrier recorded the outcome.")


class CallbackResult(StrEnum):
    """Result of a delivery callback, returned to the fulfillment service."""

    ACCEPTED = "accepted"
    ALREADY_PROCESSED = "already processed"


class Shipment(BaseModel):
    """One shipment as stored on the onboarding (item sk="SHIPMENT#<shipment_id>")."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    onboarding_id: str
    shipment_id: str
    status: ShipmentStatus
    address_hash: str | None = None
    # The task token lets anyone holding it resume the workflow, so it stays out of reprs and logs.
    task_token: str | None = Field(default=None, repr=False)
    delivered_at: str | None = None
    outcome_at: str | None = Field(default=None, description="occurred_at of the outcome callback.")
    callback_received_at: str | None = Field(
        default=None, description="When the callback that holds the outcome claim arrived."
    )
    workflow_notified_at: str | None = None
    workflow_rejection: str | None = Field(
        default=None, description="Step Functions error code that rejected the task token, if any."
    )


def parse_callback(body: bytes) -> DeliveryCallback:
    """Parse a callback body, or raise InvalidRequestError naming the first invalid field."""
    try:
        return DeliveryCallback.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidRequestError(
            f"invalid delivery callback: {field}: {first['msg']}", field=field
        ) from exc
