"""The local stack's default companions: fake external systems and seed data.

`make demo`, `make serve` and the workflow tests start the stack with these fakes,
so the real adapters talk HTTP to them on 127.0.0.1:
- a BambooHR directory seeded from events/hr_directory/, which accepts any API key
  because the stack generates the key after the fake has started;
- a device fulfillment service that records orders and sends signed delivery callbacks.
Identity Center runs inside moto, so it needs no fake, only its groups.
"""

from __future__ import annotations

import json
from typing import Any

from hireproof.local.fakes.bamboohr import FakeBambooHr
from hireproof.local.fakes.fulfillment import FakeFulfillment

# Short waits so that the reminder and expiry paths finish within the demo. The
# verification page API sends a heartbeat on every request, so a hire who is busy
# verifying is not reminded.
DEMO_PARAMETERS: dict[str, str] = {
    "InvitationTtlSeconds": "600",
    "VerificationHeartbeatSeconds": "8",
    "VerificationMaxReminders": "1",
    "VerificationTimeoutSeconds": "120",
    "ReviewTimeoutSeconds": "120",
    "DeliveryTimeoutSeconds": "120",
    "RecipientVerificationTimeoutSeconds": "120",
}


def default_services() -> list[Any]:
    """Return new, unstarted fakes for the local stack."""
    return [FakeBambooHr(), FakeFulfillment()]


def seed(stack: Any) -> None:
    """Create what a real deployment's administrators would have set up beforehand.

    Today that is the Identity Center groups named in the AccessGroups parameter, and
    the fulfillment fake's secret and callback URL, which exist only once the stack runs.
    """
    groups: set[str] = set()
    for names in json.loads(stack.template.parameters["AccessGroups"]).values():
        groups.update(names)
    identitystore = stack.client("identitystore")
    store_id = stack.template.parameters["IdentityStoreId"]
    existing = {g["DisplayName"] for g in identitystore.list_groups(IdentityStoreId=store_id)["Groups"]}
    for name in sorted(groups - existing):
        identitystore.create_group(IdentityStoreId=store_id, DisplayName=name)

    for service in stack.services:
        if isinstance(service, FakeFulfillment):
            service.configure(
                secret_arn=stack.physical_id("FulfillmentSecret"),
                callback_url=f"{stack.api_url}/fulfillment/callbacks",
            )
