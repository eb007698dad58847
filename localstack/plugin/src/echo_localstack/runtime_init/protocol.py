"""Invocations and the error payloads an environment reports, shaped like AWS's."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, field


@dataclass(eq=False)
class Invocation:
    request_id: str
    payload: bytes
    function_arn: str
    trace_id: str
    deadline_ms: int
    received_at: float = field(default_factory=time.monotonic)
    client_context: str | None = None
    cognito_identity: str | None = None
    init_logs: str = ""

    @classmethod
    def from_localstack(cls, body: bytes, timeout_seconds: float) -> Invocation:
        """Parses the `POST /invoke` body LocalStack's ExecutorEndpoint sends."""
        data = json.loads(body)
        return cls(
            request_id=data["invoke-id"],
            payload=str(data.get("payload") or "").encode(),
            function_arn=data.get("invoked-function-arn", ""),
            trace_id=data.get("trace-id", ""),
            deadline_ms=int((time.time() + timeout_seconds) * 1000),
            client_context=data.get("client-context") or None,
            cognito_identity=data.get("cognito-identity") or None,
        )

    def runtime_headers(self) -> dict[str, str]:
        """Headers of the Runtime API's `GET /invocation/next` answer."""
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Content-Type": "application/json",
        }
        if self.client_context:
            headers["Lambda-Runtime-Client-Context"] = self.client_context
        if self.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        return headers


def timeout_message(timeout_seconds: float) -> str:
    return f"Task timed out after {timeout_seconds:.2f} seconds"


def timeout_error(request_id: str, timeout_seconds: float) -> bytes:
    return _error("Sandbox.Timedout", f"RequestId: {request_id} Error: {timeout_message(timeout_seconds)}")


def exit_error(request_id: str | None, returncode: int) -> bytes:
    prefix = f"RequestId: {request_id} " if request_id else ""
    return _error("Runtime.ExitError", f"{prefix}Error: Runtime exited with error: {exit_reason(returncode)}")


def exit_reason(returncode: int) -> str:
    """Go-style wording, as AWS reports it: 'exit status 1', 'signal: killed'."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal: {-returncode}"
    return "signal: killed" if name == "SIGKILL" else f"signal: {name.removeprefix('SIG').lower()}"


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
