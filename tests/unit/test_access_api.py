"""Access handler: external evaluation, published keys and the IAM decision API on template.yaml's tables.

The gateway here is in-process: its RSA key signs the inbound tokens and its JWKS reaches the
handler's cache through an injected fetch, since unit tests have no sockets. The responses are
checked the way the gateway checks them: signature against GET /access/keys, nonce, expiry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof import audit, aws
from hireproof.access import login_signals, persons
from hireproof.access.tokens import GatewaySettings
from hireproof.jwks import JwksCache
from hireproof.onboarding import store
from sessions_support import LambdaContext, add_onboarding, load_event, load_handler, make_hire
from template_resources import StackResources, mocked_stack

TEAM = "hireproof-test.cloudflareaccess.com"
ISSUER = f"https://{TEAM}"
AUDIENCE = "aud-0123456789abcdef"
GATEWAY_KID = "gateway-key-1"


class InProcessGateway:
    """The gateway's side: a signing key, its JWKS, and the check Access applies to responses."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = json.dumps({"keys": [{**public, "kid": GATEWAY_KID, "alg": "RS256", "use": "sig"}]})

    def mint(self, email: str, *, nonce: str = "nonce-4f1c", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": [AUDIENCE],
            "iat": now,
            "nbf": now,
            "exp": now + 60,
            "nonce": nonce,
            "identity": {"email": email, "groups": ["engineering"], "geo": {"country": "US"}},
        }
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": GATEWAY_KID})


@pytest.fixture
def gateway() -> InProcessGateway:
    return InProcessGateway()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackResources]:
    with mocked_stack() as resources:
        monkeypatch.setenv("ACCESS_SIGNING_KEY_IDS", resources.name("AccessSigningKey"))
        monkeypatch.setenv("ACCESS_TEAM_DOMAIN", TEAM)
        monkeypatch.setenv("ACCESS_AUDIENCE", AUDIENCE)
        monkeypatch.setenv("VERIFICATION_PAGE_URL", "https://verify.example.test")
        monkeypatch.setenv("HASH_KEY_SECRET_ARN", resources.arn("HashKeySecret"))
        yield resources


