"""A chained audit record, stored exactly as it was hashed."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from echo_shared.audit.hashing import record_hash
from echo_shared.events import EventEnvelope
from echo_shared.timeutil import format_rfc3339

_MAX_EXACT_INT = 2**53 - 1


def _parse_canonical_int(text: str) -> int | float:
    # Envelopes never hold integers beyond 2**53, so such a literal is a float RFC 8785 printed
    # without a fraction (1e16 -> "10000000000000000"); reading it back as float keeps the hash stable.
    value = int(text)
    return value if abs(value) <= _MAX_EXACT_INT else float(text)


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One link of a tenant's chain. `occurred_at` is RFC 3339 UTC; `data` is canonical JSON text."""

    tenant: str
    seq: int
    event_id: str
    type: str
    actor: str
    action: str
    resource: str
    outcome: str
    occurred_at: str
    request_id: str
    data: str
    prev_hash: str
    hash: str
    recorded_at: str

    @classmethod
    def link(cls, event: EventEnvelope, *, seq: int, prev_hash: str, recorded_at: datetime) -> "AuditRecord":
        fields = event.ledger_fields()
        return cls(
            tenant=event.tenant,
            seq=seq,
            event_id=fields["event_id"],
            type=event.type,
            actor=event.actor,
            action=event.action,
            resource=event.resource,
            outcome=fields["outcome"],
            occurred_at=fields["occurred_at"],
            request_id=event.request_id,
            data=event.canonical_data(),
            prev_hash=prev_hash,
            hash=record_hash(fields, seq=seq, prev_hash=prev_hash),
            recorded_at=format_rfc3339(recorded_at),
        )

    def data_object(self) -> dict[str, Any] | None:
        """The stored data as an object, or None if the stored text is not a JSON object."""
        if not isinstance(self.data, str):
            return None
        try:
            value = json.loads(self.data, parse_int=_parse_canonical_int)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def ledger_fields(self) -> dict[str, Any]:
        """The hashed fields as stored; raises ValueError if `data` is no longer a JSON object."""
        data = self.data_object()
        if data is None:
            raise ValueError("stored data is not a JSON object")
        return {
            "event_id": self.event_id,
            "type": self.type,
            "tenant": self.tenant,
            "actor": self.actor,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome,
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "data": data,
        }

    def recomputed_hash(self) -> str:
        return record_hash(self.ledger_fields(), seq=self.seq, prev_hash=self.prev_hash)
