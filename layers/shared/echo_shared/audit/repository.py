"""The audit chain port, split by who needs what."""

from collections.abc import Collection, Iterator, Sequence
from typing import Final, Protocol

from echo_shared.audit.records import AuditRecord, ChainHead
from echo_shared.filters import RecordFilter

# Each record is committed with its exactly-once guard: two items, and DynamoDB allows 100 items
# in one TransactWriteItems.
MAX_RECORDS_PER_COMMIT: Final = 50


class AuditChainWriter(Protocol):
    def head(self, tenant: str) -> ChainHead | None:
        """The latest record of the tenant's chain (strongly consistent), or None if empty."""
        ...

    def chained(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` whose exactly-once guard exists (strongly consistent).

        Raises AuditStoreThrottled. A hint only: the guard condition of `commit` stays the authority.
        """
        ...

    def commit(self, records: Sequence[AuditRecord]) -> None:
        """Atomically write up to MAX_RECORDS_PER_COMMIT records of one tenant with their guards.

        All or nothing. Raises ChainConflict (nothing written; it names the event ids already
        guarded and whether a seq was taken) or AuditStoreThrottled.
        """
        ...


class AuditChainReader(Protocol):
    def records(self, tenant: str) -> Iterator[AuditRecord]:
        """Every record of the tenant in ascending seq order (strongly consistent, paginated)."""
        ...

    def records_between(self, tenant: str, from_seq: int, to_seq: int | None) -> Iterator[AuditRecord]:
        """Records with from_seq <= seq <= to_seq (no upper bound if None), ascending, strongly
        consistent, fetched lazily page by page."""
        ...

    def query(
        self, tenant: str, filters: RecordFilter, *, after_seq: int | None, newest_first: bool
    ) -> Iterator[AuditRecord]:
        """Matching records strictly after `after_seq` in the requested order, fetched lazily."""
        ...


class AuditChainRepository(AuditChainWriter, AuditChainReader, Protocol):
    pass
