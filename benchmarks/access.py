"""Warm access decision latency, next to the floor measured in the same run.

The decision path is `evaluate_external` in-process, warm: parse, validate the gateway's RS256
token (keys cached), find the person and decide, audit, sign the response. The store is moto's
in-process DynamoDB with template.yaml's tables, so "store" below is moto's cost, not DynamoDB's.

- floor: one RS256 verify plus one RS256 sign with PyJWT and the same key sizes;
- store: one person lookup plus one audit write on the same tables;
- target: decision p50 <= 1.5 x floor + store p50.
The KMS signing path is timed separately through moto's KMS, which signs in-process; in AWS a
KMS Sign call adds a network round trip (typically 10 to 30 ms) instead.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

TEAM = "bench.cloudflareaccess.com"
ISSUER = f"https://{TEAM}"
AUDIENCE = "bench-audience"
TARGET_RATIO = 1.5


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


def _time(action: Callable[[], object], requests: int) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def time_access(requests: int = 2000) -> dict[str, Any]:
    """Return the access decision figures for build/bench.json."""
    from hireproof.access import persons
    from hireproof.access.evaluation import evaluate_external
    from hireproof.access.policy import AccessPolicySettings
    from hireproof.access.signing import KmsDecisionSigner, SecretDecisionSigner
    from hireproof.access.tokens import GatewaySettings
    from hireproof.audit import record
    from hireproof.jwks import JwksCache
    from hireproof.models import Address, Hire, HireSource, PersonName
    from hireproof.onboarding import store
    from template_resources import mocked_stack

    gateway_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(gateway_key.public_key()))
    jwks_document = json.dumps({"keys": [{**public, "kid": "g1", "alg": "RS256"}]}).encode()
    decision_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    decision_pem = decision_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    with mocked_stack() as stack:
        hire = Hire(
            source=HireSource.GENERIC,
            source_employee_id="BENCH-1",
            source_event_id="bench-1",
            legal_name=PersonName(given="Bench", family="Person"),
            personal_email="bench.person@example.net",
            work_email="bench.person@example.com",
            date_of_birth=dt.date(1990, 1, 1),
            start_date=dt.date(2027, 1, 4),
            home_address=Address(line1="1 Bench Way", city="Springfield", postal_code="62701", country="US"),
            department="Engineering",
        )
        store.create_onboarding("generic-BENCH-1", hire)
        store.update_onboarding("generic-BENCH-1", state="ACTIVE")
        persons.activate("generic-BENCH-1", verified_at=persons.now_iso(), residence_country="US")

        secrets = stack.client("secretsmanager")
        secret = json.dumps({"current": decision_pem})
        secret_arn = secrets.create_secret(Name="bench-signing", SecretString=secret)["ARN"]
        secret_signer = SecretDecisionSigner(secret_arn)
        kms_signer = KmsDecisionSigner([stack.name("AccessSigningKey")])
        certs_url = f"{ISSUER}/cdn-cgi/access/certs"
        gateway = GatewaySettings(certs_url=certs_url, issuer=ISSUER, audience=AUDIENCE)
        cache = JwksCache(gateway.certs_url, fetch=lambda url: jwks_document)
        settings = AccessPolicySettings(step_up_url="https://verify.example.test/verify/step-up")

        def body() -> bytes:
            now = int(time.time())
            claims = {
                "iss": ISSUER,
                "aud": [AUDIENCE],
                "iat": now,
                "exp": now + 60,
                "nonce": "bench-nonce",
                "identity": {"email": hire.work_email},
            }
            token = jwt.encode(claims, gateway_key, algorithm="RS256", headers={"kid": "g1"})
            return json.dumps({"token": token}).encode()

        bodies = [body() for _ in range(requests)]
        tokens = [json.loads(b)["token"] for b in bodies]

        def decide_with(signer: Any) -> Callable[[], object]:
            it = iter(bodies * 2)
            return lambda: evaluate_external(
                next(it), gateway=gateway, jwks=cache, signer=signer, settings=settings
            )

        # Warm every cache (keys, clients, hash key) before timing.
        for _ in range(50):
            decide_with(secret_signer)()
            decide_with(kms_signer)()

        decision = _time(decide_with(secret_signer), requests)
        kms_decision = _time(decide_with(kms_signer), max(200, requests // 10))

        verify_key = gateway_key.public_key()
        token_iter = iter(tokens * 2)

        def floor_once() -> None:
            jwt.decode(next(token_iter), verify_key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
            jwt.encode({"success": True, "nonce": "n"}, decision_key, algorithm="RS256", headers={"kid": "k"})

        floor = _time(floor_once, requests)

        def store_once() -> None:
            persons.find_by_email(str(hire.work_email))
            record(subject_id="generic-BENCH-1", action="bench", outcome="allow", actor="bench")

        store_samples = _time(store_once, requests)

    figures = {
        "requests": requests,
        "decision": _percentiles(decision),
        "floor_rs256_verify_plus_sign": _percentiles(floor),
        "store_lookup_plus_audit": _percentiles(store_samples),
        "kms_signing_path_via_moto": _percentiles(kms_decision),
    }
    floor_p50 = figures["floor_rs256_verify_plus_sign"]["p50_ms"]
    budget = TARGET_RATIO * floor_p50 + figures["store_lookup_plus_audit"]["p50_ms"]
    figures["target_p50_ms"] = round(budget, 3)
    figures["p50_ratio_to_target"] = round(figures["decision"]["p50_ms"] / budget, 3)
    figures["p50_ratio_to_floor"] = round(
        figures["decision"]["p50_ms"] / figures["floor_rs256_verify_plus_sign"]["p50_ms"], 3
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(time_access(), indent=2))
