"""Central application-log entries, keyed `<occurred_at RFC 3339 UTC>#<event_id>` within a tenant."""

import re
from dataclasses import dataclass
from datetime import timedelta

from echo_shared.events import EventEnvelope
from echo_shared.events.stored import StoredEnvelope

LOG_EVENT_PREFIX = "log."
_SORT_KEY = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


def is_log_event(event: EventEnvelope) -> bool:
    return event.type.startswith(LOG_EVENT_PREFIX)


def is_sort_key(value: str) -> bool:
    return _SORT_KEY.fullmatch(value) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry(StoredEnvelope):
    """The stored envelope, kept until `expires_at` (epoch seconds, the table's TTL)."""

    expires_at: int

    @property
    def sort_key(self) -> str:
        return f"{self.occurred_at}#{self.event_id}"

    @classmethod
    def from_event(cls, event: EventEnvelope, *, retention_days: int) -> "LogEntry":
        return cls(
            **cls.fields_of(event),
            expires_at=int((event.occurred_at + timedelta(days=retention_days)).timestamp()),
        )
