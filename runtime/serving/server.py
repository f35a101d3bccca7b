"""The model server: SageMaker's container contract plus the `sagemaker-runtime` InvokeEndpoint route.

- `GET /ping` -> 200 once the model is loaded (SageMaker's health check).
- `POST /invocations` -> scores (the container contract; what the model image serves on port 8080).
- `POST /endpoints/<name>/invocations` -> the same, as boto3's `sagemaker-runtime` `invoke_endpoint`
  calls it, so a client with `endpoint_url` pointed here is the real boto3 client.
Errors use the rest-json shape botocore parses: `x-amzn-ErrorType` header and `{"__type", "message"}` body.
Bodies over `max_payload_bytes` (6 MB, InvokeEndpoint's documented real-time limit) are refused with 413.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from runtime.serving import codecs, faults
from runtime.serving.protocol import ScoringModel

# "Maximum payload size: 6 MB" for real-time InvokeEndpoint (SageMaker endpoints and quotas, AWS General Reference).
SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
VARIANT_NAME = "AllTraffic"
_ENDPOINT_ROUTE = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
_FAULT_RESPONSES = {
    faults.THROTTLE: (429, "ThrottlingException", "Rate exceeded (injected)"),
    faults.ERROR: (500, "InternalFailure", "An internal failure occurred (injected)"),
    faults.UNAVAILABLE: (503, "ServiceUnavailable", "The service is unavailable (injected)"),
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (tests count these to check the client's payload bounds)."""

    path: str
    endpoint_name: str | None
    content_type: str
    body_bytes: int
    records: int
    action: str
    status: int


@dataclass
class ServerConfig:
    max_payload_bytes: int = SAGEMAKER_MAX_PAYLOAD_BYTES
    faults: faults.FaultPlan = field(default_factory=faults.FaultPlan)
    endpoint_names: frozenset[str] | None = None
    """Endpoints the InvokeEndpoint route answers for; None: any name."""


class ModelServer:
    """A threaded HTTP server for one `ScoringModel`; `start()` runs it in a daemon thread."""

    def __init__(
        self, model: ScoringModel, config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.model = model
        self.config = config or ServerConfig()
        self.injector = faults.FaultInjector(self.config.faults)
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(entry)

    def start(self) -> ModelServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="model-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        model_server = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    model_server: ModelServer
    protocol_version = "HTTP/1.1"
    server_version = "ndrc-model-server"

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # one line per request would swamp a benchmark; the request log keeps them

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(200, b"", "text/plain")
        else:
            self._error(404, "NotFound", f"no route GET {self.path}")

    def do_POST(self) -> None:
        endpoint = _ENDPOINT_ROUTE.match(self.path)
        if self.path != "/invocations" and endpoint is None:
            self._drain()
            self._error(404, "NotFound", f"no route POST {self.path}")
            return
        name = endpoint.group("name") if endpoint else None
        self._invoke(name)

    def _invoke(self, endpoint_name: str | None) -> None:
        server = self.model_server
        content_type = self.headers.get("Content-Type", "")
        length = int(self.headers.get("Content-Length") or 0)

        def done(status: int, action: str, records: int = 0) -> None:
            # Recorded before the answer is sent: a client that has its answer must find the request logged.
            server.record(RequestRecord(self.path, endpoint_name, content_type, length, records, action, status))

        allowed = server.config.endpoint_names
        if endpoint_name is not None and allowed is not None and endpoint_name not in allowed:
            self._drain()
            done(400, "unknown-endpoint")
            self._error(400, "ValidationError", f"Endpoint {endpoint_name} not found.")
            return
        if length > server.config.max_payload_bytes:
            self._drain()
            limit = server.config.max_payload_bytes
            done(413, "too-large")
            self._error(413, "ValidationError", f"Request body of {length} bytes exceeds the {limit}-byte limit")
            return
        body = self.rfile.read(length)
        action = server.injector.next_action()
        if action in _FAULT_RESPONSES:
            status, code, message = _FAULT_RESPONSES[action]
            done(status, action)
            self._error(status, code, message)
            return
        if action == faults.SLOW:
            time.sleep(server.config.faults.slow_seconds)
        try:
            rows = codecs.decode_rows(body, content_type, server.model.feature_names)
            scores = server.model.score(rows) if rows else []
            payload, media = codecs.encode_scores(scores, server.model.model_version, self.headers.get("Accept"))
        except codecs.CodecError as err:
            code = {415: "UnsupportedMediaType", 406: "NotAcceptable"}.get(err.status, "ValidationError")
            done(err.status, action)
            self._error(err.status, code, err.message)
            return
        done(200, action, len(rows))
        self._send(200, payload, media, {"X-Amzn-Invoked-Production-Variant": VARIANT_NAME})

    def _drain(self) -> None:
        """Read (and drop) the body, so the client's send completes and reads our answer."""
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"__type": code, "message": message}).encode("utf-8")
        self._send(status, body, "application/json", {"x-amzn-ErrorType": code})

    def _send(self, status: int, body: bytes, media: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def summarize(requests: Iterable[RequestRecord]) -> dict[str, int]:
    """Counts per status, for logs and reports."""
    counts: dict[str, int] = {}
    for entry in requests:
        counts[str(entry.status)] = counts.get(str(entry.status), 0) + 1
    return counts
