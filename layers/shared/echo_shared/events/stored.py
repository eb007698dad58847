"""The envelope as the stores keep it: the fields of an event as text, `data` as canonical JSON.

Audit chain records and central log entries are both this, plus their own fields (a record's link,
an entry's expiry); one base keeps the two from drifting apart.
"""

import json
from dataclasses import dataclass
from typing import Any, Protocol

from echo_shared.events.envelope import EventEnvelope

_MAX_EXACT_INT = 2**53 - 1


def _parse_canonical_int(text: str) -> int | float:
    # Envelopes never hold integers beyond 2**53, so such a literal is a float RFC 8785 printed
    # without a fraction (1e16 -> "10000000000000000"); reading it back as float keeps the hash stable.
    value = int(text)
    return value if abs(value) <= _MAX_EXACT_INT else float(text)


class _StoredItem(Protocol):
    """A store's item holding the envelope fields as attributes (e.g. a PynamoDB model)."""

    tenant: Any
    event_id: Any
    type: Any
    actor: Any
    action: Any
    resource: Any
    outcome: Any
    occurred_at: Any
    request_id: Any
    data: Any
    producer: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEnvelope:
    tenant: str
    event_id: str
    type: str
    actor: str
    action: str
    resource: str
    outcome: str
    occurred_at: str  # RFC 3339 UTC, as hashed
    request_id: str
    data: str  # canonical JSON (RFC 8785), as hashed
    producer: str | None = None  # who published it (ADR 0016); None before it was recorded

    @staticmethod
    def fields_of(event: EventEnvelope, ledger: dict[str, Any] | None = None) -> dict[str, Any]:
        """An event's envelope fields as stored (`ledger`: its ledger_fields(), if already built)."""
        fields = event.ledger_fields() if ledger is None else ledger
        return {
            "tenant": event.tenant,
            "event_id": fields["event_id"],
            "type": event.type,
            "actor": event.actor,
            "action": event.action,
            "resource": event.resource,
            "outcome": fields["outcome"],
            "occurred_at": fields["occurred_at"],
            "request_id": event.request_id,
            "data": event.canonical_data(),
            "producer": event.producer,
        }

    @staticmethod
    def fields_from(item: _StoredItem) -> dict[str, Any]:
        """A store item's envelope fields, as read back."""
        return {
            "tenant": item.tenant,
            "event_id": item.event_id,
            "type": item.type,
            "actor": item.actor,
            "action": item.action,
            "resource": item.resource,
            "outcome": item.outcome,
            "occurred_at": item.occurred_at,
            "request_id": item.request_id,
            "data": item.data,
            "producer": item.producer,
        }

    def data_object(self) -> dict[str, Any] | None:
        """The stored data as an object, or None if the stored text is not a JSON object."""
        if not isinstance(self.data, str):
            return None
        try:
            value = json.loads(self.data, parse_int=_parse_canonical_int)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None
