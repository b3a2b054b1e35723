"""The HTTPS server under every local fake: 127.0.0.1, a random free port, recorded calls.

Each fake serves TLS with a certificate for 127.0.0.1 that a throwaway CA signs, so clients
verify it as they verify a real provider: pass `ca_bundle_path` as requests' `verify` (the
adapters read it from IDENTITY_PROVIDER_CA_BUNDLE). Nothing leaves the machine.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import json
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CERTIFICATE_LIFETIME = dt.timedelta(days=2)


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON; raise ValueError when it is not JSON."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """Return the body parsed as application/x-www-form-urlencoded, one value a key."""
        parsed = parse_qs(self.body.decode(), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}


@dataclass(frozen=True)
class FakeResponse:
    """A response for the fake to send; `body` is serialized as JSON unless it is bytes."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str | None
    path_prefix: str | None
    response: FakeResponse | None
    delay_seconds: float
    remaining: int

    def matches(self, request: FakeRequest) -> bool:
        return (self.method is None or self.method == request.method) and (
            self.path_prefix is None or request.path.startswith(self.path_prefix)
        )


class FakeHttpsService:
    """Base class of the fakes: subclasses implement `handle` and `parameter_overrides`."""

    def __init__(self) -> None:
        self.calls: list[FakeRequest] = []
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> dict[str, str]:
        """Start serving on 127.0.0.1 and return the template parameter overrides."""
        if self._server is not None:
            return self.parameter_overrides()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*_certificate_files())
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        # A short poll interval makes stop() return within a few milliseconds.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self.parameter_overrides()

    def stop(self) -> None:
        """Stop serving and close the socket; the recorded calls stay readable."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeHttpsService:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return https://127.0.0.1:PORT of the running fake."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def ca_bundle_path(self) -> str:
        """Return the PEM file of the CA that signed the fake's certificate."""
        return _certificate_files()[2]

    def inject_fault(
        self,
        *,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 0.0,
        times: int = 1,
    ) -> None:
        """Respond to the next `times` matching requests with `status` and `body`.

        With `status` None the request is only delayed by `delay_seconds` and then handled
        as usual, which lets a test provoke a client timeout.
        """
        response = None if status is None else FakeResponse(status, body, headers or {})
        with self._lock:
            self._faults.append(_Fault(method, path_prefix, response, delay_seconds, times))

    def calls_to(self, method: str, path_prefix: str) -> list[FakeRequest]:
        """Return the recorded requests with this method whose path starts with the prefix."""
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == method and call.path.startswith(path_prefix)
            ]

    # ------------------------------------------------------------------ for subclasses
    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that point the stack at this fake."""
        raise NotImplementedError

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Return the response to one request; runs under the fake's lock."""
        raise NotImplementedError

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            self.calls.append(request)
            fault = next((f for f in self._faults if f.matches(request)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
        if fault is not None and fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault is not None and fault.response is not None:
            return fault.response
        with self._lock:
            return self.handle(request)


def _handler_class(service: FakeHttpsService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = FakeRequest(
                method=self.command,
                path=url.path,
                query={key: values[-1] for key, values in parse_qs(url.query).items()},
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = service._dispatch(request)
            if isinstance(response.body, bytes):
                payload = response.body
                content_type = "application/octet-stream"
            elif response.body is None:
                payload = b""
                content_type = ""
            else:
                payload = json.dumps(response.body).encode()
                content_type = "application/json"
            self.send_response(response.status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # The fakes record calls in `calls`; stderr lines per request would be noise.
            return

    return Handler


@cache
def _certificate_files() -> tuple[str, str, str]:
    """Create a CA and a 127.0.0.1 server certificate; return (cert, key, CA) file paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HireProof local fakes CA")])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CERTIFICATE_LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    directory = Path(tempfile.mkdtemp(prefix="hireproof-fakes-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    cert_path = directory / "server.pem"
    key_path = directory / "server-key.pem"
    ca_path = directory / "ca.pem"
    cert_path.write_bytes(server_certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    ca_path.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path), str(ca_path)
