"""Powertools Logger and Metrics (no Tracer: the X-Ray SDK is not in the layer), created lazily.

`lambda_entrypoint` gives every handler the same decorator order: settings validation first, then
the logger context with a correlation id, then metrics flushing. Handlers never log whole events.
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from echo_shared.environment import Stage
from echo_shared.lazy import cached_resource

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class StagedSettings(Protocol):
    """What the entrypoint reads of a function's settings (pydantic `EnvSettings` or a plain loader)."""

    @property
    def stage(self) -> Stage: ...


type Handler[R] = Callable[[dict[str, Any], "LambdaContext"], R]


@cached_resource
def get_logger() -> Logger:
    return Logger(utc=True)


@cached_resource
def get_metrics() -> Metrics:
    return Metrics()


def count(name: str, value: int = 1) -> None:
    """Add a count metric (EMF, flushed when the handler returns)."""
    if value:
        get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def set_correlation_id(value: str | None) -> None:
    get_logger().set_correlation_id(value)


def lambda_entrypoint[R](
    *, settings: Callable[[], StagedSettings], correlation_id_path: str | None = None
) -> Callable[[Handler[R]], Handler[R]]:
    """Wrap a handler: validate settings, inject logger context and correlation id, flush metrics."""

    def decorate(handler: Handler[R]) -> Handler[R]:
        @functools.wraps(handler)
        def wrapper(event: dict[str, Any], context: "LambdaContext") -> R:
            loaded = settings()
            logger = get_logger()
            metrics = get_metrics()
            metrics.set_default_dimensions(stage=loaded.stage.value)
            with_logging = logger.inject_lambda_context(
                handler, correlation_id_path=correlation_id_path, clear_state=True
            )
            instrumented: Handler[R] = metrics.log_metrics(with_logging)
            return instrumented(event, context)

        return wrapper

    return decorate
