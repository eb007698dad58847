"""Per-invocation logs and the AWS-shaped error payloads."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest
from echo_localstack.runtime_init.logs import LogCollector, invocation_logs
from echo_localstack.runtime_init.protocol import Invocation, exit_error, exit_reason, timeout_error


def test_collected_output_is_taken_once_and_echoed() -> None:
    read_fd, write_fd = os.pipe()
    echo = io.BytesIO()
    collector = LogCollector(read_fd, echo=echo)

    os.write(write_fd, b"line 1\n")
    assert collector.take() == "line 1\n"
    os.write(write_fd, b"line 2\n")
    assert collector.take() == "line 2\n"
    assert collector.take() == ""
    assert echo.getvalue() == b"line 1\nline 2\n"
    os.close(write_fd)


def test_invocation_logs_frame_the_output_like_cloudwatch() -> None:
    invocation = Invocation("req-1", b"{}", "arn", "Root=1", deadline_ms=0, init_logs="init line\n")

    logs = invocation_logs(
        invocation,
        "out",
        version="$LATEST",
        memory_size=128,
        max_memory_mb=30,
        duration_ms=12.3,
        failure="Task timed out after 3.00 seconds",
    )

    lines = logs.splitlines()
    assert lines[0] == "init line"
    assert lines[1] == "START RequestId: req-1 Version: $LATEST"
    assert lines[2] == "out"
    assert lines[3].endswith("req-1 Task timed out after 3.00 seconds")
    assert lines[4] == "END RequestId: req-1"
    assert lines[5].startswith("REPORT RequestId: req-1\tDuration: 12.30 ms\tBilled Duration: 13 ms\t")


def test_invocations_parse_localstacks_invoke_body() -> None:
    body = json.dumps(
        {
            "invoke-id": "r",
            "invoked-function-arn": "arn",
            "payload": '{"a": 1}',
            "trace-id": "t",
            "cognito-identity": '{"cognitoIdentityId": "x"}',
        }
    ).encode()

    invocation = Invocation.from_localstack(body, timeout_seconds=3)

    headers = invocation.runtime_headers()
    assert invocation.payload == b'{"a": 1}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == '{"cognitoIdentityId": "x"}'
    assert "Lambda-Runtime-Client-Context" not in headers
    assert int(headers["Lambda-Runtime-Deadline-Ms"]) > 0


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (1, "exit status 1"),
        (-signal.SIGKILL, "signal: killed"),
        (-signal.SIGSEGV, "signal: segv"),
    ],
)
def test_exit_reasons_read_like_aws(returncode: int, reason: str) -> None:
    assert exit_reason(returncode) == reason


def test_error_payloads() -> None:
    assert json.loads(timeout_error("r", 3)) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r Error: Task timed out after 3.00 seconds",
    }
    assert json.loads(exit_error(None, 2)) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Error: Runtime exited with error: exit status 2",
    }
