"""Outbox relay configuration."""

from echo_shared.events.producers import ProducerTopicsSettings, parse_producer_map
from echo_shared.settings import DeadLetterSettings
from pydantic import Field, field_validator


def parse_outbox_tables(text: str) -> dict[str, str]:
    """`{"<producer>": "<outbox table name>", ...}` (the OUTBOX_TABLES variable): known producers,
    no table twice (a table names one producer)."""
    return parse_producer_map(text, of="outbox tables", values="table names", shared="an outbox table")


class OutboxRelaySettings(ProducerTopicsSettings, DeadLetterSettings):
    """The topics of the producers it relays for (PRODUCER_TOPICS: identity and authz), each one's
    outbox table (OUTBOX_TABLES: a record's producer is the table its stream came from, and what
    it deletes from), the DLQ for records that can never go."""

    outbox_tables: dict[str, str] = Field(validation_alias="OUTBOX_TABLES")

    @field_validator("outbox_tables", mode="before")
    @classmethod
    def _parse_tables(cls, value: object) -> object:
        return parse_outbox_tables(value) if isinstance(value, str) else value
