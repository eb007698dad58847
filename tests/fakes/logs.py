"""The in-memory fake of the log store port (tests only)."""

from collections.abc import Iterator

from echo_shared.filters import RecordFilter
from echo_shared.logs.entries import LogEntry


class InMemoryLogRepository:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], LogEntry] = {}

    def put_if_absent(self, entry: LogEntry) -> bool:
        key = (entry.tenant, entry.sort_key)
        if key in self._entries:
            return False
        self._entries[key] = entry
        return True

    def query(
        self, tenant: str, filters: RecordFilter, *, after_sort_key: str | None, newest_first: bool
    ) -> Iterator[LogEntry]:
        keys = sorted((sk for (t, sk) in self._entries if t == tenant), reverse=newest_first)
        for sort_key in keys:
            if after_sort_key is not None and (
                sort_key >= after_sort_key if newest_first else sort_key <= after_sort_key
            ):
                continue
            entry = self._entries[(tenant, sort_key)]
            if filters.matches(
                type=entry.type, actor=entry.actor, resource=entry.resource, occurred_at=entry.occurred_at
            ):
                yield entry

    def stored(self) -> list[LogEntry]:
        return [self._entries[key] for key in sorted(self._entries)]
