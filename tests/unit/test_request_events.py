"""RequestEvents: a request's events leave together, before the response, in PublishBatch calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from echo_shared.events import EventEnvelope, PublishFailed
from echo_shared.events.publisher import MAX_BATCH_SIZE
from echo_shared.events.request_events import RequestEvents


class RecordingBus:
    """Records each call the way SNS would receive it: one Publish or one PublishBatch."""

    def __init__(self, *, failing: bool = False) -> None:
        self.calls: list[tuple[str, list[EventEnvelope]]] = []
        self._failing = failing

    def publish(self, event: EventEnvelope) -> None:
        self._call("publish", [event])

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        self._call("publish_batch", list(events))

    def _call(self, kind: str, events: list[EventEnvelope]) -> None:
        if self._failing:
            raise PublishFailed([str(e.event_id) for e in events], ["NotFound"] * len(events))
        self.calls.append((kind, events))


def test_outside_a_request_events_pass_straight_through(make_event: Callable[..., EventEnvelope]) -> None:
    bus = RecordingBus()
    events = RequestEvents(bus)
    first, second, third = make_event(), make_event(), make_event()
    events.publish(first)
    events.publish_batch([second, third])
    assert bus.calls == [("publish", [first]), ("publish_batch", [second, third])]


def test_a_requests_events_leave_in_order_in_the_fewest_batches(
    make_event: Callable[..., EventEnvelope],
) -> None:
    bus = RecordingBus()
    events = RequestEvents(bus)
    made = [make_event() for _ in range(2 * MAX_BATCH_SIZE + 1)]
    with events.collecting() as pending:
        events.publish_batch(made[:4])
        for event in made[4:]:
            events.publish(event)
        assert bus.calls == []  # nothing leaves before the flush
        pending.flush()
    assert [kind for kind, _ in bus.calls] == ["publish_batch", "publish_batch", "publish"]
    assert [e for _, batch in bus.calls for e in batch] == made


def test_a_request_that_fails_half_way_still_publishes_what_it_decided(
    make_event: Callable[..., EventEnvelope],
) -> None:
    bus = RecordingBus()
    events = RequestEvents(bus)
    decided = make_event()

    def request() -> None:
        with events.collecting():
            events.publish(decided)
            raise LookupError("the request failed after a decision")

    with pytest.raises(LookupError):
        request()
    assert bus.calls == [("publish", [decided])]


def test_a_failed_flush_raises_and_keeps_nothing_for_the_next_request(
    make_event: Callable[..., EventEnvelope],
) -> None:
    events = RequestEvents(RecordingBus(failing=True))

    def request() -> None:
        with events.collecting() as pending:
            events.publish(make_event())
            pending.flush()

    with pytest.raises(PublishFailed):
        request()
    with events.collecting() as pending:
        assert pending.events == []


def test_collecting_twice_on_one_thread_is_refused() -> None:
    events = RequestEvents(RecordingBus())
    with events.collecting(), pytest.raises(RuntimeError, match="already"), events.collecting():
        pass
