"""Access decisions for the gateway: external evaluation (signed) and the plain decision API.

External evaluation, step by step:
1. the body must be `{"token": "<JWT>"}` of at most 16 KiB;
2. the token must come from the configured gateway (see `access.tokens`), else 401 and no decision;
3. the person behind the identity's e-mail is looked up and `access.policy.decide` runs;
4. the decision is audited (person id, audience, decision, reasons; never token contents);
5. the response is a JWT signed by HireProof's key: `success`, the nonce unchanged, iat, exp 60 s later.

After step 2 the gateway's nonce is known, so any later failure returns a signed
`success: false`: the gateway denies, and nothing is allowed by default.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from hireproof import audit
from hireproof.access import persons
from hireproof.access.policy import AccessDecision, AccessPolicySettings, decide
from hireproof.access.signing import DecisionSigner, decision_token
from hireproof.access.tokens import GatewaySettings, validate_gateway_token
from hireproof.errors import InvalidRequestError, MalformedBodyError, PayloadTooLargeError
from hireproof.hashing import keyed_hash
from hireproof.jwks import JwksCache

logger = Logger(child=True)

MAX_BODY_BYTES = 16 * 1024
ACTOR = "access-gateway"

# Called after a decision with the person, the gateway's identity claim and the time, for
# laptop-farm signals; it must not raise (see `hireproof.risk.signals`).
LoginObserver = Callable[[persons.Person, dict[str, Any], dt.datetime], None]


@dataclass(frozen=True)
class EvaluationResult:
    """The signed response token for the gateway and the decision behind it."""

    token: str
    decision: AccessDecision


def parse_evaluation_body(body: bytes) -> str:
    """Return the token of an external evaluation request, or raise a 4xx error naming the fix."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"body is {len(body)} bytes; an evaluation request is at most {MAX_BODY_BYTES} bytes",
            field="body",
        )
    try:
        document = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedBodyError('body is not valid JSON; send {"token": "<JWT>"}', field="body") from exc
    if not isinstance(document, dict):
        raise InvalidRequestError('body must be a JSON object; send {"token": "<JWT>"}', field="body")
    token = document.get("token")
    if token is None or token == "":
        raise InvalidRequestError('token is missing; send {"token": "<JWT>"}', field="token")
    if not isinstance(token, str):
        raise InvalidRequestError('token must be a string; send {"token": "<JWT>"}', field="token")
    return token


def _subject_for(person: persons.Person | None, email: str) -> str:
    # Unknown e-mails are linked by a keyed hash, so repeated probes show up without the address.
    return person.person_id if person else f"email:{keyed_hash('work_email', email)[:32]}"


def decide_for_email(
    email: str,
    *,
    application: str,
    settings: AccessPolicySettings,
    now: dt.datetime,
    channel: str,
    identity: dict[str, Any] | None = None,
    observe_login: LoginObserver | None = None,
) -> AccessDecision:
    """Look the person up, decide, audit the decision, and pass the login on to the signals."""
    person = persons.find_by_email(email)
    decision = decide(person, settings, now=now)
    audit.record(
        subject_id=_subject_for(person, email),
        action="access_decided",
        outcome="allow" if decision.allow else "deny",
        actor=ACTOR if channel == "external_evaluation" else channel,
        reasons=decision.reasons,
        details={"application": application[:200], "channel": channel},
        now=now,
    )
    # audit.record logs the decision (subject, outcome, reasons); a second line would only repeat it.
    if person is not None and observe_login is not None and identity is not None:
        observe_login(person, identity, now)
    return decision


def evaluate_external(
    body: bytes,
    *,
    gateway: GatewaySettings,
    jwks: JwksCache,
    signer: DecisionSigner,
    settings: AccessPolicySettings,
    observe_login: LoginObserver | None = None,
    clock: Callable[[], float] = time.time,
) -> EvaluationResult:
    """Decide one external evaluation request and sign the response (steps in the module docstring)."""
    token = parse_evaluation_body(body)
    now_epoch = clock()
    claims = validate_gateway_token(token, settings=gateway, jwks=jwks, now=now_epoch)
    nonce = str(claims["nonce"])
    identity = claims["identity"]
    now = dt.datetime.fromtimestamp(now_epoch, dt.UTC)

    try:
        decision = decide_for_email(
            str(identity["email"]),
            application=gateway.audience,
            settings=settings,
            now=now,
            channel="external_evaluation",
            identity=identity,
            observe_login=observe_login,
        )
    except Exception as exc:  # any failure after validation returns a signed deny
        logger.exception(
            "access decision failed; responding with a signed deny", extra={"error": type(exc).__name__}
        )
        decision = AccessDecision(allow=False, person_id=None, reasons=["internal_error"])

    signed = decision_token(signer, success=decision.allow, nonce=nonce, now=int(now_epoch))
    return EvaluationResult(token=signed, decision=decision)
