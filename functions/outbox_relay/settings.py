"""Outbox relay configuration."""

from echo_shared.events.producers import ProducerTopicsSettings
from echo_shared.settings import DeadLetterSettings, OutboxSettings


class OutboxRelaySettings(ProducerTopicsSettings, OutboxSettings, DeadLetterSettings):
    """The topics of the producers it relays for (PRODUCER_TOPICS: identity and authz), the
    outbox it deletes from, the DLQ for records that can never go."""
