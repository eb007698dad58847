"""A chained audit record, stored exactly as it was hashed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from echo_shared.audit.hashing import record_hash
from echo_shared.events import EventEnvelope
from echo_shared.events.stored import StoredEnvelope
from echo_shared.timeutil import format_rfc3339


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord(StoredEnvelope):
    """One link of a tenant's chain: the stored envelope, its place and its hashes."""

    seq: int
    prev_hash: str
    hash: str
    recorded_at: str

    @classmethod
    def link(cls, event: EventEnvelope, *, seq: int, prev_hash: str, recorded_at: datetime) -> "AuditRecord":
        fields = event.ledger_fields()
        return cls(
            **cls.fields_of(event, fields),
            seq=seq,
            prev_hash=prev_hash,
            hash=record_hash(fields, seq=seq, prev_hash=prev_hash),
            recorded_at=format_rfc3339(recorded_at),
        )

    def ledger_fields(self) -> dict[str, Any]:
        """The hashed fields as stored; raises ValueError if `data` is no longer a JSON object."""
        data = self.data_object()
        if data is None:
            raise ValueError("stored data is not a JSON object")
        fields: dict[str, Any] = {
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
        if self.producer is not None:
            fields["producer"] = self.producer
        return fields

    def recomputed_hash(self) -> str:
        return record_hash(self.ledger_fields(), seq=self.seq, prev_hash=self.prev_hash)
