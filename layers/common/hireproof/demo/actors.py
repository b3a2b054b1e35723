"""The outside parties of the demo, each talking to the stack over HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

T = TypeVar("T")

_TOKEN_IN_LINK = re.compile(r"/verify#token=([A-Za-z0-9_\-]+)")
HTTP_TIMEOUT = 30


def wait_until(what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.1) -> T:
    """Poll `probe` until it returns a value; raise TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class HrSystem:
    """An HR system that signs webhooks with the generic HireProof scheme."""

    api_url: str
    secret: str

    def post_hire(self, body: dict[str, Any], *, event_id: str | None = None) -> requests.Response:
        raw = json.dumps(body).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-HireProof-Event-Id": event_id or uuid.uuid4().hex,
            "X-HireProof-Timestamp": timestamp,
            "X-HireProof-Signature": f"v1={signature}",
        }
        return requests.post(
            f"{self.api_url}/hr/webhooks/generic", data=raw, headers=headers, timeout=HTTP_TIMEOUT
        )


@dataclass
class Phone:
    """The hire's phone: opens the invitation link and verifies with the page's API."""

    api_url: str
    token: str
    uploaded: list[str] = field(default_factory=list)

    @classmethod
    def from_email(cls, api_url: str, email_text: str) -> Phone:
        match = _TOKEN_IN_LINK.search(email_text)
        if match is None:
            raise AssertionError("the invitation e-mail carries no verification link")
        return cls(api_url=api_url, token=match.group(1))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.api_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=HTTP_TIMEOUT,
        )

    def open_session(self) -> dict[str, Any]:
        response = self._call("POST", "/verify/session", {})
        response.raise_for_status()
        return dict(response.json())

    def upload(self, kind: str, image: bytes, content_type: str = "image/jpeg") -> None:
        grant = self._call("POST", "/verify/uploads", {"kind": kind, "content_type": content_type})
        grant.raise_for_status()
        presigned = grant.json()
        files = {"file": (f"{kind}.jpg", image, content_type)}
        response = requests.post(
            presigned["url"], data=presigned["fields"], files=files, timeout=HTTP_TIMEOUT
        )
        response.raise_for_status()
        self.uploaded.append(kind)

    def submit(self) -> requests.Response:
        return self._call("POST", "/verify/submit", {})

    def reveal_credential(self) -> requests.Response:
        return self._call("GET", "/verify/credential")


@dataclass
class Reviewer:
    """A security reviewer calling the IAM-authorized review routes with SigV4."""

    api_url: str
    region: str = "us-east-1"

    def _signed(self, method: str, path: str, body: dict[str, Any] | None) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else b""
        request = AWSRequest(
            method=method,
            url=f"{self.api_url}{path}",
            data=data,
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        # The default credential chain, as for any AWS caller; the local stack sets its own.
        credentials = boto3.session.Session().get_credentials()
        if credentials is None:
            raise AssertionError("no AWS credentials to sign the review request with")
        SigV4Auth(credentials, "execute-api", self.region).add_auth(request)
        return requests.request(
            method, request.url, data=data, headers=dict(request.headers.items()), timeout=HTTP_TIMEOUT
        )

    def pending(self) -> list[dict[str, Any]]:
        response = self._signed("GET", "/reviews", None)
        response.raise_for_status()
        return list(response.json()["reviews"])

    def decide(self, onboarding_id: str, *, approve: bool, reason: str) -> requests.Response:
        body = {"decision": "approve" if approve else "reject", "reason": reason}
        return self._signed("POST", f"/reviews/{onboarding_id}", body)
