"""The HR directory that thin webhooks are completed from.

BambooHR's employee events carry only ids, so the webhook reads the employee record
from BambooHR's API: ``GET {HR_DIRECTORY_URL}/v1/employees/{id}?fields=...`` with HTTP
Basic authentication (the API key as user name, ``x`` as password). HR_DIRECTORY_URL is
the company's API base, ``https://api.bamboohr.com/api/gateway.php/<company domain>``;
the secret named by HR_DIRECTORY_SECRET_ARN contains ``{"api_key": "..."}``. Locally the
same adapter talks to `hireproof.local.fakes.bamboohr.FakeBambooHr`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from hireproof.config import require_env
from hireproof.errors import ConfigurationError, HrDirectoryError, TransientError

logger = Logger(child=True)

# `HrDirectoryError.field` is this when the employee does not exist, so that the webhook
# can respond 422 (a bad reference) rather than 502 (a broken directory).
EMPLOYEE_ID_FIELD = "employeeId"

EMPLOYEE_FIELDS = (
    "firstName",
    "middleName",
    "lastName",
    "preferredName",
    "homeEmail",
    "workEmail",
    "dateOfBirth",
    "hireDate",
    "address1",
    "address2",
    "city",
    "state",
    "zipcode",
    "country",
    "department",
    "supervisorEmail",
)

DEFAULT_TIMEOUT_SECONDS = 10.0
SECRET_CACHE_SECONDS = 300


class HrDirectory(Protocol):
    """A reader of employee records in the HR system of record."""

    def get_employee(self, company_id: str, employee_id: str) -> dict[str, Any]:
        """Return the employee's fields (BambooHR field names), or raise HrDirectoryError."""
        ...


class BambooHrDirectory:
    """The BambooHR REST API as an HrDirectory."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ConfigurationError("HR_DIRECTORY_URL must be an http(s) URL")
        if not api_key:
            raise ConfigurationError("the HR directory secret has no api_key")
        self._base_url = base_url.rstrip("/")
        self._auth = (api_key, "x")
        self._session = session or requests.Session()
        self._timeout = timeout

    def get_employee(self, company_id: str, employee_id: str) -> dict[str, Any]:
        """Return one employee's fields.

        `company_id` is only logged: the base URL already names the company.

        Raises
        ------
        HrDirectoryError
            The employee does not exist (`field` is EMPLOYEE_ID_FIELD), or the
            directory rejected the request (invalid key, missing permission).
        TransientError
            A timeout, a connection failure, a 429 or a 5xx: a retry may succeed.
        """
        url = f"{self._base_url}/v1/employees/{quote(employee_id, safe='')}"
        try:
            response = self._session.get(
                url,
                params={"fields": ",".join(EMPLOYEE_FIELDS)},
                headers={"Accept": "application/json"},
                auth=self._auth,
                timeout=self._timeout,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(
                "the HR directory request failed or timed out; retry later"
            ) from exc

        status = response.status_code
        logger.info(
            "HR directory responded",
            extra={"company_id": company_id, "employee_id": employee_id, "status": status},
        )
        if status == 404:
            raise HrDirectoryError(
                f"employee {employee_id} is not in the HR directory", field=EMPLOYEE_ID_FIELD
            )
        if status == 429 or status >= 500:
            raise TransientError(f"the HR directory returned status {status}; retry later")
        if status != 200:
            raise HrDirectoryError(
                f"the HR directory rejected the request with status {status}; "
                "check the API key and its permissions"
            )
        try:
            record = response.json()
        except ValueError as exc:
            raise HrDirectoryError("the HR directory response is not JSON") from exc
        if not isinstance(record, dict):
            raise HrDirectoryError("the HR directory response is not a JSON object")
        return record


@cache
def _session() -> requests.Session:
    return requests.Session()


def directory_from_env() -> HrDirectory:
    """Return the BambooHR directory configured by HR_DIRECTORY_URL and HR_DIRECTORY_SECRET_ARN."""
    secret: Any = parameters.get_secret(
        require_env("HR_DIRECTORY_SECRET_ARN"), transform="json", max_age=SECRET_CACHE_SECONDS
    )
    api_key = secret.get("api_key") if isinstance(secret, dict) else None
    if not isinstance(api_key, str) or not api_key:
        raise ConfigurationError(
            'the HR directory secret must be {"api_key": "<BambooHR API key>"}'
        )
    return BambooHrDirectory(require_env("HR_DIRECTORY_URL"), api_key, session=_session())
