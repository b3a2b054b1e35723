"""hireproof.fulfillment.adapter and .signing: signed orders, error mapping, signature checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import boto3
import pytest
import requests
import responses
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from hireproof import aws
from hireproof.errors import (
    ConfigurationError,
    FulfillmentError,
    SignatureInvalidError,
    SignatureMissingError,
    TimestampOutOfWindowError,
    TransientError,
)
from hireproof.fulfillment.adapter import (
    ShipmentOrder,
    WebhookFulfillment,
    fulfillment_provider_from_env,
    fulfillment_secret,
)
from hireproof.fulfillment.signing import signed_headers, verify_signed_request
from hireproof.models import Address

BASE_URL = "https://fulfillment.example.com/api"
SECRET = b"fulfillment-unit-test-secret"
ADDRESS = Address(
    line1="1 Demo Way", city="Springfield", region="IL", postal_code="62701", country="US"
)
ORDER = ShipmentOrder(
    onboarding_id="generic-E-1001",
    device_profile="standard-laptop",
    recipient_name="Eileen Collins",
    ship_to=ADDRESS,
    idempotency_key="generic-E-1001.laptop",
)


def _expected_signature(timestamp: str, body: bytes, secret: bytes = SECRET) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


@pytest.fixture
def client() -> WebhookFulfillment:
    return WebhookFulfillment(BASE_URL, lambda: SECRET)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


# ----------------------------------------------------------------- request_shipment
def test_request_shipment_signs_the_exact_body(
    client: WebhookFulfillment, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{BASE_URL}/orders", json={"shipment_id": "shp_123"}, status=201)

    assert client.request_shipment(ORDER) == "shp_123"

    sent = mocked.calls[0].request
    body = sent.body if isinstance(sent.body, bytes) else str(sent.body).encode()
    timestamp = sent.headers["X-HireProof-Timestamp"]
    assert sent.headers["X-HireProof-Signature"] == _expected_signature(timestamp, body)
    assert abs(int(timestamp) - time.time()) < 5
    assert sent.headers["Idempotency-Key"] == "generic-E-1001.laptop"
    assert sent.headers["Content-Type"] == "application/json"


def test_request_shipment_body_is_the_order_without_key(
    client: WebhookFulfillment, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{BASE_URL}/orders", json={"shipment_id": "shp_123"}, status=200)

    client.request_shipment(ORDER)

    document = json.loads(mocked.calls[0].request.body or b"{}")
    assert document == {
        "onboarding_id": "generic-E-1001",
        "device_profile": "standard-laptop",
        "recipient_name": "Eileen Collins",
        "ship_to": {
            "line1": "1 Demo Way",
            "city": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
        },
    }


@pytest.mark.parametrize(
    "reply",
    [{}, {"shipment_id": ""}, {"shipment_id": "../admin"}, {"shipment_id": 42}, ["shp_1"]],
    ids=["missing", "empty", "path-traversal", "number", "not-an-object"],
)
def test_request_shipment_rejects_invalid_shipment_id(
    client: WebhookFulfillment, mocked: responses.RequestsMock, reply: object
) -> None:
    mocked.post(f"{BASE_URL}/orders", json=reply, status=201)

    with pytest.raises(FulfillmentError, match="no valid shipment_id"):
        client.request_shipment(ORDER)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, TransientError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (409, TransientError),
        (400, FulfillmentError),
        (401, FulfillmentError),
        (404, FulfillmentError),
        (422, FulfillmentError),
    ],
)
def test_request_shipment_maps_http_status(
    client: WebhookFulfillment,
    mocked: responses.RequestsMock,
    status: int,
    expected: type[Exception],
) -> None:
    mocked.post(f"{BASE_URL}/orders", json={"error": "some_code"}, status=status)

    with pytest.raises(expected) as raised:
        client.request_shipment(ORDER)

    assert f"HTTP {status}" in str(raised.value)
    assert "(some_code)" in str(raised.value)


def test_request_shipment_hides_free_text_error_body(
    client: WebhookFulfillment, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{BASE_URL}/orders", json={"error": "Bad address: 1 Demo Way"}, status=422)

    with pytest.raises(FulfillmentError) as raised:
        client.request_shipment(ORDER)

    assert "Demo Way" not in str(raised.value)


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()],
    ids=["connect-timeout", "read-timeout", "connection-error"],
)
def test_request_shipment_network_failure_is_transient(
    client: WebhookFulfillment, mocked: responses.RequestsMock, failure: Exception
) -> None:
    mocked.post(f"{BASE_URL}/orders", body=failure)

    with pytest.raises(TransientError):
        client.request_shipment(ORDER)


# ----------------------------------------------------------------- cancel_shipment
def test_cancel_shipment_posts_signed_cancel(
    client: WebhookFulfillment, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{BASE_URL}/orders/shp_123/cancel", json={"status": "CANCELLED"}, status=200)

    client.cancel_shipment("shp_123")

    sent = mocked.calls[0].request
    body = sent.body if isinstance(sent.body, bytes) else str(sent.body).encode()
    assert body == b"{}"
    assert sent.headers["X-HireProof-Signature"] == _expected_signature(
        sent.headers["X-HireProof-Timestamp"], body
    )
    assert sent.headers["Idempotency-Key"] == "cancel-shp_123"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (409, FulfillmentError),
        (404, FulfillmentError),
        (429, TransientError),
        (500, TransientError),
    ],
)
def test_cancel_shipment_maps_http_status(
    client: WebhookFulfillment,
    mocked: responses.RequestsMock,
    status: int,
    expected: type[Exception],
) -> None:
    mocked.post(
        f"{BASE_URL}/orders/shp_123/cancel", json={"error": "already_delivered"}, status=status
    )

    with pytest.raises(expected):
        client.cancel_shipment("shp_123")


def test_cancel_shipment_rejects_unsafe_id(client: WebhookFulfillment) -> None:
    with pytest.raises(FulfillmentError, match="invalid shipment id"):
        client.cancel_shipment("../orders/other")


# ----------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    "url",
    [
        "https://fulfillment.example.com",
        "http://127.0.0.1:8080",
        "http://localhost:9000/base/",
        "http://[::1]:8080",
    ],
)
def test_base_url_accepts_https_and_loopback(url: str) -> None:
    WebhookFulfillment(url, lambda: SECRET)


@pytest.mark.parametrize(
    "url",
    ["http://fulfillment.example.com", "ftp://127.0.0.1", "https://", "fulfillment.example.com"],
)
def test_base_url_rejects_plain_http_elsewhere(url: str) -> None:
    with pytest.raises(ConfigurationError, match="FULFILLMENT_URL"):
        WebhookFulfillment(url, lambda: SECRET)


def test_provider_from_env_requires_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FULFILLMENT_URL", raising=False)

    with pytest.raises(ConfigurationError, match="FULFILLMENT_URL"):
        fulfillment_provider_from_env()


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    parameters.clear_caches()
    aws.reset_clients()
    with mock_aws():
        yield
    parameters.clear_caches()
    aws.reset_clients()


def test_fulfillment_secret_reads_plain_string(
    secrets_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="fulfillment", SecretString="s3cret")[
        "ARN"
    ]
    monkeypatch.setenv("FULFILLMENT_SECRET_ARN", arn)

    assert fulfillment_secret() == b"s3cret"


def test_fulfillment_secret_is_cached(secrets_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="fulfillment", SecretString="first")["ARN"]
    monkeypatch.setenv("FULFILLMENT_SECRET_ARN", arn)
    assert fulfillment_secret() == b"first"

    secrets.put_secret_value(SecretId=arn, SecretString="second")

    assert fulfillment_secret() == b"first"


def test_fulfillment_secret_rejects_blank(
    secrets_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="fulfillment", SecretString="  ")["ARN"]
    monkeypatch.setenv("FULFILLMENT_SECRET_ARN", arn)

    with pytest.raises(ConfigurationError, match="FULFILLMENT_SECRET_ARN"):
        fulfillment_secret()


# ----------------------------------------------------------------- signing
NOW = 1_796_115_600
BODY = b'{"shipment_id":"shp_1","status":"delivered"}'


def _headers(timestamp: int = NOW, body: bytes = BODY, secret: bytes = SECRET) -> dict[str, str]:
    return {
        "X-HireProof-Timestamp": str(timestamp),
        "X-HireProof-Signature": _expected_signature(str(timestamp), body, secret),
    }


def test_signed_headers_match_independent_hmac() -> None:
    assert signed_headers(SECRET, BODY, timestamp=NOW) == _headers()


def test_verify_accepts_lower_case_header_names() -> None:
    lowered = {name.lower(): value for name, value in _headers().items()}

    verify_signed_request(SECRET, lowered, BODY, now=NOW)


def test_verify_accepts_any_of_several_signatures() -> None:
    headers = _headers()
    old_key = _expected_signature(str(NOW), BODY, b"old-secret")
    headers["X-HireProof-Signature"] = f"{old_key}, {headers['X-HireProof-Signature']}"

    verify_signed_request(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_verify_rejects_timestamp_outside_window(offset: int) -> None:
    with pytest.raises(TimestampOutOfWindowError):
        verify_signed_request(SECRET, _headers(NOW + offset), BODY, now=NOW)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_verify_accepts_timestamp_at_window_edges(offset: int) -> None:
    verify_signed_request(SECRET, _headers(NOW + offset), BODY, now=NOW)


def test_verify_rejects_replayed_signature_with_new_timestamp() -> None:
    headers = _headers(NOW - 3600)
    headers["X-HireProof-Timestamp"] = str(NOW)

    with pytest.raises(SignatureInvalidError):
        verify_signed_request(SECRET, headers, BODY, now=NOW)


def test_verify_rejects_tampered_body() -> None:
    with pytest.raises(SignatureInvalidError):
        verify_signed_request(SECRET, _headers(), BODY.replace(b"delivered", b"returned"), now=NOW)


def test_verify_rejects_other_secret() -> None:
    with pytest.raises(SignatureInvalidError):
        verify_signed_request(SECRET, _headers(secret=b"another-secret"), BODY, now=NOW)


@pytest.mark.parametrize("signature", ["sha256=abcd", "abcdef", "v2=00"])
def test_verify_rejects_signature_without_v1(signature: str) -> None:
    headers = {**_headers(), "X-HireProof-Signature": signature}

    with pytest.raises(SignatureInvalidError, match="v1="):
        verify_signed_request(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("missing", ["X-HireProof-Timestamp", "X-HireProof-Signature"])
def test_verify_rejects_missing_header(missing: str) -> None:
    headers = _headers()
    del headers[missing]

    with pytest.raises(SignatureMissingError, match=missing):
        verify_signed_request(SECRET, headers, BODY, now=NOW)


def test_verify_rejects_empty_secret() -> None:
    with pytest.raises(SignatureInvalidError, match="no fulfillment signing secret"):
        verify_signed_request(b"", _headers(secret=b""), BODY, now=NOW)
