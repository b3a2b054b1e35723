"""Access gateway routes.

- POST /access/evaluate: Cloudflare Access external evaluation; `{"token": <JWT>}` in, a signed
  `{"token": <JWT>}` out (see `hireproof.access.evaluation`);
- GET /access/keys: the public keys that verify HireProof's signed responses, as a JWKS;
- POST /access/decisions (IAM-authorized): `{"email", "application"}` in, `{"allow", "reasons",
  "step_up_url"}` out, for gateways without external evaluation.

The function skips Powertools' Tracer: the X-Ray SDK adds about 250 ms to a cold start, and the
gateway waits for this response. Lambda's active tracing still records each invocation.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from hireproof import http_errors
from hireproof.access.evaluation import decide_for_email, evaluate_external
from hireproof.access.login_signals import observe_login
from hireproof.access.policy import AccessPolicySettings
from hireproof.access.settings import gateway_from_env
from hireproof.access.signing import DecisionSigner, signer_from_env
from hireproof.access.tokens import GatewaySettings
from hireproof.errors import InvalidRequestError, MalformedBodyError
from hireproof.hr.sources import raw_body
from hireproof.jwks import JwksCache

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
http_errors.register(app)

EXPECTED_DECISION_BODY = '{"email": "work e-mail", "application": "1 to 200 characters"}'


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    application: str = Field(min_length=1, max_length=200)


@cache
def _gateway() -> tuple[GatewaySettings, JwksCache]:
    # Cached per container: the JWKS cache must outlive one request to be a cache.
    settings, ca_bundle = gateway_from_env()
    return settings, JwksCache(settings.certs_url, ca_bundle=ca_bundle)


@cache
def _signer() -> DecisionSigner:
    return signer_from_env()


def _policy() -> AccessPolicySettings:
    return AccessPolicySettings.from_env(default_page_url=f"https://{app.current_event.request_context.domain_name}")


def _count(decision_allow: bool, channel: str) -> None:
    metrics.add_dimension(name="channel", value=channel)
    name = "AccessAllowed" if decision_allow else "AccessDenied"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@app.post("/access/evaluate")
def evaluate() -> dict[str, str]:
    gateway, jwks = _gateway()
    result = evaluate_external(
        raw_body(app.current_event.raw_event),
        gateway=gateway,
        jwks=jwks,
        signer=_signer(),
        settings=_policy(),
        observe_login=observe_login,
    )

    _count(result.decision.allow, "external_evaluation")
    return {"token": result.token}


@app.get("/access/keys")
def keys() -> Response[str]:
    # Short caching: during a rotation the gateway must see the new key within minutes.
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(_signer().jwks()),
        headers={"Cache-Control": "public, max-age=300"},
    )


@app.post("/access/decisions")
def decisions() -> dict[str, Any]:
    try:
        document = json.loads(raw_body(app.current_event.raw_event) or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        message = f"body is not valid JSON; send {EXPECTED_DECISION_BODY}"
        raise MalformedBodyError(message, field="body") from exc
    try:
        request = DecisionRequest.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = f"{field}: {first['msg']}; send {EXPECTED_DECISION_BODY}"
        raise InvalidRequestError(message, field=field) from exc

    decision = decide_for_email(
        str(request.email),
        application=request.application,
        settings=_policy(),
        now=dt.datetime.now(dt.UTC),
        channel="decision_api",
    )

    _count(decision.allow, "decision_api")
    return {"allow": decision.allow, "reasons": decision.reasons, "step_up_url": decision.step_up_url}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
