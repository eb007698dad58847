"""Fixtures for every test tier: a clean environment, event factories, Lambda context, and
parsed Lambda output (Powertools JSON logs and EMF metrics)."""

import copy
import io
import itertools
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from echo_shared.events import EventEnvelope, new_event
from echo_shared.lazy import reset_cached_resources
from echo_shared.observability import get_logger

from tests.fakes.events import TEST_TOPICS

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"
# The owner's shared/ folder sits beside the checkout (locally and in CI); ECHO_SHARED_DIR overrides
# it for checkouts elsewhere (git worktrees).
AWS_FIXTURES_DIR = (
    Path(os.environ.get("ECHO_SHARED_DIR") or ROOT.parent / "shared") / "fixtures" / "aws-events"
)

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "ECHO_STAGE": "local",
    "POWERTOOLS_SERVICE_NAME": "echo-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "Echo",
    "LOG_LEVEL": "INFO",
    "EVENT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:echo-test-events",
    # ADR 0016: one topic per producer; the platform's is the historical `events` topic.
    "PRODUCER_TOPICS": json.dumps(TEST_TOPICS),
    # The outbox relay: each outboxed producer's table (the local stage's names, as the templates build them).
    "OUTBOX_TABLES": json.dumps(
        {
            "identity": "echo-local-outbox",
            "authz": "echo-local-outbox-authz",
            "documents": "echo-local-outbox-documents",
        }
    ),
    "AUDIT_CHAIN_TABLE": "echo-test-audit-chain",
    "AUDIT_EVENT_IDS_TABLE": "echo-test-audit-event-ids",
    "CHECKPOINT_BUCKET": "echo-test-audit-checkpoints",
    "CHECKPOINT_KEY_ID": "alias/echo-test-checkpoints",
    "CHECKPOINT_LOCK_MODE": "GOVERNANCE",
    "CHECKPOINT_RETENTION_DAYS": "1",
    "LOG_TABLE": "echo-test-logs",
    "AUDIT_VERIFICATIONS_TABLE": "echo-test-audit-verifications",
    "AUDIT_VERIFICATION_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/echo-test-audit-verification",
    "LOG_RETENTION_DAYS": "30",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/echo-test-dlq",
}


@pytest.fixture(autouse=True)
def echo_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    reset_cached_resources()
    yield dict(TEST_ENV)
    reset_cached_resources()


@pytest.fixture
def make_event() -> Callable[..., EventEnvelope]:
    """Build valid envelopes; each call gets a fresh id and a later timestamp unless overridden."""
    clock = itertools.count()
    base = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

    def build(**overrides: Any) -> EventEnvelope:
        fields: dict[str, Any] = {
            "type": "user.logged_in",
            "tenant": "acme",
            "actor": "user-1",
            "action": "login",
            "resource": "user:user-1",
            "outcome": "success",
            "request_id": "req-1",
            "data": {"method": "password"},
            "event_id": uuid.uuid4(),
            "occurred_at": base + timedelta(seconds=next(clock)),
        }
        fields.update(overrides)
        return new_event(**fields)

    return build


@pytest.fixture
def sample_event() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of one of Echo's own samples in `events/`."""

    def load(name: str) -> dict[str, Any]:
        return copy.deepcopy(json.loads((EVENTS_DIR / name).read_text()))

    return load


@pytest.fixture
def aws_fixture_event() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of a shared real-shaped AWS event (Powertools' test events)."""

    def load(name: str) -> dict[str, Any]:
        return copy.deepcopy(json.loads((AWS_FIXTURES_DIR / name).read_text()))

    return load


@dataclass
class FakeLambdaContext:
    function_name: str = "echo-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:echo-test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/echo-test-function"
    log_stream_name: str = "2026/01/05/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def log_stream(echo_env: dict[str, str]) -> Iterator[io.StringIO]:
    """Point the Powertools log handler at a per-test buffer (it is process-wide, like in Lambda)."""
    handler = get_logger().registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.stream = stream  # assigned, not setStream(): the previous test's stream may be closed
    yield stream
    handler.stream = io.StringIO()


@dataclass
class LambdaOutput:
    """What a handler wrote: Powertools JSON log lines and EMF metric documents."""

    log_stream: io.StringIO
    capsys: pytest.CaptureFixture[str]
    _metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.log_stream.getvalue()

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def metrics(self) -> dict[str, float]:
        """Sum of every metric value emitted so far (EMF documents printed to stdout)."""
        for line in self.capsys.readouterr().out.splitlines():
            if line.startswith("{") and '"_aws"' in line:
                self._metrics.append(json.loads(line))
        totals: dict[str, float] = {}
        for document in self._metrics:
            for definition in document["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    value = document[metric["Name"]]
                    values = value if isinstance(value, list) else [value]
                    totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
        return totals


@pytest.fixture
def lambda_output(log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]) -> LambdaOutput:
    return LambdaOutput(log_stream=log_stream, capsys=capsys)
