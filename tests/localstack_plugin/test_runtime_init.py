"""An execution environment (runtime API server + supervisor) driving the real awslambdaric runtime."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from echo_localstack.lambda_executor.environment import function_environment
from echo_localstack.lambda_executor.runtimes import RuntimeInstallation
from echo_localstack.runtime_init.__main__ import spawn_runtime
from echo_localstack.runtime_init.config import InitConfig
from echo_localstack.runtime_init.logs import LogCollector
from echo_localstack.runtime_init.server import RuntimeApiServer
from echo_localstack.runtime_init.supervisor import Supervisor

from .http_helpers import post

FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:unit"


class RecordingCallbacks:
    """Stands in for LocalStack's executor endpoint."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def ready(self) -> None:
        self.events.put(("ready",))

    def init_failed(self, error: bytes) -> None:
        self.events.put(("init_failed", json.loads(error)))

    def result(self, request_id: str, logs: str, body: bytes, *, is_error: bool) -> None:
        self.events.put(("result", request_id, logs, json.loads(body), is_error))

    def next(self, timeout: float = 20) -> tuple[Any, ...]:
        return self.events.get(timeout=timeout)


@dataclass
class Environment:
    port: int
    supervisor: Supervisor
    callbacks: RecordingCallbacks

    def invoke(self, event: object, **extra: str) -> str:
        request_id = str(uuid.uuid4())
        body = {
            "invoke-id": request_id,
            "invoked-function-arn": FUNCTION_ARN,
            "payload": json.dumps(event),
            "trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            **extra,
        }
        assert post(self.port, "/invoke", json.dumps(body).encode()).status == 202
        return request_id

    def result_of(self, request_id: str) -> tuple[str, dict[str, Any], bool]:
        event = self.callbacks.next()
        assert event[0] == "result", event
        assert event[1] == request_id, event
        return event[2], event[3], event[4]


StartEnvironment = Callable[..., Environment]


