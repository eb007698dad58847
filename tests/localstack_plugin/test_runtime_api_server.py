"""The environment's HTTP server: routing, status codes and bodies, against a fake dispatcher."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from echo_localstack.runtime_init.protocol import Invocation
from echo_localstack.runtime_init.server import RuntimeApiServer

from .http_helpers import post, request

NEXT = "/2018-06-01/runtime/invocation/next"


class FakeDispatcher:
    def __init__(self) -> None:
        self.submitted: list[Invocation] = []
        self.completed: list[tuple[str, bytes, bool]] = []
        self.init_errors: list[bytes] = []
        self.known_request_id = "req-1"

    def submit(self, invocation: Invocation) -> None:
        self.submitted.append(invocation)

    def next_invocation(self) -> Invocation | None:
        return Invocation(
            request_id="req-1",
            payload=b'{"a": 1}',
            function_arn="arn:fn",
            trace_id="Root=1-x",
            deadline_ms=1234,
            client_context='{"custom": {}}',
        )

    def complete(self, request_id: str, body: bytes, *, is_error: bool) -> bool:
        self.completed.append((request_id, body, is_error))
        return request_id == self.known_request_id

    def init_error(self, error: bytes) -> None:
        self.init_errors.append(error)


@pytest.fixture
def server() -> Iterator[tuple[int, FakeDispatcher]]:
    dispatcher = FakeDispatcher()
    listening = socket.create_server(("127.0.0.1", 0))
    api = RuntimeApiServer(listening, dispatcher, timeout_seconds=3)
    threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    yield listening.getsockname()[1], dispatcher
    api.shutdown()
    api.server_close()


def test_invoke_is_accepted_and_submitted(server: tuple[int, FakeDispatcher]) -> None:
    port, dispatcher = server
    body = {
        "invoke-id": "req-9",
        "invoked-function-arn": "arn:fn",
        "payload": '{"x": 1}',
        "trace-id": "Root=1",
    }

    assert post(port, "/invoke", json.dumps(body).encode()).status == 202

    [invocation] = dispatcher.submitted
    assert (invocation.request_id, invocation.payload, invocation.function_arn) == (
        "req-9",
        b'{"x": 1}',
        "arn:fn",
    )


def test_invoke_with_a_malformed_body_is_rejected(server: tuple[int, FakeDispatcher]) -> None:
    port, dispatcher = server

    assert post(port, "/invoke", b"not json").status == 400
    assert dispatcher.submitted == []


def test_next_serves_the_event_with_the_runtime_api_headers(server: tuple[int, FakeDispatcher]) -> None:
    port, _ = server

    reply = request(port, "GET", NEXT)

    assert reply.status == 200
    assert reply.body == b'{"a": 1}'
    assert reply.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert reply.headers["Lambda-Runtime-Deadline-Ms"] == "1234"
    assert reply.headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:fn"
    assert reply.headers["Lambda-Runtime-Trace-Id"] == "Root=1-x"
    assert reply.headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'
    assert "Lambda-Runtime-Cognito-Identity" not in reply.headers


def test_results_for_the_current_request_are_accepted(server: tuple[int, FakeDispatcher]) -> None:
    port, dispatcher = server

    assert post(port, "/2018-06-01/runtime/invocation/req-1/response", b'"ok"').status == 202
    assert post(port, "/2018-06-01/runtime/invocation/req-1/error", b'{"errorType": "E"}').status == 202
    assert dispatcher.completed == [("req-1", b'"ok"', False), ("req-1", b'{"errorType": "E"}', True)]


def test_results_for_an_unknown_request_are_rejected(server: tuple[int, FakeDispatcher]) -> None:
    port, _ = server

    reply = post(port, "/2018-06-01/runtime/invocation/req-other/response", b"{}")

    assert reply.status == 400
    assert json.loads(reply.body)["errorType"] == "InvalidRequestID"


def test_init_error_is_forwarded(server: tuple[int, FakeDispatcher]) -> None:
    port, dispatcher = server

    reply = post(port, "/2018-06-01/runtime/init/error", b'{"errorType": "Runtime.ImportModuleError"}')

    assert reply.status == 202
    assert dispatcher.init_errors == [b'{"errorType": "Runtime.ImportModuleError"}']


def test_chunked_request_bodies_are_read(server: tuple[int, FakeDispatcher]) -> None:
    port, dispatcher = server
    chunked = b'4\r\n"abc\r\n1\r\n"\r\n0\r\n\r\n'

    reply = post(
        port,
        "/2018-06-01/runtime/invocation/req-1/response",
        chunked,
        headers={"Transfer-Encoding": "chunked"},
    )

    assert reply.status == 202
    assert dispatcher.completed == [("req-1", b'"abc"', False)]


def test_unknown_routes_are_not_found(server: tuple[int, FakeDispatcher]) -> None:
    port, _ = server

    assert request(port, "GET", "/2018-06-01/runtime/nothing").status == 404
    assert post(port, "/somewhere", b"").status == 404
