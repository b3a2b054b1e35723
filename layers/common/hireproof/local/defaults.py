"""The local stack's default companions: fake external systems and seed data.

`make demo`, `make serve` and the workflow tests start the stack with these fakes,
so the real adapters talk HTTP to them on 127.0.0.1:
- a BambooHR directory seeded from events/hr_directory/, which accepts any API key
  because the stack generates the key after the fake has started;
- a device fulfillment service that records orders and sends signed delivery callbacks;
- a Cloudflare API that records the access gateway sessions HireProof revokes;
- an access gateway that signs external evaluation requests with its own key and serves
  its certs URL, so the evaluate route validates real tokens;
- a Shared Signals transmitter that signs Security Event Tokens and serves its JWKS.
Identity Center runs inside moto, so it needs no fake, only its groups. A stack started with
`hireproof.local.fakes.okta.FakeOkta` among its services gets the fake's credentials and groups.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hireproof.local.fakes.access_gateway import FakeAccessGateway
from hireproof.local.fakes.bamboohr import FakeBambooHr
from hireproof.local.fakes.cloudflare_api import FakeCloudflareApi
from hireproof.local.fakes.fulfillment import FakeFulfillment
from hireproof.local.fakes.okta import FakeOkta
from hireproof.local.fakes.ssf_transmitter import FakeSsfTransmitter
from hireproof.models import Hire, onboarding_id_for

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
    # A reset's MEDIUM risk would otherwise last a day before the recovery workflow ends.
    "RecoveryRiskHoldSeconds": "10",
}


def default_services() -> list[Any]:
    """Return new, unstarted fakes for the local stack."""
    return [FakeBambooHr(), FakeFulfillment(), FakeCloudflareApi(), FakeAccessGateway(), FakeSsfTransmitter()]


def seed(stack: Any) -> None:
    """Create what a real deployment's administrators would have set up beforehand.

    Today that is the Identity Center groups named in the AccessGroups parameter, the
    fulfillment fake's secret and callback URL, which exist only once the stack runs, and
    the Cloudflare and Okta fakes' credentials in the stack's secrets (and Okta's groups).
    """
    groups: set[str] = set()
    for names in json.loads(stack.template.parameters["AccessGroups"]).values():
        groups.update(names)
    identitystore = stack.client("identitystore")
    store_id = stack.template.parameters["IdentityStoreId"]
    existing = {g["DisplayName"] for g in identitystore.list_groups(IdentityStoreId=store_id)["Groups"]}
    for name in sorted(groups - existing):
        identitystore.create_group(IdentityStoreId=store_id, DisplayName=name)

    secrets = stack.client("secretsmanager")
    for service in stack.services:
        if isinstance(service, FakeFulfillment):
            service.configure(
                secret_arn=stack.physical_id("FulfillmentSecret"),
                callback_url=f"{stack.api_url}/fulfillment/callbacks",
            )
        elif isinstance(service, FakeCloudflareApi) and "GatewayAdminSecret" in stack.resources:
            secrets.put_secret_value(
                SecretId=stack.physical_id("GatewayAdminSecret"),
                SecretString=json.dumps(service.secret_value()),
            )
        elif isinstance(service, FakeOkta):
            secrets.put_secret_value(
                SecretId=stack.physical_id("IdentityProviderSecret"),
                SecretString=json.dumps(service.secret_value()),
            )
            okta_groups = {group["profile"]["name"] for group in service.groups.values()}
            for name in sorted(groups - okta_groups):
                service.add_group(name)


def store_active_person(stack: Any, record: Hire, **attributes: Any) -> str:
    """Store an ACTIVE onboarding of `record` and its access state; return the onboarding id.

    The items are the ones a finished onboarding leaves, for tests that need an ACTIVE person
    without running an onboarding. `attributes` go on the onboarding item, such as the
    identity provider's `idp_user_id`.
    """
    onboarding_id = onboarding_id_for(record.source, record.source_employee_id)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    table = stack.resource("dynamodb").Table(stack.physical_id("OnboardingTable"))
    table.put_item(
        Item={
            "pk": onboarding_id,
            "sk": "HIRE",
            "onboarding_id": onboarding_id,
            "state": "ACTIVE",
            "hire": record.model_dump(mode="json", exclude_none=True),
            "work_email": str(record.work_email).lower(),
            "source": record.source.value,
            "created_at": now,
            "updated_at": now,
            **attributes,
        }
    )
    table.put_item(
        Item={
            "pk": onboarding_id,
            "sk": "ACCESS",
            "access_status": "ACTIVE",
            "risk_level": "LOW",
            "risk_event_time": "1970-01-01T00:00:00.000+00:00",
            "risk_version": 0,
            "step_up_required": False,
            "verified_at": now,
        }
    )
    return onboarding_id
