import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from echo_shared.events import EventEnvelope, InvalidEvent
from log_sink.logic import LogSink, SinkOutcome

from tests.fakes.logs import InMemoryLogRepository


@pytest.fixture
def repo() -> InMemoryLogRepository:
    return InMemoryLogRepository()


def test_log_event_is_stored_with_ttl(
    repo: InMemoryLogRepository, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a log event that occurred at a known instant and a 30-day retention
    event = make_event(type="log.error", occurred_at=datetime(2026, 1, 5, 10, 0, 0, 250000, tzinfo=UTC))

    # When it is sunk
    outcome = LogSink(repo, retention_days=30).accept(event.to_json())

    # Then it is stored under `<occurred_at>#<event_id>`, expiring 30 days after it occurred
    assert outcome is SinkOutcome.STORED
    (entry,) = repo.stored()
    assert entry.sort_key == f"2026-01-05T10:00:00.250000Z#{event.event_id}"
    assert entry.expires_at == int(datetime(2026, 2, 4, 10, 0, 0, 250000, tzinfo=UTC).timestamp())
    assert json.loads(entry.data) == event.data


def test_redelivery_is_ignored(repo: InMemoryLogRepository, make_event: Callable[..., EventEnvelope]) -> None:
    sink = LogSink(repo, retention_days=7)
    body = make_event(type="log.info").to_json()
    assert [sink.accept(body), sink.accept(body)] == [SinkOutcome.STORED, SinkOutcome.DUPLICATE]
    assert len(repo.stored()) == 1


def test_non_log_events_are_skipped(
    repo: InMemoryLogRepository, make_event: Callable[..., EventEnvelope]
) -> None:
    assert LogSink(repo, retention_days=7).accept(make_event(type="user.logged_in").to_json()) is (
        SinkOutcome.NOT_A_LOG_EVENT
    )
    assert repo.stored() == []


def test_poison_raises(repo: InMemoryLogRepository) -> None:
    with pytest.raises(InvalidEvent):
        LogSink(repo, retention_days=7).accept("Test message.")
