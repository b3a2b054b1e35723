"""hireproof.hr.directory.BambooHrDirectory against the fake BambooHR, with no socket."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest

from hireproof.errors import ConfigurationError, HrDirectoryError, TransientError
from hireproof.hr import directory as directory_module
from hireproof.hr.directory import (
    EMPLOYEE_FIELDS,
    EMPLOYEE_ID_FIELD,
    BambooHrDirectory,
    directory_from_env,
)
from hireproof.local.fakes.bamboohr import DEFAULT_COMPANY, FakeBambooHr, load_seed

BASE = f"http://bamboohr.test/api/gateway.php/{DEFAULT_COMPANY}"
KEY = "directory-test-key"


def directory_for(fake: FakeBambooHr, api_key: str = KEY) -> BambooHrDirectory:
    session = requests.Session()
    session.mount("http://bamboohr.test", fake.adapter())
    return BambooHrDirectory(BASE, api_key, session=session)


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:x".encode()).decode()


def test_load_seed_demo_employee() -> None:
    records = {record["id"]: record for record in load_seed()}
    eileen = records["4021"]
    assert (eileen["firstName"], eileen["lastName"], eileen["dateOfBirth"]) == (
        "Eileen",
        "Collins",
        "1990-11-19",
    )
    assert set(EMPLOYEE_FIELDS) <= set(eileen)


def test_get_employee_requested_fields() -> None:
    fake = FakeBambooHr(api_key=KEY)

    record = directory_for(fake).get_employee("12345", "4021")

    assert record["id"] == "4021"
    assert record["homeEmail"] == "eileen.c@example.net"
    assert set(record) == {"id", *EMPLOYEE_FIELDS}
    assert fake.requests_served == 1


def test_get_employee_unknown_employee() -> None:
    with pytest.raises(HrDirectoryError) as caught:
        directory_for(FakeBambooHr(api_key=KEY)).get_employee("12345", "9999")
    assert caught.value.field == EMPLOYEE_ID_FIELD


def test_get_employee_wrong_api_key() -> None:
    with pytest.raises(HrDirectoryError) as caught:
        directory_for(FakeBambooHr(api_key=KEY), api_key="other-key").get_employee("12345", "4021")
    assert caught.value.field is None
    assert "401" in caught.value.message


def test_fake_lenient_mode_keys() -> None:
    fake = FakeBambooHr()
    url = f"/api/gateway.php/{DEFAULT_COMPANY}/v1/employees/4021?fields=firstName"
    assert fake.handle("GET", url, basic("anything"))[0] == 200
    assert fake.handle("GET", url, basic(""))[0] == 401
    assert fake.handle("GET", url, None)[0] == 401
    assert fake.handle("GET", url, "Bearer token")[0] == 401


def test_fake_unknown_company_or_path() -> None:
    fake = FakeBambooHr(api_key=KEY)
    assert fake.handle("GET", "/api/gateway.php/other/v1/employees/4021", basic(KEY))[0] == 404
    assert fake.handle("GET", "/v1/employees/4021", basic(KEY))[0] == 404
    assert (
        fake.handle("POST", f"/api/gateway.php/{DEFAULT_COMPANY}/v1/employees/4021", basic(KEY))[0]
        == 404
    )


def test_fake_absent_fields_null() -> None:
    fake = FakeBambooHr(api_key=KEY, employees=[{"id": "1", "firstName": "Only"}])
    status, body = fake.handle(
        "GET",
        f"/api/gateway.php/{DEFAULT_COMPANY}/v1/employees/1?fields=firstName,homeEmail",
        basic(KEY),
    )
    assert (status, body) == (200, {"id": "1", "firstName": "Only", "homeEmail": None})


class Answering(BaseAdapter):
    def __init__(
        self, status: int = 200, body: bytes = b"{}", error: Exception | None = None
    ) -> None:
        super().__init__()
        self.status, self.body, self.error = status, body, error

    def send(self, request: PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.request = request
        return response

    def close(self) -> None:
        return None


def directory_answering(adapter: BaseAdapter) -> BambooHrDirectory:
    session = requests.Session()
    session.mount("http://bamboohr.test", adapter)
    return BambooHrDirectory(BASE, KEY, session=session)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_get_employee_server_errors_transient(status: int) -> None:
    with pytest.raises(TransientError):
        directory_answering(Answering(status=status)).get_employee("1", "2")


@pytest.mark.parametrize("error", [requests.Timeout("slow"), requests.ConnectionError("refused")])
def test_get_employee_timeouts_transient(error: Exception) -> None:
    with pytest.raises(TransientError):
        directory_answering(Answering(error=error)).get_employee("1", "2")


@pytest.mark.parametrize("body", [b"<html>", b"[1]"])
def test_get_employee_non_object_response(body: bytes) -> None:
    with pytest.raises(HrDirectoryError):
        directory_answering(Answering(body=body)).get_employee("1", "2")


def test_get_employee_escapes_id() -> None:
    seen: list[str] = []

    class Recording(Answering):
        def send(self, request: PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            seen.append(request.url or "")
            return super().send(request, **kwargs)

    directory_answering(Recording(body=b'{"id": "x"}')).get_employee("1", "../admin")
    assert seen[0].startswith(f"{BASE}/v1/employees/..%2Fadmin?fields=firstName%2C")


@pytest.mark.parametrize(("url", "key"), [("ftp://x", KEY), (BASE, "")])
def test_directory_rejects_bad_configuration(url: str, key: str) -> None:
    with pytest.raises(ConfigurationError):
        BambooHrDirectory(url, key)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()


def test_directory_from_env_uses_secret_key(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = aws.create_secret(Name="hr-directory", SecretString=json.dumps({"api_key": KEY}))["ARN"]
    monkeypatch.setenv("HR_DIRECTORY_SECRET_ARN", arn)
    monkeypatch.setenv("HR_DIRECTORY_URL", BASE)
    directory_module._session.cache_clear()
    directory_module._session().mount("http://bamboohr.test", FakeBambooHr(api_key=KEY).adapter())
    try:
        record = directory_from_env().get_employee("12345", "4021")
    finally:
        directory_module._session.cache_clear()
    assert record["workEmail"] == "eileen.collins@example.com"


def test_directory_from_env_requires_api_key(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = aws.create_secret(Name="hr-directory", SecretString=json.dumps({"key": KEY}))["ARN"]
    monkeypatch.setenv("HR_DIRECTORY_SECRET_ARN", arn)
    monkeypatch.setenv("HR_DIRECTORY_URL", BASE)
    with pytest.raises(ConfigurationError):
        directory_from_env()
