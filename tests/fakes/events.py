"""In-memory fake of the event bus port: records what was published, in order, and refuses the
batches SNS would refuse. It lives in tests/ so no production bundle carries it."""

from collections.abc import Sequence

from echo_shared.events import EventEnvelope
from echo_shared.events.publisher import check_batch


class InMemoryEventPublisher:
    """Test fake: records what was published, in order."""

    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []

    def publish(self, event: EventEnvelope) -> None:
        self.published.append(event)

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        check_batch(events)
        self.published.extend(events)
