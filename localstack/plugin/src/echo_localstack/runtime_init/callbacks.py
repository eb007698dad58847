"""The environment's side of LocalStack's executor-endpoint protocol (status, logs, results)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Protocol
from urllib.parse import urlsplit


class Callbacks(Protocol):
    def ready(self) -> None: ...

    def init_failed(self, error: bytes) -> None: ...

    def result(self, request_id: str, logs: str, body: bytes, *, is_error: bool) -> None: ...


class _NoDelayConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        # Small request/response pairs otherwise stall ~40 ms on Nagle + delayed ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LocalStackCallbacks:
    """Posts to `{runtime_endpoint}/...` over one kept-alive connection."""

    def __init__(self, runtime_endpoint: str, executor_id: str, timeout: float = 30.0) -> None:
        url = urlsplit(runtime_endpoint)
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 80
        self._prefix = url.path.rstrip("/")
        self._executor_id = executor_id
        self._timeout = timeout
        self._lock = threading.Lock()
        self._connection: _NoDelayConnection | None = None

    def ready(self) -> None:
        self._post(f"/status/{self._executor_id}/ready", b"")

    def init_failed(self, error: bytes) -> None:
        self._post(f"/status/{self._executor_id}/error", error)

    def result(self, request_id: str, logs: str, body: bytes, *, is_error: bool) -> None:
        # LocalStack attaches the logs it holds when the result arrives: logs must come first.
        self._post(f"/invocations/{request_id}/logs", json.dumps({"logs": logs}).encode())
        self._post(f"/invocations/{request_id}/{'error' if is_error else 'response'}", body)

    def _post(self, path: str, body: bytes) -> int:
        with self._lock:
            for attempt in range(2):
                connection = self._connection or _NoDelayConnection(
                    self._host, self._port, timeout=self._timeout
                )
                self._connection = connection
                try:
                    connection.request(
                        "POST", self._prefix + path, body, headers={"Content-Type": "application/json"}
                    )
                    response = connection.getresponse()
                    response.read()
                except (http.client.HTTPException, OSError):
                    connection.close()
                    self._connection = None
                    if attempt:
                        raise
                    continue
                if response.will_close:
                    connection.close()
                    self._connection = None
                return response.status
        raise AssertionError("unreachable")
