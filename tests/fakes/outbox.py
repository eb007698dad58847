"""In-memory fake of the outbox: what was committed (standalone or with a state change), in
order, and what the relay deleted."""

from collections.abc import Sequence

from echo_shared.events.outbox import OutboxKey, OutboxUnavailable

from tests.fakes.events import InMemoryEventPublisher


class InMemoryOutbox(InMemoryEventPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[OutboxKey] = []
        self.failing_deletes = False

    def delete(self, keys: Sequence[OutboxKey]) -> None:
        if self.failing_deletes:
            raise OutboxUnavailable("outbox delete failed (InternalServerError)")
        self.deleted.extend(keys)
