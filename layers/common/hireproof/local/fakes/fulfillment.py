"""A local stand-in for the device fulfillment service, on a free 127.0.0.1 port.

It serves the order API that `hireproof.fulfillment.adapter.WebhookFulfillment` calls:

- ``POST /orders``: a signed `ShipmentOrder` body with an ``Idempotency-Key`` header.
  Returns 201 ``{"shipment_id", "status"}`` for a new key and 200 with the same shipment
  id when the key returns with the same body. Returns 400 without a key (or with one
  over 255 characters), and 422 when a key returns with a different body or the body is
  not an order.
- ``POST /orders/<shipment_id>/cancel``: signed. 200 for an open or already cancelled
  order, 404 for an unknown one, 409 ``already_delivered`` once delivered.

Unsigned or wrongly signed requests get 401 and are counted in `rejections`. The fake
reads the shared secret from Secrets Manager at first use, through boto3 with the standard
endpoint settings (``AWS_ENDPOINT_URL`` for the local stack). The secret's ARN exists only
once the stack is up, so it is given after `start()`::

    fake = FakeFulfillment()
    overrides = fake.start()          # {"FulfillmentUrl": "http://127.0.0.1:PORT"}
    ...                               # start the stack with the overrides
    fake.configure(secret_arn=stack.physical_id("FulfillmentSecret"),
                   callback_url=f"{stack.api_url}/fulfillment/callbacks")
    fake.deliver(shipment_id)         # POSTs a signed callback and returns the response
    fake.stop()

Requests before `configure` get 503, which the adapter treats as transient.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import requests
from pydantic import ValidationError

from hireproof.errors import HireProofError
from hireproof.fulfillment.adapter import IDEMPOTENCY_HEADER, ShipmentOrder
from hireproof.fulfillment.signing import signed_headers, verify_signed_request
from hireproof.local.fakes._loopback import LoopbackServer
from hireproof.signatures import header

_ORDERS_PATH = "/orders"
_CANCEL_PATH = re.compile(r"^/orders/(?P<shipment_id>[^/]+)/cancel$")
MAX_BODY_BYTES = 64 * 1024
MAX_IDEMPOTENCY_KEY_LENGTH = 255

Reply = tuple[int, dict[str, Any]]


@dataclass
class FakeOrder:
    """One order the fake accepted."""

    shipment_id: str
    idempotency_key: str
    body: dict[str, Any]
    status: str = "REQUESTED"
    # Statuses after REQUESTED, in the order the order reached them.
    history: list[str] = field(default_factory=list)

    @property
    def onboarding_id(self) -> str:
        return str(self.body.get("onboarding_id", ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id,
            "idempotency_key": self.idempotency_key,
            "onboarding_id": self.onboarding_id,
            "status": self.status,
            "history": list(self.history),
            "body": json.loads(json.dumps(self.body)),
        }


class FakeFulfillment:
    """The fulfillment service's order API, with assertions on what HireProof sent."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        secret_arn: str | None = None,
        callback_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._secret_arn = secret_arn
        self._callback_url = callback_url
        self._clock = clock
        self._lock = threading.Lock()
        self._orders: dict[str, FakeOrder] = {}
        self._by_key: dict[str, str] = {}
        self._cancellations: list[str] = []
        self._rejections: list[dict[str, str]] = []
        self._http = LoopbackServer("fake-fulfillment")

    # ------------------------------------------------------------ configuration
    def configure(
        self,
        *,
        secret_arn: str | None = None,
        callback_url: str | None = None,
        secret: str | None = None,
    ) -> None:
        """Set the secret (by ARN, read at first use, or by value) and the callback URL."""
        with self._lock:
            if secret_arn is not None:
                self._secret_arn = secret_arn
                self._secret = None
            if secret is not None:
                self._secret = secret
            if callback_url is not None:
                self._callback_url = callback_url

    def _shared_secret(self) -> bytes | None:
        with self._lock:
            if self._secret is None and self._secret_arn:
                client = boto3.session.Session().client("secretsmanager")
                value = client.get_secret_value(SecretId=self._secret_arn)
                self._secret = str(value["SecretString"])
            return self._secret.encode("utf-8") if self._secret else None

    # ------------------------------------------------------------ assertions
    @property
    def orders(self) -> list[dict[str, Any]]:
        """Copies of the accepted orders, in the order they were first placed."""
        with self._lock:
            return [order.as_dict() for order in self._orders.values()]

    @property
    def cancellations(self) -> list[str]:
        """Shipment ids in the order they were cancelled. A repeated cancel is not listed again."""
        with self._lock:
            return list(self._cancellations)

    @property
    def rejections(self) -> list[dict[str, str]]:
        """Requests rejected for their signature: `{"path", "error"}` each."""
        with self._lock:
            return [dict(rejection) for rejection in self._rejections]

    def orders_for(self, onboarding_id: str) -> list[dict[str, Any]]:
        """Return the accepted orders of one onboarding."""
        return [order for order in self.orders if order["onboarding_id"] == onboarding_id]

    # ------------------------------------------------------------ HTTP semantics
    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Return the status and JSON body for one request. The socket server calls this."""
        if method != "POST":
            return 405, {"error": "method_not_allowed"}
        cancel = _CANCEL_PATH.match(path)
        if path != _ORDERS_PATH and cancel is None:
            return 404, {"error": "not_found"}

        try:
            secret = self._shared_secret()
        except Exception as exc:  # noqa: BLE001 - any Secrets Manager failure is a 503 here
            return 503, {"error": "secret_unavailable", "detail": type(exc).__name__}
        if secret is None:
            return 503, {"error": "not_configured"}
        try:
            verify_signed_request(secret, headers, body, now=self._clock())
        except HireProofError as exc:
            with self._lock:
                self._rejections.append({"path": path, "error": type(exc).__name__})
            return 401, {"error": "invalid_signature", "detail": type(exc).__name__}

        if cancel is not None:
            return self._cancel(cancel["shipment_id"])
        return self._order(header(headers, IDEMPOTENCY_HEADER), body)

    def _order(self, idempotency_key: str | None, body: bytes) -> Reply:
        if not idempotency_key:
            return 400, {"error": "idempotency_key_missing"}
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            return 400, {"error": "idempotency_key_too_long"}
        try:
            document = json.loads(body)
            ShipmentOrder.model_validate({**document, "idempotency_key": idempotency_key})
        except (ValueError, TypeError, ValidationError):
            return 422, {"error": "invalid_order"}

        with self._lock:
            known = self._by_key.get(idempotency_key)
            if known is not None:
                order = self._orders[known]
                # The same key with another body is a client bug, not a retry.
                if order.body != document:
                    return 422, {"error": "idempotency_key_reused"}
                return 200, {"shipment_id": order.shipment_id, "status": order.status}
            shipment_id = f"shp_{uuid.uuid4().hex[:20]}"
            self._orders[shipment_id] = FakeOrder(shipment_id, idempotency_key, document)
            self._by_key[idempotency_key] = shipment_id
        return 201, {"shipment_id": shipment_id, "status": "REQUESTED"}

    def _cancel(self, shipment_id: str) -> Reply:
        with self._lock:
            order = self._orders.get(shipment_id)
            if order is None:
                return 404, {"error": "not_found"}
            if order.status == "DELIVERED":
                return 409, {"error": "already_delivered"}
            if order.status != "CANCELLED":
                order.status = "CANCELLED"
                order.history.append("CANCELLED")
                self._cancellations.append(shipment_id)
        return 200, {"shipment_id": shipment_id, "status": "CANCELLED"}

    # ------------------------------------------------------------ callbacks
    def deliver(
        self,
        shipment_id: str,
        status: str = "delivered",
        *,
        occurred_at: dt.datetime | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        """POST a signed delivery callback for one order to the configured callback URL.

        `status` is delivered, failed or returned. Returns HireProof's response, which is
        truthy only for a 2xx, so a caller can poll until a 409 "retry later" turns into
        success. The order takes the new status only after a 2xx.
        """
        with self._lock:
            order = self._orders.get(shipment_id)
            callback_url = self._callback_url
        if order is None:
            raise KeyError(f"the fake has no order {shipment_id}")
        if order.status == "CANCELLED":
            raise ValueError(
                f"order {shipment_id} is cancelled, so a real carrier would not deliver it"
            )
        if not callback_url:
            raise RuntimeError("configure(callback_url=...) before deliver()")
        secret = self._shared_secret()
        if secret is None:
            raise RuntimeError("configure(secret_arn=...) before deliver()")

        moment = occurred_at or dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        payload = {"shipment_id": shipment_id, "status": status, "occurred_at": moment.isoformat()}
        body = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
        response = requests.post(callback_url, data=body, headers=headers, timeout=timeout)
        if response.ok:
            with self._lock:
                order.status = status.upper()
                order.history.append(order.status)
        return response

    # ------------------------------------------------------------ socket server
    @property
    def base_url(self) -> str:
        """The FULFILLMENT_URL for this fake, valid only after start()."""
        address = self._http.address
        if address is None:
            raise RuntimeError("FakeFulfillment is not started")
        host, port = address
        return f"http://{host!s}:{port}"

    def start(self) -> dict[str, str]:
        """Serve on a free 127.0.0.1 port and return the template parameter overrides."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, document: dict[str, Any]) -> None:
                payload = json.dumps(document).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._reply(413, {"error": "body_too_large"})
                    return
                body = self.rfile.read(length)
                headers = {key: value for key, value in self.headers.items()}
                self._reply(*fake.handle("POST", self.path, headers, body))

            def do_GET(self) -> None:
                self._reply(405, {"error": "method_not_allowed"})

            def log_message(self, format: str, *args: Any) -> None:
                # The default handler prints every request line to stderr.
                return

        self._http.start(Handler)
        return {"FulfillmentUrl": self.base_url}

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._http.stop()
