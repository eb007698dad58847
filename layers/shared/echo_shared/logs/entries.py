"""Central application-log entries, keyed `<occurred_at RFC 3339 UTC>#<event_id>` within a tenant."""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from echo_shared.events import EventEnvelope

LOG_EVENT_PREFIX = "log."
_SORT_KEY = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


def is_log_event(event: EventEnvelope) -> bool:
    return event.type.startswith(LOG_EVENT_PREFIX)


def is_sort_key(value: str) -> bool:
    return _SORT_KEY.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class LogEntry:
    tenant: str
    event_id: str
    type: str
    actor: str
    action: str
    resource: str
    outcome: str
    occurred_at: str
    request_id: str
    data: str
    expires_at: int

    @property
    def sort_key(self) -> str:
        return f"{self.occurred_at}#{self.event_id}"

    @classmethod
    def from_event(cls, event: EventEnvelope, *, retention_days: int) -> "LogEntry":
        fields = event.ledger_fields()
        return cls(
            tenant=event.tenant,
            event_id=fields["event_id"],
            type=event.type,
            actor=event.actor,
            action=event.action,
            resource=event.resource,
            outcome=fields["outcome"],
            occurred_at=fields["occurred_at"],
            request_id=event.request_id,
            data=event.canonical_data(),
            expires_at=int((event.occurred_at + timedelta(days=retention_days)).timestamp()),
        )

    def data_object(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.data)
        except (json.JSONDecodeError, TypeError):
            return None
        return value if isinstance(value, dict) else None
