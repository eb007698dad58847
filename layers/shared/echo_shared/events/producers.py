"""Who may say what (ADR 0016): every event type belongs to one producer's namespace, and a
decision belongs to its decider.

Each producer publishes on its own SNS topic, whose policy names its only publishers; the audit
ingest learns the producer from the topic SNS delivered the event on (`TopicArn`, set by SNS) and
refuses a type that producer may not say (`may_say`: its namespace, or `authz.decision` if it
decides in-process). This table is the one place the namespaces are written down; the stack builds
one topic per key and the ingest checks against the same table.
"""

import json
from collections.abc import Mapping

from pydantic import Field, field_validator

from echo_shared.events.envelope import EventEnvelope
from echo_shared.events.namespaces import (
    AUDIT,
    AUTHZ,
    DECIDERS,
    DECISION_TYPES,
    DOCUMENTS,
    IDENTITY,
    NAMESPACES,
    PLATFORM,
    UnknownProducer,
    may_say,
    producer_of,
)
from echo_shared.events.parsing import Delivery, InvalidEvent
from echo_shared.settings import EnvSettings

__all__ = [
    "AUDIT",
    "AUTHZ",
    "DECIDERS",
    "DECISION_TYPES",
    "DOCUMENTS",
    "IDENTITY",
    "NAMESPACES",
    "PLATFORM",
    "PRODUCERS",
    "ForeignEvent",
    "ProducerTopicsSettings",
    "TopicProducers",
    "UnknownProducer",
    "attribute",
    "may_publish",
    "may_say",
    "parse_producer_map",
    "parse_producer_topics",
    "producer_of",
]

PRODUCERS = tuple(NAMESPACES)


class ForeignEvent(InvalidEvent):
    """A delivery whose producer may not say what it says (or cannot be told): never chained.
    The reason names the producer and the type's prefix, never the payload."""


def may_publish(producer: str, event: EventEnvelope) -> bool:
    return may_say(producer, event.type)


def parse_producer_map(text: str, *, of: str, values: str, shared: str) -> dict[str, str]:
    """`{"<producer>": "<name>", ...}` from an environment variable the stack sets: known producers
    only, each value non-empty and named by one producer. `of`, `values` and `shared` word the
    errors (e.g. "producer topics", "topic ARNs", "a topic")."""
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{of} are not JSON") from None
    if not isinstance(found, dict) or not all(isinstance(v, str) and v for v in found.values()):
        raise ValueError(f"{of} must map producer names to {values}")
    unknown = set(found) - set(PRODUCERS)
    if unknown:
        raise ValueError(f"unknown producers: {sorted(unknown)}")
    if len(set(found.values())) != len(found):
        raise ValueError(f"two producers share {shared}")
    return dict(found)


def parse_producer_topics(text: str) -> dict[str, str]:
    """`{"<producer>": "<topic arn>", ...}` (the PRODUCER_TOPICS variable): every producer once,
    no topic twice."""
    return parse_producer_map(text, of="producer topics", values="topic ARNs", shared="a topic")


class TopicProducers:
    """TopicArn -> producer, for the topics this deployment built (anything else is no producer)."""

    def __init__(self, topics: Mapping[str, str]) -> None:
        self._by_arn = {arn: producer for producer, arn in topics.items()}

    def producer(self, topic_arn: str | None) -> str | None:
        return self._by_arn.get(topic_arn) if topic_arn else None


def attribute(delivery: Delivery, producers: TopicProducers) -> EventEnvelope:
    """The delivered event stamped with its producer (from the topic SNS delivered it on), or
    ForeignEvent: not an SNS delivery, not one of our topics, a type the producer may not say
    (outside its namespace, and not a decision of a decider), or an envelope claiming another
    producer."""
    producer = producers.producer(delivery.topic_arn)
    if delivery.topic_arn is None:
        raise ForeignEvent("not an SNS notification from a topic: the producer cannot be told")
    if producer is None:
        raise ForeignEvent("delivered from a topic that is no producer's")
    event = delivery.event
    if not may_publish(producer, event):
        prefix = event.type.split(".", 1)[0]
        raise ForeignEvent(f"type {prefix}.* is outside the {producer} producer's namespace")
    if event.producer is not None and event.producer != producer:
        raise ForeignEvent(f"envelope claims another producer than {producer}")
    return event.from_producer(producer)


class ProducerTopicsSettings(EnvSettings):
    """PRODUCER_TOPICS: `{"<producer>": "<topic arn>"}` of this deployment (the stack sets it)."""

    producer_topics: dict[str, str] = Field(validation_alias="PRODUCER_TOPICS")

    @field_validator("producer_topics", mode="before")
    @classmethod
    def _parse_topics(cls, value: object) -> object:
        return parse_producer_topics(value) if isinstance(value, str) else value
