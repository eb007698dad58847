"""JSON log lines and EMF metrics in Powertools' shapes, without importing the Powertools package.

For the authorizer, whose cold start the Powertools import was a sixth of (issue 10): the same
`lambda_entrypoint`, `get_logger` and `count` as `echo_shared.observability`, writing what
Powertools' Logger (utc) and Metrics write for what the authorizer uses: log lines with
level, location, message, timestamp, service, cold_start, the Lambda context's function_* keys,
correlation_id when set, the call's `extra` keys, xray_trace_id; and one EMF document per
invocation (`_aws.CloudWatchMetrics` with Namespace, Dimensions [[stage, service]], Count units).
Unit tests compare its output with Powertools' for the same calls. Never logs the event.
"""

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from echo_shared.lazy import cached_resource

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from echo_shared.observability import StagedSettings

type Handler[R] = Callable[[dict[str, Any], "LambdaContext"], R]

_LEVELS = {"NOTSET": 0, "DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL) take precedence, as in Powertools.
_LAMBDA_LEVELS = {"TRACE": "NOTSET", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING", "ERROR": "ERROR"}
_LAMBDA_LEVELS["FATAL"] = "CRITICAL"
_cold_start = True


def _log_level(environ: Mapping[str, str]) -> int:
    lambda_level = _LAMBDA_LEVELS.get(environ.get("AWS_LAMBDA_LOG_LEVEL", ""))
    level = lambda_level or environ.get("POWERTOOLS_LOG_LEVEL") or environ.get("LOG_LEVEL") or "INFO"
    return _LEVELS.get(level.upper(), _LEVELS["INFO"])


def _is_cold_start() -> bool:
    global _cold_start
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
        _cold_start = False
        return False
    cold, _cold_start = _cold_start, False
    return cold


class JsonLogger:
    """Powertools' `Logger(utc=True)` line format; `extra` keys follow the invocation's keys."""

    def __init__(self, service: str, level: int, stream: IO[str] | None = None) -> None:
        self.service = service
        self.level = level
        self.stream = stream
        self._keys: dict[str, Any] = {}

    def start_invocation(self, context: "LambdaContext") -> None:
        self._keys = {
            "cold_start": _is_cold_start(),
            "function_name": context.function_name,
            "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn,
            "function_request_id": context.aws_request_id,
        }

    def set_correlation_id(self, value: str | None) -> None:
        self._keys["correlation_id"] = value

    def debug(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._log("DEBUG", message, extra)

    def info(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._log("INFO", message, extra)

    def warning(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._log("WARNING", message, extra)

    def error(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self._log("ERROR", message, extra)

    def _log(self, level: str, message: str, extra: dict[str, Any] | None) -> None:
        if _LEVELS[level] < self.level:
            return
        caller = sys._getframe(2)
        now = time.time()
        line: dict[str, Any] = {
            "level": level,
            "location": f"{caller.f_code.co_name}:{caller.f_lineno}",
            "message": message,
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
            + f",{int(now % 1 * 1000):03d}+0000",
            "service": self.service,
            **self._keys,
            **(extra or {}),
            "xray_trace_id": _trace_id(),
        }
        text = json.dumps(
            {k: v for k, v in line.items() if v is not None}, default=str, separators=(",", ":")
        )
        print(text, file=self.stream or sys.stdout, flush=True)


def _trace_id() -> str | None:
    header = os.environ.get("_X_AMZN_TRACE_ID")
    return header.split(";")[0].replace("Root=", "") if header else None


class EmfMetrics:
    """Counts for one invocation, printed as one CloudWatch Embedded Metric Format document."""

    def __init__(self, namespace: str, service: str) -> None:
        self.namespace = namespace
        self.service = service
        self._dimensions: dict[str, str] = {}
        self._values: dict[str, list[float]] = {}

    def set_default_dimensions(self, **dimensions: str) -> None:
        self._dimensions = dict(dimensions)

    def add_count(self, name: str, value: int) -> None:
        self._values.setdefault(name, []).append(float(value))

    def flush(self) -> None:
        if not self._values:
            return
        dimensions = {**self._dimensions, "service": self.service}
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in self._values],
                    }
                ],
            },
            **dimensions,
            **self._values,
        }
        self._values = {}
        print(json.dumps(document, separators=(",", ":")), flush=True)


@cached_resource
def get_logger() -> JsonLogger:
    return JsonLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"), _log_level(os.environ))


@cached_resource
def get_metrics() -> EmfMetrics:
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    return EmfMetrics(os.environ.get("POWERTOOLS_METRICS_NAMESPACE", ""), service)


def count(name: str, value: int = 1) -> None:
    """Add a count metric (flushed when the handler returns or raises)."""
    if value:
        get_metrics().add_count(name, value)


def lambda_entrypoint[R](*, settings: Callable[[], "StagedSettings"]) -> Callable[[Handler[R]], Handler[R]]:
    """`echo_shared.observability.lambda_entrypoint`'s order: settings, then the logger's invocation
    keys (cleared each time), then metrics flushed whatever the handler did."""

    def decorate(handler: Handler[R]) -> Handler[R]:
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: "LambdaContext") -> R:
            loaded = settings()
            metrics = get_metrics()
            metrics.set_default_dimensions(stage=loaded.stage.value)
            get_logger().start_invocation(context)
            try:
                return handler(event, context)
            finally:
                metrics.flush()

        return wrapper

    return decorate
