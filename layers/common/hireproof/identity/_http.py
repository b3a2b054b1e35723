"""An HTTP client for identity provider REST APIs behind OAuth 2.0 client credentials.

The access token comes from requests-oauthlib (BackendApplicationClient with
OAuth2Session.fetch_token) and is reused until shortly before it expires. Responses are
mapped to HireProof errors by status: 429 and 5xx become TransientError, other 4xx become
IdentityProviderError. Messages carry the provider's error code and a redacted summary,
never a token, a secret or an e-mail address.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from hireproof.errors import ConfigurationError, IdentityProviderError, TransientError

logger = Logger(child=True)

_EMAIL_PATTERN = re.compile(r"[^\s@'\"<>(),;:/?&=]+(?:@|%40)[^\s@'\"<>(),;:/?&=%]+")


class _RedactEmails(logging.Filter):
    """Replace e-mail addresses in a record's message, plain or percent-encoded."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _EMAIL_PATTERN.sub("<email>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


# requests-oauthlib logs token request bodies (client secrets, client assertions) and token
# responses at DEBUG. Raising its level keeps them out of any log, whatever the root level.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
# urllib3 logs each request line at DEBUG, and user lookups carry the e-mail in the URL.
logging.getLogger("urllib3.connectionpool").addFilter(_RedactEmails())

# Seconds before the token's expiry at which a new token is fetched, so that a request
# started just before expiry does not reach the provider with a stale token.
TOKEN_REFRESH_MARGIN_SECONDS = 60

# (connect, read) timeouts in seconds for every request; Step Functions retries a timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)


def redact(text: str, max_length: int = 300) -> str:
    """Replace e-mail addresses in a provider message and cut it to `max_length` characters."""
    return _EMAIL_PATTERN.sub("<email>", text)[:max_length]


class ProviderApiClient:
    """A client of one provider's REST API that authenticates with client credentials.

    `token_request_parameters` returns the client authentication fields of one token request,
    for example a fresh private_key_jwt client assertion or the client secret. It is called
    for every token request, and its result is never logged. `describe_error` names the
    provider's error in a non-2xx response for the raised message.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        client_id: str,
        token_url: str,
        scopes: list[str],
        token_request_parameters: Callable[[], Mapping[str, str]],
        describe_error: Callable[[requests.Response], str],
        describe_token_error: Callable[[OAuth2Error], str],
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.token_url = token_url
        self._provider = provider
        self._base_url = base_url.rstrip("/")
        self._token_request_parameters = token_request_parameters
        self._describe_error = describe_error
        self._describe_token_error = describe_token_error
        self._timeout = timeout
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's
        # `verify` but not a per-request one.
        self._verify = verify
        self._session = OAuth2Session(
            client=BackendApplicationClient(client_id=client_id, scope=scopes)
        )
        self._session.register_compliance_hook("access_token_response", self._check_token_status)
        self._expires_at = 0.0

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request and return its JSON body; raise the HireProof error for a non-2xx."""
        response = self.send(method, path, operation=operation, params=params, json=json)
        return self.check(response, operation)

    def send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one request with a current access token and return the response unchecked.

        Raises TransientError when the request times out or cannot connect. A 401 response
        is retried once with a new token, because the provider may have revoked the old one.
        """
        self._ensure_token(operation)
        response = self._send_once(method, path, operation=operation, params=params, json=json)
        if response.status_code == 401:
            self._expires_at = 0.0
            self._ensure_token(operation)
            response = self._send_once(method, path, operation=operation, params=params, json=json)
        return response

    def check(self, response: requests.Response, operation: str) -> Any:
        """Return the JSON body of a 2xx response; raise the HireProof error for any other."""
        raise_for_status(
            response, provider=self._provider, operation=operation, describe=self._describe_error
        )
        return json_body(response)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None,
        json: Any,
    ) -> requests.Response:
        with _transport_errors(self._provider, operation):
            response: requests.Response = self._session.request(
                method,
                f"{self._base_url}{path}",
                params=params,
                json=json,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                verify=self._verify,
            )
        return response

    def _ensure_token(self, operation: str) -> None:
        if time.time() < self._expires_at - TOKEN_REFRESH_MARGIN_SECONDS:
            return
        try:
            with _transport_errors(self._provider, "token request"):
                token = self._session.fetch_token(
                    token_url=self.token_url,
                    include_client_id=True,
                    timeout=self._timeout,
                    verify=self._verify,
                    **self._token_request_parameters(),
                )
        except OAuth2Error as exc:
            raise IdentityProviderError(
                f"{self._provider} token request for {operation} was rejected: "
                f"{self._describe_token_error(exc)}"
            ) from exc
        self._expires_at = float(token.get("expires_at") or time.time() + 300)
        logger.debug("identity provider token fetched", extra={"provider": self._provider})

    def _check_token_status(self, response: requests.Response) -> requests.Response:
        # oauthlib only understands error bodies; a throttled or failing token endpoint
        # must surface as retryable before oauthlib reports a missing token.
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(
                f"{self._provider} token request failed with status {response.status_code}"
            )
        return response


@contextmanager
def _transport_errors(provider: str, operation: str) -> Iterator[None]:
    """Map requests' TLS, timeout and connection failures to HireProof errors."""
    try:
        yield
    except requests.exceptions.SSLError as exc:
        raise ConfigurationError(
            f"{provider} TLS certificate verification failed for {operation}"
        ) from exc
    except requests.Timeout as exc:
        raise TransientError(f"{provider} {operation} timed out") from exc
    except requests.ConnectionError as exc:
        raise TransientError(f"{provider} {operation} failed to connect") from exc


def raise_for_status(
    response: requests.Response,
    *,
    provider: str,
    operation: str,
    describe: Callable[[requests.Response], str],
) -> None:
    """Raise the HireProof error for a non-2xx response; `describe` names the provider error."""
    status = response.status_code
    if status < 400:
        return
    detail = describe(response)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        suffix = f"; retry after {retry_after} s" if retry_after else ""
        raise TransientError(
            f"{provider} {operation} failed with status {status} ({detail}){suffix}"
        )
    raise IdentityProviderError(
        f"{provider} {operation} was rejected with status {status} ({detail})"
    )


def json_body(response: requests.Response) -> Any:
    """Return the parsed JSON body, or None when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def path_segment(value: str) -> str:
    """Percent-encode an id or e-mail for use as one URL path segment."""
    return quote(value, safe="@")
