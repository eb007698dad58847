"""Outbox relay configuration."""

import json

from echo_shared.events.producers import PRODUCERS, ProducerTopicsSettings
from echo_shared.settings import DeadLetterSettings
from pydantic import Field, field_validator


def parse_outbox_tables(text: str) -> dict[str, str]:
    """`{"<producer>": "<outbox table name>", ...}` (the OUTBOX_TABLES variable): known producers,
    no table twice (a table names one producer)."""
    try:
        tables = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("outbox tables are not JSON") from None
    if not isinstance(tables, dict) or not all(isinstance(v, str) and v for v in tables.values()):
        raise ValueError("outbox tables must map producer names to table names")
    unknown = set(tables) - set(PRODUCERS)
    if unknown:
        raise ValueError(f"unknown producers: {sorted(unknown)}")
    if len(set(tables.values())) != len(tables):
        raise ValueError("two producers share an outbox table")
    return dict(tables)


class OutboxRelaySettings(ProducerTopicsSettings, DeadLetterSettings):
    """The topics of the producers it relays for (PRODUCER_TOPICS: identity and authz), each one's
    outbox table (OUTBOX_TABLES: a record's producer is the table its stream came from, and what
    it deletes from), the DLQ for records that can never go."""

    outbox_tables: dict[str, str] = Field(validation_alias="OUTBOX_TABLES")

    @field_validator("outbox_tables", mode="before")
    @classmethod
    def _parse_tables(cls, value: object) -> object:
        return parse_outbox_tables(value) if isinstance(value, str) else value
