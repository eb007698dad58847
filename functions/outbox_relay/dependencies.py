"""Settings and adapters for the outbox relay, built once per process on first use."""

from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.events import SnsEventPublisher
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.lazy import cached_resource

from outbox_relay.logic import RelayDependencies
from outbox_relay.settings import OutboxRelaySettings


@cached_resource
def get_settings() -> OutboxRelaySettings:
    return OutboxRelaySettings.from_env()


@cached_resource
def get_dependencies() -> RelayDependencies:
    settings = get_settings()
    return RelayDependencies(
        buses={
            producer: SnsEventPublisher(topic_arn) for producer, topic_arn in settings.producer_topics.items()
        },
        tables=settings.outbox_tables,
        outboxes={producer: DynamoOutbox(table) for producer, table in settings.outbox_tables.items()},
        dead_letters=SqsDeadLetterSink(settings.dead_letter_queue_url),
    )
