"""In-memory fake of the event bus port: records what was published, in order, and refuses the
batches SNS would refuse. It lives in tests/ so no production bundle carries it."""

import json
import uuid
from collections.abc import Sequence

from echo_shared.events import EventEnvelope, PublishFailed
from echo_shared.events.producers import PLATFORM, PRODUCERS, producer_of
from echo_shared.events.publisher import check_batch

# The test deployment's topics (PRODUCER_TOPICS in tests/conftest.py); the platform's is `events`.
TOPIC_PREFIX = "arn:aws:sns:eu-west-1:123456789012:echo-test-events"
TEST_TOPICS = {p: TOPIC_PREFIX + ("" if p == PLATFORM else f"-{p}") for p in PRODUCERS}


def sns_notification(message: str, *, topic_arn: str | None = None) -> str:
    """An SQS body as SNS delivers it to a subscription without raw delivery (the audit queue):
    the envelope JSON in `Message`, the topic it came from in `TopicArn` (by default the topic of
    the producer owning the message's type)."""
    if topic_arn is None:
        topic_arn = TEST_TOPICS[producer_of(json.loads(message)["type"])]
    message_id = str(uuid.uuid4())
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": "2026-01-05T10:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{message_id}",
        }
    )


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
