"""In-memory fake of the event bus port: records what was published, in order, and refuses the
batches SNS would refuse. It lives in tests/ so no production bundle carries it."""

from collections.abc import Sequence

from echo_shared.events import EventEnvelope, PublishFailed
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


class UnreliableEventPublisher(InMemoryEventPublisher):
    """Test fake: refuses what SNS would refuse in an outage (`down`) or per entry (`refused`),
    with PublishFailed as the SNS adapter raises it."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused: set[str] = set()
        self.calls: list[int] = []

    def publish(self, event: EventEnvelope) -> None:
        self.publish_batch([event])

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        check_batch(events)
        self.calls.append(len(events))
        if self.down:
            raise PublishFailed([str(event.event_id) for event in events], ["InternalError"] * len(events))
        failed = [str(event.event_id) for event in events if str(event.event_id) in self.refused]
        self.published.extend(event for event in events if str(event.event_id) not in self.refused)
        if failed:
            raise PublishFailed(failed, ["InternalFailure"] * len(failed))