@pytest.fixture
def handler(gateway: InProcessGateway, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = load_handler("access")
    settings = GatewaySettings(certs_url=f"{ISSUER}/cdn-cgi/access/certs", issuer=ISSUER, audience=AUDIENCE)
    cache = JwksCache(settings.certs_url, fetch=lambda url: gateway.jwks.encode())
    monkeypatch.setattr(module, "_gateway", lambda: (settings, cache))
    return module


def _active_person(employee_id: str = "4821") -> tuple[str, str]:
    hire = make_hire(employee_id=employee_id)
    onboarding_id = add_onboarding(hire)
    store.update_onboarding(onboarding_id, state="ACTIVE")
    persons.activate(onboarding_id, verified_at=persons.now_iso(), residence_country="US")
    return onboarding_id, str(hire.work_email)


def _call(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = handler.lambda_handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"] or "null"), response.get("headers", {})


def _evaluate(handler: Any, body: str) -> tuple[int, dict[str, Any]]:
    event = load_event("access", "evaluate")
    event["body"] = body
    status, document, _ = _call(handler, event)
    return status, document


def _accept(handler: Any, answer: dict[str, Any], nonce: str) -> dict[str, Any]:
    """Check a response as Access does: signature by a published kid, RS256, unexpired, nonce."""
    _, keys, _ = _call(handler, load_event("access", "keys"))
    kid = jwt.get_unverified_header(answer["token"])["kid"]
    jwk = next(k for k in keys["keys"] if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(answer["token"], jwt.PyJWK(jwk).key, algorithms=["RS256"])
    assert claims["nonce"] == nonce
    assert claims["exp"] == claims["iat"] + 60
    return claims


def _decisions(stack: StackResources, subject_id: str) -> list[dict[str, Any]]:
    return [r for r in audit.records_for(subject_id) if r["action"] == "access_decided"]


def test_evaluate_allows_active_verified_person(
    stack: StackResources, handler: Any, gateway: InProcessGateway
) -> None:
    person_id, email = _active_person()

    status, answer = _evaluate(handler, json.dumps({"token": gateway.mint(email, nonce="n-allow")}))

    assert status == 200
    assert _accept(handler, answer, "n-allow")["success"] is True
    [record] = _decisions(stack, person_id)
    assert (record["outcome"], record["reasons"]) == ("allow", [])
    assert record["details"]["application"] == AUDIENCE
    assert email not in json.dumps(record, default=str)


def test_evaluate_denies_unknown_email_with_signed_answer(
    stack: StackResources, handler: Any, gateway: InProcessGateway
) -> None:
    token = gateway.mint("nobody@example.com", nonce="n-x")

    status, answer = _evaluate(handler, json.dumps({"token": token}))

    assert status == 200
    assert _accept(handler, answer, "n-x")["success"] is False


def test_evaluate_denies_medium_risk_with_step_up(
    stack: StackResources, handler: Any, gateway: InProcessGateway
) -> None:
    person_id, email = _active_person()
    # Set the risk as the risk state does for a MEDIUM event.
    aws.table(stack.name("OnboardingTable")).update_item(
        Key={"pk": person_id, "sk": "ACCESS"},
        UpdateExpression="SET risk_level = :m, step_up_required = :t",
        ExpressionAttributeValues={":m": "MEDIUM", ":t": True},
    )

    status, answer = _evaluate(handler, json.dumps({"token": gateway.mint(email, nonce="n-m")}))

    assert status == 200
    assert _accept(handler, answer, "n-m")["success"] is False
    assert _decisions(stack, person_id)[-1]["reasons"] == ["step_up_required"]


def test_evaluate_answers_signed_deny_when_the_lookup_fails(
    stack: StackResources, handler: Any, gateway: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, email = _active_person()

    def broken(_email: str) -> None:
        raise RuntimeError("table unavailable")

    monkeypatch.setattr(persons, "find_by_email", broken)

    status, answer = _evaluate(handler, json.dumps({"token": gateway.mint(email, nonce="n-err")}))

    assert status == 200
    assert _accept(handler, answer, "n-err")["success"] is False


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ("{not json", 400, "MalformedBodyError", "body"),
        ("{}", 422, "InvalidRequestError", "token"),
        ("[]", 422, "InvalidRequestError", "body"),
        (json.dumps({"token": 7}), 422, "InvalidRequestError", "token"),
        (json.dumps({"token": "x" * 20_000}), 413, "PayloadTooLargeError", "body"),
    ],
)
def test_evaluate_rejects_bad_body_naming_the_field(
    stack: StackResources, handler: Any, body: str, status: int, error: str, field: str
) -> None:
    got_status, document = _evaluate(handler, body)

    assert (got_status, document["error"], document["field"]) == (status, error, field)
    assert "xxxxxxxx" not in document["message"]


def test_evaluate_rejects_expired_token_without_echoing_it(
    stack: StackResources, handler: Any, gateway: InProcessGateway
) -> None:
    _, email = _active_person()
    token = gateway.mint(email, exp=int(time.time()) - 120, iat=int(time.time()) - 300)

    status, document = _evaluate(handler, json.dumps({"token": token}))

    assert status == 401
    assert document["error"] == "GatewayTokenInvalidError"
    assert token not in json.dumps(document)
    assert email not in json.dumps(document)


def test_evaluate_without_gateway_settings_fails_closed(
    stack: StackResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESS_TEAM_DOMAIN", "")
    module = load_handler("access")

    status, document, _ = _call(module, load_event("access", "evaluate"))

    assert status == 500
    assert document["error"] == "ConfigurationError"
    assert "AccessTeamDomain" in document["message"]
    assert "Traceback" not in json.dumps(document)


def test_keys_publish_the_signing_key_with_kid(stack: StackResources, handler: Any) -> None:
    status, keys, headers = _call(handler, load_event("access", "keys"))

    assert status == 200
    [key] = keys["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"]
    assert "d" not in key
    assert "max-age" in headers["Cache-Control"]


def test_decisions_api_returns_reasons_and_step_up_url(stack: StackResources, handler: Any) -> None:
    person_id, email = _active_person()
    persons.set_access_status(person_id, persons.AccessStatus.SUSPENDED, actor="test", reason="risk_high")
    event = load_event("access", "decisions")
    event["body"] = json.dumps({"email": email, "application": "payroll"})

    status, document, _ = _call(handler, event)

    assert status == 200
    assert document == {"allow": False, "reasons": ["access_suspended"], "step_up_url": None}
    assert _decisions(stack, person_id)[-1]["actor"] == "decision_api"


def test_decisions_api_allows_active_person(stack: StackResources, handler: Any) -> None:
    _, email = _active_person()
    event = load_event("access", "decisions")
    event["body"] = json.dumps({"email": email, "application": "payroll"})

    status, document, _ = _call(handler, event)

    assert (status, document) == (200, {"allow": True, "reasons": [], "step_up_url": None})


def test_decisions_api_names_bad_field(stack: StackResources, handler: Any) -> None:
    status, document, _ = _call(handler, load_event("access", "decisions") | {"body": '{"email": "x"}'})

    assert status == 422
    assert document["field"] in {"email", "application"}


def test_evaluate_publishes_country_mismatch_after_deciding(
    stack: StackResources, handler: Any, gateway: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id, email = _active_person()
    published: list[Any] = []
    monkeypatch.setattr(login_signals, "publish_risk_event", published.append)
    identity = {"email": email, "ip": "203.0.113.9", "geo": {"country": "KP"}}

    status, answer = _evaluate(handler, json.dumps({"token": gateway.mint(email, identity=identity)}))

    assert status == 200
    assert _accept(handler, answer, "nonce-4f1c")["success"] is True  # this decision is kept
    assert [(e.person_id, e.kind.value, e.level.value) for e in published] == [
        (person_id, "country_mismatch", "MEDIUM")
    ]
    assert login_signals.last_login(person_id) is not None


def test_evaluate_without_ip_records_no_login(
    stack: StackResources, handler: Any, gateway: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id, email = _active_person()
    published: list[Any] = []
    monkeypatch.setattr(login_signals, "publish_risk_event", published.append)

    status, _ = _evaluate(handler, json.dumps({"token": gateway.mint(email)}))

    assert status == 200
    assert published == []
    assert login_signals.last_login(person_id) is None