@pytest.fixture
def start_environment(tmp_path: Path, runtime_python: Path) -> Iterator[StartEnvironment]:
    cleanups: list[Callable[[], None]] = []

    def start(handler_code: str, *, timeout: int = 3) -> Environment:
        code_dir = tmp_path / f"code-{len(cleanups)}"
        code_dir.mkdir()
        (code_dir / "handler.py").write_text(handler_code)
        listening = socket.create_server(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        runtime = RuntimeInstallation("python3.13", runtime_python.parent.parent)
        env = function_environment(
            {
                "AWS_LAMBDA_FUNCTION_NAME": "unit",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 128,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_REGION": "us-east-1",
            },
            runtime=runtime,
            handler="handler.handler",
            code_dir=code_dir,
            opt_dir=tmp_path / "opt",
            tmp_dir=tmp_path,
            runtime_api=f"127.0.0.1:{port}",
            gateway_host="127.0.0.1",
            gateway_port=4566,
        )
        config = InitConfig(
            executor_id="unit",
            runtime_endpoint="http://127.0.0.1:9/unused",
            command=[str(runtime.python), "-P", "-m", "awslambdaric", "handler.handler"],
            cwd=str(code_dir),
            env=env,
            timeout_seconds=timeout,
            function_version="$LATEST",
            memory_size=128,
            listen_fd=listening.fileno(),
        )
        read_fd, write_fd = os.pipe()
        callbacks = RecordingCallbacks()
        collector = LogCollector(read_fd)
        supervisor = Supervisor(config, callbacks, collector, spawn=lambda: spawn_runtime(config, write_fd))
        server = RuntimeApiServer(listening, supervisor, timeout)
        stop = threading.Event()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        threading.Thread(target=collector.run, args=(stop,), daemon=True).start()
        supervisor.start()

        def cleanup() -> None:
            supervisor.shutdown()
            stop.set()
            server.shutdown()
            server.server_close()
            os.close(write_fd)

        cleanups.append(cleanup)
        return Environment(port, supervisor, callbacks)

    yield start
    for cleanup in cleanups:
        cleanup()


HANDLER = """
import os, time

def handler(event, context):
    print("handling", event.get("n"))
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(event["exit"])
    custom = context.client_context.custom if context.client_context else None
    return {"n": event.get("n"), "pid": os.getpid(), "request_id": context.aws_request_id,
            "arn": context.invoked_function_arn, "remaining_ms": context.get_remaining_time_in_millis(),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"), "custom": custom}
"""


def test_reports_ready_then_each_result_with_its_own_logs(start_environment: StartEnvironment) -> None:
    environment = start_environment(HANDLER)
    assert environment.callbacks.next() == ("ready",)

    first = environment.invoke({"n": 1})
    logs, result, is_error = environment.result_of(first)
    assert not is_error
    assert result["n"] == 1
    assert "handling 1" in logs
    assert f"START RequestId: {first} Version: $LATEST" in logs
    assert f"REPORT RequestId: {first}\tDuration:" in logs

    second = environment.invoke({"n": 2})
    logs, result, _ = environment.result_of(second)
    assert "handling 2" in logs
    assert "handling 1" not in logs


def test_runtime_api_headers_reach_the_handler_context(start_environment: StartEnvironment) -> None:
    environment = start_environment(HANDLER, timeout=3)
    environment.callbacks.next()

    request_id = environment.invoke({}, **{"client-context": json.dumps({"custom": {"tenant": "t1"}})})
    _, result, _ = environment.result_of(request_id)

    assert result["request_id"] == request_id
    assert result["arn"] == FUNCTION_ARN
    assert 0 < result["remaining_ms"] <= 3000
    assert result["trace"].startswith("Root=1-5759e988")
    assert result["custom"] == {"tenant": "t1"}


def test_handler_exception_is_an_error_result(start_environment: StartEnvironment) -> None:
    environment = start_environment(HANDLER)
    environment.callbacks.next()

    _, error, is_error = environment.result_of(environment.invoke({"fail": True}))

    assert is_error
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom"


def test_import_error_is_reported_as_a_failed_start(start_environment: StartEnvironment) -> None:
    environment = start_environment("import module_not_in_the_bundle\n")

    kind, error = environment.callbacks.next()

    assert kind == "init_failed"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "module_not_in_the_bundle" in error["errorMessage"]
    assert environment.supervisor.finished.wait(5)


def test_runtime_exiting_during_init_is_a_failed_start(start_environment: StartEnvironment) -> None:
    environment = start_environment("import os\nos._exit(2)\n")

    kind, error = environment.callbacks.next()

    assert kind == "init_failed"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("exit status 2")


def test_timeout_kills_the_runtime_and_the_next_invocation_gets_a_new_one(
    start_environment: StartEnvironment,
) -> None:
    environment = start_environment(HANDLER, timeout=1)
    environment.callbacks.next()

    timed_out = environment.invoke({"n": 1, "sleep": 5})
    logs, error, is_error = environment.result_of(timed_out)
    assert is_error
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == f"RequestId: {timed_out} Error: Task timed out after 1.00 seconds"
    assert "Task timed out after 1.00 seconds" in logs

    _, result, is_error = environment.result_of(environment.invoke({"n": 2}))
    assert not is_error
    assert result["n"] == 2


def test_runtime_crash_is_an_exit_error_and_the_runtime_restarts(start_environment: StartEnvironment) -> None:
    environment = start_environment(HANDLER)
    environment.callbacks.next()

    _, first, _ = environment.result_of(environment.invoke({"n": 0}))
    crashed = environment.invoke({"exit": 7})
    _, error, is_error = environment.result_of(crashed)
    assert is_error
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"] == f"RequestId: {crashed} Error: Runtime exited with error: exit status 7"

    _, result, is_error = environment.result_of(environment.invoke({"n": 3}))
    assert not is_error
    assert result["pid"] != first["pid"]


def test_runtime_killed_while_idle_leaves_no_stale_poll_to_swallow_later_work(
    start_environment: StartEnvironment,
) -> None:
    # Given a runtime that has served one invocation and waits in its `GET next` long-poll
    environment = start_environment(HANDLER, timeout=3)
    environment.callbacks.next()
    _, first, _ = environment.result_of(environment.invoke({"n": 0}))
    time.sleep(0.5)  # the runtime is back in its long-poll
    # When it is killed from outside (OOM killer, operator) while idle
    os.kill(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while environment.supervisor.has_runtime() and time.monotonic() < deadline:
        time.sleep(0.05)
    # Then every later invocation reaches a fresh runtime; none is handed to the dead connection
    for n in range(1, 4):
        _, result, is_error = environment.result_of(environment.invoke({"n": n}))
        assert not is_error, result
        assert result["n"] == n
        assert result["pid"] != first["pid"]
