"""Outbox relay configuration."""

from echo_shared.settings import DeadLetterSettings, EventBusSettings, OutboxSettings


class OutboxRelaySettings(EventBusSettings, OutboxSettings, DeadLetterSettings):
    """The bus it publishes to, the outbox it deletes from, the DLQ for records that can never go."""
