"""An OTLP/HTTP trace receiver that counts the spans it is sent and keeps none: what the
overhead bench points `OTEL_EXPORTER_OTLP_ENDPOINT` at, so that traces cost their real
export (serialising, batching, one POST per batch) without a collector to install.
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

TRACES_PATH = "/v1/traces"


class SpanSink:
    """A receiver on 127.0.0.1, in a thread of its own; `endpoint` is the value for
    `OTEL_EXPORTER_OTLP_ENDPOINT`, and `spans` how many have arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def spans(self) -> int:
        with self._lock:
            return self._spans

    def __enter__(self) -> SpanSink:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _received(self, count: int) -> None:
        with self._lock:
            self._spans += count

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != TRACES_PATH:
                    self.send_error(404, f"only {TRACES_PATH} is received here")
                    return
                request = ExportTraceServiceRequest.FromString(body)
                scopes = [scope for spans in request.resource_spans for scope in spans.scope_spans]
                sink._received(sum(len(scope.spans) for scope in scopes))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # a line per batch would drown the bench's progress

        return Receive
