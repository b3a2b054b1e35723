"""A local stand-in for API Gateway HTTP APIs: real sockets in, payload 2.0 events to real handlers.

LocalHttpApi serves every HttpApi event of the template on one ThreadingHTTPServer bound to
127.0.0.1. For each request it:

1. matches method and path against the routes. Literal segments beat `{param}`, which beats
   `{proxy+}`, and `$default` catches the rest. An unknown path gets 404, and a known path with
   another method gets 405;
2. rejects bodies over 10 MB with 413, as API Gateway does;
3. for an AWS_IAM route, checks the SigV4 signature against the local credentials (403 otherwise);
4. builds the API Gateway HTTP API payload 2.0 event, invokes the function and translates the
   result, including the format 2.0 rules for a result without `statusCode`.

Bodies and headers are never logged: a log line has the route key, status, request id and duration.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from hireproof.local import sigv4
from hireproof.local.sources import HttpRoute

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|x-www-form-urlencoded|xml|.*\+xml|javascript))$"
)


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    segments: tuple[str, ...]
    kinds: tuple[int, ...]  # 0 literal, 1 {param}, 2 {proxy+}

    @property
    def route_key(self) -> str:
        return "$default" if self.route.path == "$default" else f"{self.route.method} {self.route.path}"


def _compile(route: HttpRoute) -> _CompiledRoute:
    if route.path == "$default":
        return _CompiledRoute(route, (), (3,))
    segments = tuple(segment for segment in route.path.split("/") if segment)
    kinds = []
    for position, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("+}"):
            if position != len(segments) - 1:
                raise ValueError(f"greedy path variable must be the last segment: {route.path}")
            kinds.append(2)
        elif segment.startswith("{") and segment.endswith("}"):
            kinds.append(1)
        else:
            kinds.append(0)
    return _CompiledRoute(route, segments, tuple(kinds))


def _match_path(compiled: _CompiledRoute, parts: Sequence[str]) -> dict[str, str] | None:
    if compiled.kinds == (3,):
        return {}
    parameters: dict[str, str] = {}
    for position, (segment, kind) in enumerate(zip(compiled.segments, compiled.kinds, strict=True)):
        if kind == 2:
            rest = parts[position:]
            if not rest:
                return None
            parameters[segment[1:-2]] = unquote("/".join(rest))
            return parameters
        if position >= len(parts):
            return None
        if kind == 1:
            parameters[segment[1:-1]] = unquote(parts[position])
        elif segment != parts[position]:
            return None
    return parameters if len(parts) == len(compiled.segments) else None


class RouteTable:
    """The routes of the HTTP API, matched the way API Gateway matches HTTP API routes."""

    def __init__(self, routes: Sequence[HttpRoute]) -> None:
        self._routes = [_compile(route) for route in routes]

    def match(self, method: str, raw_path: str) -> tuple[_CompiledRoute | None, dict[str, str], list[str]]:
        """Return (route, path parameters, methods allowed on this path)."""
        parts = [part for part in raw_path.split("/") if part]
        candidates = []
        for compiled in self._routes:
            parameters = _match_path(compiled, parts)
            if parameters is not None:
                candidates.append((compiled, parameters))
        allowed = sorted({compiled.route.method for compiled, _ in candidates if compiled.kinds != (3,)})
        with_method = [
            (compiled, parameters)
            for compiled, parameters in candidates
            if compiled.route.method in (method, "ANY")
        ]
        if not with_method:
            return None, {}, allowed
        # Literal segments beat variables, variables beat greedy variables, a method beats ANY.
        with_method.sort(key=lambda item: (item[0].kinds, item[0].route.method == "ANY"))
        compiled, parameters = with_method[0]
        return compiled, parameters, allowed


Invoke = Callable[[str, dict[str, Any]], Any]


class LocalHttpApi:
    """The HTTP server; bind happens in __init__ so that `url` is known before routes exist."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        account_id: str,
    ) -> None:
        self._routes = RouteTable([])
        self._invoke: Invoke | None = None
        self._credentials = (access_key_id, secret_access_key)
        self._region = region
        self._account_id = account_id
        api = self

        class Handler(_RequestHandler):
            local_api = api

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, such as http://127.0.0.1:8080."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def configure(self, routes: Sequence[HttpRoute], invoke: Invoke) -> None:
        """Set the routes and the function to call with (logical id, event)."""
        self._routes = RouteTable(routes)
        self._invoke = invoke

    def start(self) -> None:
        """Serve requests on a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hireproof-local-http", daemon=True
        )
        self._thread.start()
        logger.info("local HTTP API started", extra={"url": self.url})

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    # ------------------------------------------------------------------ request handling
    def handle(self, request: _RequestHandler) -> None:
        """Respond to one request and log its route key, status, request id and duration."""
        started = time.monotonic()
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        raw_path, _, raw_query = request.path.partition("?")
        method = request.command.upper()
        compiled, path_parameters, allowed = self._routes.match(method, raw_path)
        route_key = compiled.route_key if compiled else "-"

        status = self._respond(request, compiled, path_parameters, allowed, raw_path, raw_query, request_id)
        logger.info(
            "http request",
            extra={
                "route_key": route_key,
                "status": status,
                "request_id": request_id,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )

    def _respond(
        self,
        request: _RequestHandler,
        compiled: _CompiledRoute | None,
        path_parameters: dict[str, str],
        allowed: list[str],
        raw_path: str,
        raw_query: str,
        request_id: str,
    ) -> int:
        try:
            body = request.read_body(MAX_BODY_BYTES)
        except ValueError:
            # A malformed Content-Length or chunk size leaves the connection unusable.
            return request.send_json(
                HTTPStatus.BAD_REQUEST, {"message": "Bad Request"}, request_id, close=True
            )
        if body is None:
            return request.send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"message": "Request Entity Too Large"},
                request_id,
                close=True,
            )
        if self._invoke is None:
            return request.send_json(
                HTTPStatus.SERVICE_UNAVAILABLE, {"message": "Service Unavailable"}, request_id
            )
        if compiled is None:
            if allowed:
                return request.send_json(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    {"message": "Method Not Allowed"},
                    request_id,
                    extra_headers=[("Allow", ", ".join(allowed))],
                )
            return request.send_json(HTTPStatus.NOT_FOUND, {"message": "Not Found"}, request_id)

        authorizer: dict[str, Any] | None = None
        if compiled.route.authorizer == "AWS_IAM":
            access_key_id, secret_access_key = self._credentials
            verification = sigv4.verify(
                method=request.command,
                raw_path=request.path,
                headers=list(request.headers.items()),
                body=body,
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                region=self._region,
                account_id=self._account_id,
            )
            if verification.identity is None:
                logger.info(
                    "request signature rejected",
                    extra={"route_key": compiled.route_key, "reason": verification.reason},
                )
                return request.send_json(HTTPStatus.FORBIDDEN, {"message": "Forbidden"}, request_id)
            authorizer = verification.identity.as_authorizer()
        elif compiled.route.authorizer is not None:
            logger.warning(
                "authorizer not emulated",
                extra={"route_key": compiled.route_key, "authorizer": compiled.route.authorizer},
            )
            return request.send_json(
                HTTPStatus.NOT_IMPLEMENTED,
                {"message": f"authorizer {compiled.route.authorizer} is not emulated locally"},
                request_id,
            )

        event = build_event(
            compiled=compiled,
            method=request.command.upper(),
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(request.headers.items()),
            body=body,
            path_parameters=path_parameters,
            source_ip=str(request.client_address[0]),
            request_id=request_id,
            account_id=self._account_id,
            authorizer=authorizer,
        )
        try:
            result = self._invoke(compiled.route.function, event)
        except Exception as exc:  # noqa: BLE001 - API Gateway answers 500 for any function error
            logger.warning(
                "function error",
                extra={
                    "route_key": compiled.route_key,
                    "request_id": request_id,
                    "error_type": type(exc).__name__,
                },
            )
            return request.send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal Server Error"}, request_id
            )
        try:
            status, headers, payload = translate_result(result)
        except (TypeError, ValueError):
            logger.warning(
                "malformed function response",
                extra={"route_key": compiled.route_key, "request_id": request_id},
            )
            return request.send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal Server Error"}, request_id
            )
        return request.send(status, headers, payload, request_id)


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    media_type = content_type.split(";")[0].strip().lower()
    return bool(_TEXT_TYPES.match(media_type))


def build_event(
    *,
    compiled: _CompiledRoute,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
    request_id: str,
    account_id: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """Build an API Gateway HTTP API payload format 2.0 event."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value

    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    now = datetime.datetime.now(tz=datetime.UTC)
    host = joined.get("host", "127.0.0.1")
    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": compiled.route.api or "local",
        "domainName": host,
        "domainPrefix": host.split(".")[0].split(":")[0],
        "http": {
            "method": method,
            "path": unquote(raw_path),
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": compiled.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": compiled.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        text = None
        if _is_text(joined.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def translate_result(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Turn a function result into (status, headers, body) with the payload 2.0 rules.

    A dict with `statusCode` is a full response. Anything else is sent as a 200 JSON body, as
    API Gateway does when a function returns valid JSON without a status code.
    """
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for cookie in result.get("cookies") or []:
            headers.append(("Set-Cookie", str(cookie)))
        raw_body = result.get("body")
        if raw_body is None:
            payload = b""
        elif result.get("isBase64Encoded"):
            payload = base64.b64decode(str(raw_body))
        else:
            payload = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode("utf-8")
        if payload and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return status, headers, payload
    return 200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8")


class _RequestHandler(BaseHTTPRequestHandler):
    local_api: LocalHttpApi
    protocol_version = "HTTP/1.1"
    server_version = "hireproof-local"

    def _dispatch(self) -> None:
        self.local_api.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The default logs the request line, whose path and query may carry tokens.
        return

    def read_body(self, limit: int) -> bytes | None:
        """Read the request body; None when it is over `limit` bytes."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def send_json(
        self,
        status: int,
        document: dict[str, Any],
        request_id: str,
        *,
        close: bool = False,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> int:
        headers = [("Content-Type", "application/json"), *extra_headers]
        if close:
            headers.append(("Connection", "close"))
            self.close_connection = True
        return self.send(int(status), headers, json.dumps(document).encode("utf-8"), request_id)

    def send(self, status: int, headers: Sequence[tuple[str, str]], payload: bytes, request_id: str) -> int:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("apigw-requestid", request_id)
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)
        return status
