"""The log store port (its in-memory fake is in tests/fakes/logs.py)."""

from collections.abc import Iterator
from typing import Protocol

from echo_shared.filters import RecordFilter
from echo_shared.logs.entries import LogEntry


class LogRepository(Protocol):
    def put_if_absent(self, entry: LogEntry) -> bool:
        """Store the entry unless its key exists; True if written, False for a duplicate."""
        ...

    def query(
        self, tenant: str, filters: RecordFilter, *, after_sort_key: str | None, newest_first: bool
    ) -> Iterator[LogEntry]:
        """Matching entries strictly after `after_sort_key` in the requested order, fetched lazily."""
        ...
