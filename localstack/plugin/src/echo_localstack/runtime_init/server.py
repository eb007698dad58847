"""The environment's HTTP server: LocalStack's `POST /invoke` and the Lambda Runtime API."""

from __future__ import annotations

import json
import re
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from echo_localstack.runtime_init.protocol import Invocation

RUNTIME_API = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"^{RUNTIME_API}/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$")


class Dispatcher(Protocol):
    def submit(self, invocation: Invocation) -> None: ...

    def next_invocation(self) -> Invocation | None: ...

    def undelivered(self, invocation: Invocation) -> None: ...

    def complete(self, request_id: str, body: bytes, *, is_error: bool) -> bool: ...

    def init_error(self, error: bytes) -> None: ...


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listening: socket.socket, dispatcher: Dispatcher, timeout_seconds: float) -> None:
        # The executor bound the socket (no port race); we only serve it.
        super().__init__(listening.getsockname()[:2], RuntimeApiHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listening
        self.dispatcher = dispatcher
        self.timeout_seconds = timeout_seconds


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path != f"{RUNTIME_API}/invocation/next":
            self._reply(404, _error_body("NotFound", f"no route for GET {self.path}"))
            return
        invocation = self.server.dispatcher.next_invocation()
        try:
            if invocation is None:
                self._reply(500, _error_body("ShuttingDown", "the execution environment is stopping"))
            else:
                self._reply(200, invocation.payload, invocation.runtime_headers())
        except OSError:
            # The runtime that asked died meanwhile: its successor gets the work.
            self.close_connection = True
            if invocation is not None:
                self.server.dispatcher.undelivered(invocation)

    def do_POST(self) -> None:
        body = self._read_body()
        dispatcher = self.server.dispatcher
        if self.path == "/invoke":
            try:
                invocation = Invocation.from_localstack(body, self.server.timeout_seconds)
            except (ValueError, KeyError) as error:
                self._reply(400, _error_body("InvalidRequest", str(error)))
                return
            dispatcher.submit(invocation)
            self._reply(202, b"")
        elif self.path == f"{RUNTIME_API}/init/error":
            dispatcher.init_error(body)
            self._reply(202, b'{"status":"OK"}')
        elif match := _RESULT_PATH.match(self.path):
            accepted = dispatcher.complete(match["request_id"], body, is_error=match["kind"] == "error")
            if accepted:
                self._reply(202, b'{"status":"OK"}')
            else:
                self._reply(400, _error_body("InvalidRequestID", "Invalid request ID"))
        else:
            self._reply(404, _error_body("NotFound", f"no route for POST {self.path}"))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not headers or "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
