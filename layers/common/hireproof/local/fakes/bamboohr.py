"""A local stand-in for BambooHR's employee API, seeded from events/hr_directory/*.json.

It serves ``GET /api/gateway.php/<company>/v1/employees/<id>?fields=a,b`` on 127.0.0.1
with BambooHR's shape: a JSON object with ``id`` and the requested fields (null when the
record lacks one), 404 for an unknown employee, 401 without valid Basic credentials.

API key: ``FakeBambooHr(api_key="k")`` accepts exactly that key (the user name of Basic
auth; the password is ignored, as BambooHR does). ``FakeBambooHr()`` without a key accepts
any non-empty key. The strict mode proves that the function reads the key from
HR_DIRECTORY_SECRET_ARN; use it when the local runtime can put a known key into that
secret. The lenient mode is for a runtime that lets Secrets Manager generate the value.

Usage::

    fake = FakeBambooHr(api_key=key)
    overrides = fake.start()      # {"HrDirectoryUrl": "http://127.0.0.1:PORT/api/gateway.php/hireproof-demo"}
    ...
    fake.stop()

Each seed file contains one employee record in BambooHR field names, plus ``"id"``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict

from hireproof.local.fakes._loopback import LoopbackServer

DEFAULT_COMPANY = "hireproof-demo"
SEED_DIR = Path(__file__).resolve().parents[5] / "events" / "hr_directory"

_EMPLOYEE_PATH = re.compile(r"^/api/gateway\.php/(?P<company>[^/]+)/v1/employees/(?P<id>[^/]+)$")


def load_seed(directory: Path = SEED_DIR) -> list[dict[str, Any]]:
    """Return the employee records of every *.json file in `directory`, sorted by file name."""
    records: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not record.get("id"):
            raise ValueError(f"{path.name}: an employee record needs an 'id'")
        records.append(record)
    return records


class FakeBambooHr:
    """BambooHR's employee endpoint on a free 127.0.0.1 port."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        company: str = DEFAULT_COMPANY,
        employees: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        records = load_seed() if employees is None else [dict(record) for record in employees]
        self.employees: dict[str, dict[str, Any]] = {
            str(record["id"]): dict(record) for record in records
        }
        self.api_key = api_key
        self.company = company
        self.requests_served = 0
        self._http = LoopbackServer("fake-bamboohr")

    # ------------------------------------------------------------ HTTP semantics
    def handle(
        self, method: str, url: str, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Return the status and JSON body for one request, for the server and the adapter."""
        self.requests_served += 1
        parts = urlsplit(url)
        match = _EMPLOYEE_PATH.match(parts.path)
        if method != "GET" or match is None:
            return 404, {"error": "not found"}
        if not self._authorized(authorization):
            return 401, {"error": "unauthorized"}
        if match["company"] != self.company:
            return 404, {"error": "unknown company"}
        record = self.employees.get(match["id"])
        if record is None:
            return 404, {"error": "employee not found"}
        requested = ",".join(parse_qs(parts.query).get("fields", []))
        fields = [name for name in requested.split(",") if name]
        body: dict[str, Any] = {"id": str(record["id"])}
        body.update({name: record.get(name) for name in fields})
        return 200, body

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, _ = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if self.api_key is None:
            return bool(user)
        return user == self.api_key

    # ------------------------------------------------------------ socket server
    @property
    def base_url(self) -> str:
        """The HR_DIRECTORY_URL for this fake; only valid after start()."""
        address = self._http.address
        if address is None:
            raise RuntimeError("FakeBambooHr is not started")
        host, port = address
        return f"http://{host!s}:{port}/api/gateway.php/{self.company}"

    def start(self) -> dict[str, str]:
        """Serve on a free 127.0.0.1 port; return the template parameter overrides."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = fake.handle("GET", self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                # The default handler prints every request line to stderr.
                return

        self._http.start(Handler)
        return {"HrDirectoryUrl": self.base_url}

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._http.stop()

    # ------------------------------------------------------------ in-process
    def adapter(self) -> FakeBambooHrAdapter:
        """Return a requests adapter that serves this fake in-process, without a socket."""
        return FakeBambooHrAdapter(self)


class FakeBambooHrAdapter(BaseAdapter):
    """Mount on a requests.Session to reach a FakeBambooHr with no network (unit tests)."""

    def __init__(self, fake: FakeBambooHr) -> None:
        super().__init__()
        self._fake = fake

    def send(self, request: PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        authorization = request.headers.get("Authorization")
        if isinstance(authorization, bytes):
            authorization = authorization.decode("latin-1")
        status, body = self._fake.handle(request.method or "GET", request.url or "", authorization)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode("utf-8")
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None
