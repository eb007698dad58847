"""Read filters shared by the audit trail and the log store."""

from dataclasses import dataclass
from datetime import datetime

from echo_shared.timeutil import format_rfc3339


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Exact-match filters plus a time window on `occurred_at`: `since` inclusive, `until` exclusive."""

    type: str | None = None
    actor: str | None = None
    resource: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def since_text(self) -> str | None:
        return None if self.since is None else format_rfc3339(self.since)

    @property
    def until_text(self) -> str | None:
        return None if self.until is None else format_rfc3339(self.until)

    def matches(self, *, type: str, actor: str, resource: str, occurred_at: str) -> bool:
        """Reference semantics (used by the in-memory fakes); stored timestamps are fixed-width UTC."""
        since, until = self.since_text, self.until_text
        return (
            (self.type is None or self.type == type)
            and (self.actor is None or self.actor == actor)
            and (self.resource is None or self.resource == resource)
            and (since is None or occurred_at >= since)
            and (until is None or occurred_at < until)
        )
