"""The authorizer's Powertools-free logs and metrics have Powertools' shapes for the same calls."""

from __future__ import annotations

import io
import json
import logging
import re
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.logging import logger as powertools_logger
from echo_shared import observability, plain_observability
from echo_shared.lazy import reset_cached_resources
from echo_shared.settings import Stage

from tests.conftest import FakeLambdaContext

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class Settings:
    stage = Stage.LOCAL


def invoke(module: ModuleType, context: FakeLambdaContext, *, fail: bool = False) -> None:
    @module.lambda_entrypoint(settings=Settings)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger = module.get_logger()
        logger.debug("not at INFO")
        logger.info("access token accepted", extra={"tenant": "acme", "jti": "j-1", "absent": None})
        module.count("AuthorizerAllowed")
        module.count("AuthorizerAllowed")
        module.count("AuthorizerKeyStoreUnavailable")
        module.count("Nothing", 0)
        logger.warning("malformed methodArn")
        if fail:
            raise RuntimeError("Unauthorized")
        return {}

    if fail:
        with pytest.raises(RuntimeError):
            handler({}, context)
    else:
        handler({}, context)


def without_timestamps(line: dict[str, Any]) -> dict[str, Any]:
    line = {k: v for k, v in line.items() if k != "timestamp"}
    if "_aws" in line:
        line["_aws"] = {k: v for k, v in line["_aws"].items() if k != "Timestamp"}
    return line


def outputs(
    module: ModuleType, log_stream: io.StringIO, capsys: pytest.CaptureFixture[str], *, fail: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    context = FakeLambdaContext(aws_request_id="req-1")
    invoke(module, context, fail=fail)
    invoke(module, context)  # a warm invocation: cold_start false, keys not carried over
    printed = capsys.readouterr().out + log_stream.getvalue()
    log_stream.truncate(0)
    log_stream.seek(0)
    lines = [json.loads(text) for text in printed.splitlines() if text.strip()]
    logs = [line for line in lines if "_aws" not in line]
    metrics = [line for line in lines if "_aws" in line]
    return logs, metrics


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    monkeypatch.setattr(plain_observability, "_cold_start", True)
    reset_cached_resources()
    # Powertools' Metrics keep their metric set per class: drop what earlier tests left unflushed.
    observability.get_metrics().clear_metrics()
    observability.get_logger().setLevel(logging.INFO)


@pytest.mark.parametrize("fail", [False, True])
@pytest.mark.usefixtures("fresh_process")
def test_log_lines_and_emf_documents_match_powertools(
    log_stream: io.StringIO, capsys: pytest.CaptureFixture[str], fail: bool
) -> None:
    # Given the same handler under Powertools' entrypoint and under the plain one
    reference_logs, reference_metrics = outputs(observability, log_stream, capsys, fail=fail)
    observability.get_logger().registered_handler.stream = io.StringIO()  # type: ignore[attr-defined]
    logs, metrics = outputs(plain_observability, log_stream, capsys, fail=fail)
    # Then the log lines carry the same keys in the same order and the same values
    assert [list(line) for line in logs] == [list(line) for line in reference_logs]
    assert [without_timestamps(line) for line in logs] == [
        without_timestamps(line) for line in reference_logs
    ]
    assert [line["cold_start"] for line in logs] == [True, True, False, False]
    assert logs[0]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    # And timestamps are Powertools' UTC format
    for line in (logs[0], reference_logs[0]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000", line["timestamp"])
    # And each invocation (failed or not) flushed one EMF document of the same shape
    assert [without_timestamps(doc) for doc in metrics] == [
        without_timestamps(doc) for doc in reference_metrics
    ]
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["stage", "service"]]
    assert metrics[0]["AuthorizerAllowed"] == [1.0, 1.0]


@pytest.mark.usefixtures("fresh_process")
def test_an_invocation_without_metrics_prints_no_emf_document(capsys: pytest.CaptureFixture[str]) -> None:
    @plain_observability.lambda_entrypoint(settings=Settings)
    def handler(event: dict[str, Any], context: Any) -> None:
        return None

    handler({}, FakeLambdaContext())
    assert "_aws" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("environ", "level"),
    [
        ({}, 20),
        ({"LOG_LEVEL": "DEBUG"}, 10),
        ({"LOG_LEVEL": "warning"}, 30),
        ({"POWERTOOLS_LOG_LEVEL": "ERROR", "LOG_LEVEL": "DEBUG"}, 40),
        ({"AWS_LAMBDA_LOG_LEVEL": "WARN", "LOG_LEVEL": "DEBUG"}, 30),
        ({"AWS_LAMBDA_LOG_LEVEL": "FATAL"}, 50),
    ],
)
def test_the_log_level_is_resolved_as_powertools_resolves_it(environ: dict[str, str], level: int) -> None:
    assert plain_observability._log_level(environ) == level
