"""One request's audit events published together, before its response leaves.

A query decides documents in audited batches and then records its answer: published one call at a
time that is one bus round trip per batch plus one for the answer. `RequestEvents` is an
`EventPublisher` that, inside `collecting()`, holds what is published and sends it with the fewest
PublishBatch calls when the request flushes. The guarantee stays the one the callers rely on: no
result leaves the function unless every event of the request was accepted by the bus, because the
flush happens before the response is built and a failed flush raises. A request that fails half
way still publishes the events it made (a refused call is audited too) before the error goes up.

Outside `collecting()` it publishes at once, like the publisher it wraps. One process serves one
request at a time on Lambda; the pending list is per thread all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from echo_shared.events.envelope import EventEnvelope
from echo_shared.events.publisher import MAX_BATCH_SIZE, EventPublisher, PublishFailed


class PendingEvents:
    def __init__(self, bus: EventPublisher) -> None:
        self._bus = bus
        self.events: list[EventEnvelope] = []

    def flush(self) -> None:
        """Publish what is pending, in order, 10 per call; raises PublishFailed and keeps nothing."""
        pending, self.events = self.events, []
        for start in range(0, len(pending), MAX_BATCH_SIZE):
            chunk = pending[start : start + MAX_BATCH_SIZE]
            if len(chunk) == 1:
                self._bus.publish(chunk[0])
            else:
                self._bus.publish_batch(chunk)


class RequestEvents:
    def __init__(self, bus: EventPublisher) -> None:
        self._bus = bus
        self._local = threading.local()

    @contextmanager
    def collecting(self) -> Iterator[PendingEvents]:
        """Hold this thread's events until `flush()`; whatever is left is flushed on the way out,
        also when the body raised (then a failed flush raises PublishFailed from the body's error)."""
        if getattr(self._local, "pending", None) is not None:
            raise RuntimeError("already collecting this thread's events")
        pending = PendingEvents(self._bus)
        self._local.pending = pending
        try:
            yield pending
        finally:
            self._local.pending = None
            if pending.events:
                pending.flush()

    def _pending(self) -> PendingEvents | None:
        pending: PendingEvents | None = getattr(self._local, "pending", None)
        return pending

    def publish(self, event: EventEnvelope) -> None:
        pending = self._pending()
        if pending is None:
            self._bus.publish(event)
        else:
            pending.events.append(event)

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        pending = self._pending()
        if pending is None:
            self._bus.publish_batch(events)
        else:
            pending.events.extend(events)


__all__ = ["PendingEvents", "PublishFailed", "RequestEvents"]
