"""Client of the device fulfillment service that ships laptops to hires.

The service exposes two signed endpoints (see `signing` for the signature):
- `POST {FULFILLMENT_URL}/orders` with a JSON `ShipmentOrder` body (without the
  idempotency key, which travels in the `Idempotency-Key` header) returns 200 or 201 with
  `{"shipment_id": "..."}`. The same key always returns the same shipment id.
- `POST {FULFILLMENT_URL}/orders/{shipment_id}/cancel` returns 2xx, or 409 once the
  laptop is delivered.

Status mapping: 2xx succeeds. 429, 5xx, timeouts and connection errors raise
TransientError, which the workflow retries, and other 4xx raise FulfillmentError.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from hireproof.config import int_env, require_env
from hireproof.errors import ConfigurationError, FulfillmentError, TransientError
from hireproof.fulfillment.models import ShipmentId
from hireproof.fulfillment.signing import signed_headers
from hireproof.models import Address, NonEmpty

logger = Logger(child=True)

URL_ENV = "FULFILLMENT_URL"
SECRET_ENV = "FULFILLMENT_SECRET_ARN"  # noqa: S105 (an environment variable name)
# Five minutes bounds how long a warm function keeps signing with a rotated-out secret.
DEFAULT_SECRET_CACHE_SECONDS = 300
IDEMPOTENCY_HEADER = "Idempotency-Key"

_SHIPMENT_ID = TypeAdapter(ShipmentId)
# Only a short code from an error body is repeated in messages, because a free-text
# body could echo the recipient's name or address.
_ERROR_CODE = TypeAdapter(Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")])


class ShipmentOrder(BaseModel):
    """One laptop order: what to ship, to whom and where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    onboarding_id: NonEmpty
    device_profile: NonEmpty
    recipient_name: NonEmpty
    ship_to: Address
    idempotency_key: NonEmpty

    def request_body(self) -> dict[str, Any]:
        """Return the JSON body of the order without the idempotency key, which goes in a header."""
        return self.model_dump(mode="json", exclude={"idempotency_key"}, exclude_none=True)


class FulfillmentProvider(Protocol):
    """A service that ships laptops and can cancel a shipment before delivery."""

    def request_shipment(self, order: ShipmentOrder) -> str:
        """Place the order (or find the one with the same idempotency key) and return its id."""
        ...

    def cancel_shipment(self, shipment_id: str) -> None:
        """Cancel an undelivered shipment. Cancelling twice succeeds."""
        ...


def fulfillment_secret() -> bytes:
    """Return the HMAC secret shared with the fulfillment service (a plain string secret)."""
    value = parameters.get_secret(
        require_env(SECRET_ENV),
        max_age=int_env("FULFILLMENT_SECRET_CACHE_SECONDS", DEFAULT_SECRET_CACHE_SECONDS),
    )
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"the secret in {SECRET_ENV} must be a non-empty string")
    return value.encode("utf-8")


def _validated_base_url(url: str) -> str:
    """Return the URL without a trailing slash. Plain http is allowed only on loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    # Orders carry the hire's name and home address, so they never travel unencrypted.
    raise ConfigurationError(
        f"{URL_ENV} must be an https URL (http only for a local service on loopback), got {url!r}"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookFulfillment:
    """FulfillmentProvider that sends signed JSON requests to the service's HTTP API."""

    def __init__(
        self,
        base_url: str,
        secret: Callable[[], bytes] = fulfillment_secret,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        self._base_url = _validated_base_url(base_url)
        self._secret = secret
        self._session = session or requests.Session()
        self._timeout = timeout

    @classmethod
    def from_environment(cls) -> WebhookFulfillment:
        """Build the client from FULFILLMENT_URL and FULFILLMENT_SECRET_ARN."""
        return cls(require_env(URL_ENV))

    def request_shipment(self, order: ShipmentOrder) -> str:
        """Send the order and return the service's shipment id."""
        response = self._post(
            "/orders", order.request_body(), idempotency_key=order.idempotency_key, action="order"
        )
        try:
            shipment_id = _SHIPMENT_ID.validate_python(response.json().get("shipment_id"))
        except (ValueError, AttributeError, ValidationError) as exc:
            raise FulfillmentError(
                "the fulfillment service accepted the order but returned no valid shipment_id"
            ) from exc
        logger.info(
            "shipment requested",
            extra={"onboarding_id": order.onboarding_id, "shipment_id": shipment_id},
        )
        return shipment_id

    def cancel_shipment(self, shipment_id: str) -> None:
        """Cancel a shipment. A delivered one raises FulfillmentError (HTTP 409)."""
        try:
            safe_id = _SHIPMENT_ID.validate_python(shipment_id)
        except ValidationError as exc:
            raise FulfillmentError(f"invalid shipment id {shipment_id!r}") from exc
        self._post(
            f"/orders/{safe_id}/cancel", {}, idempotency_key=f"cancel-{safe_id}", action="cancel"
        )
        logger.info("shipment cancellation sent", extra={"shipment_id": safe_id})

    def _post(
        self, path: str, payload: Mapping[str, Any], *, idempotency_key: str, action: str
    ) -> requests.Response:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            **signed_headers(self._secret(), body),
        }
        try:
            response = self._session.post(
                f"{self._base_url}{path}", data=body, headers=headers, timeout=self._timeout
            )
        except requests.Timeout as exc:
            raise TransientError(
                f"the fulfillment {action} request timed out and can be retried"
            ) from exc
        except requests.ConnectionError as exc:
            raise TransientError(
                f"the {action} request could not reach the fulfillment service and can be retried"
            ) from exc
        _raise_for_status(response, action)
        return response


def fulfillment_provider_from_env() -> FulfillmentProvider:
    """Return the provider configured by FULFILLMENT_URL and FULFILLMENT_SECRET_ARN.

    Every stage uses the signed HTTP API. The local stack points FULFILLMENT_URL at
    `hireproof.local.fakes.fulfillment.FakeFulfillment`.
    """
    return WebhookFulfillment.from_environment()


def _raise_for_status(response: requests.Response, action: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"the fulfillment service returned HTTP {status} for the {action}"
    code = _error_code(response)
    if code:
        detail += f" ({code})"
    if status == 429 or status >= 500:
        raise TransientError(f"{detail} and can be retried")
    if status == 409 and action == "order":
        # An order 409 means a request with the same Idempotency-Key is still being
        # processed (IETF draft-ietf-httpapi-idempotency-key-header), so a retry succeeds.
        raise TransientError(f"{detail} and can be retried")
    raise FulfillmentError(detail)


def _error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    try:
        return _ERROR_CODE.validate_python(body.get("error"))
    except ValidationError:
        return None
