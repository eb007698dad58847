"""The audit chain port (split by who needs what) and its in-memory fake."""

from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

from echo_shared.audit.errors import ChainConflict, DuplicateEvent
from echo_shared.audit.records import AuditRecord, ChainHead
from echo_shared.filters import RecordFilter


class AuditChainWriter(Protocol):
    def head(self, tenant: str) -> ChainHead | None:
        """The latest record of the tenant's chain (strongly consistent), or None if empty."""
        ...

    def commit(self, record: AuditRecord) -> None:
        """Atomically write the exactly-once guard and the record.

        Raises DuplicateEvent (guard exists: nothing written), ChainConflict (seq taken or a
        concurrent transaction: nothing written) or AuditStoreThrottled.
        """
        ...


class AuditChainReader(Protocol):
    def records(self, tenant: str) -> Iterator[AuditRecord]:
        """Every record of the tenant in ascending seq order (strongly consistent, paginated)."""
        ...

    def query(
        self, tenant: str, filters: RecordFilter, *, after_seq: int | None, newest_first: bool
    ) -> Iterator[AuditRecord]:
        """Matching records strictly after `after_seq` in the requested order, fetched lazily."""
        ...


class AuditChainRepository(AuditChainWriter, AuditChainReader, Protocol):
    pass


class InMemoryAuditChainRepository:
    """Test fake with the same conflict semantics as the DynamoDB adapter, plus tamper helpers."""

    def __init__(self) -> None:
        self._chains: dict[str, dict[int, AuditRecord]] = {}
        self._guards: dict[str, tuple[str, int]] = {}

    def head(self, tenant: str) -> ChainHead | None:
        chain = self._chains.get(tenant)
        if not chain:
            return None
        latest = chain[max(chain)]
        return ChainHead(seq=latest.seq, hash=latest.hash)

    def commit(self, record: AuditRecord) -> None:
        if record.event_id in self._guards:
            raise DuplicateEvent(record.event_id)
        chain = self._chains.setdefault(record.tenant, {})
        if record.seq in chain:
            raise ChainConflict(f"seq {record.seq} taken")
        self._guards[record.event_id] = (record.tenant, record.seq)
        chain[record.seq] = record

    def records(self, tenant: str) -> Iterator[AuditRecord]:
        chain = self._chains.get(tenant, {})
        yield from (chain[seq] for seq in sorted(chain))

    def query(
        self, tenant: str, filters: RecordFilter, *, after_seq: int | None, newest_first: bool
    ) -> Iterator[AuditRecord]:
        chain = self._chains.get(tenant, {})
        for seq in sorted(chain, reverse=newest_first):
            if after_seq is not None and (seq >= after_seq if newest_first else seq <= after_seq):
                continue
            record = chain[seq]
            if filters.matches(
                type=record.type, actor=record.actor, resource=record.resource, occurred_at=record.occurred_at
            ):
                yield record

    def stored(self, tenant: str) -> list[AuditRecord]:
        return list(self.records(tenant))

    def guarded_event_ids(self) -> set[str]:
        return set(self._guards)

    def tamper_overwrite(self, record: AuditRecord) -> None:
        self._chains.setdefault(record.tenant, {})[record.seq] = record

    def tamper_delete(self, tenant: str, seq: int) -> None:
        del self._chains[tenant][seq]

    def tamper_move(self, record: AuditRecord, *, to_seq: int) -> None:
        """Store `record`'s contents under another seq (keeping its stored hash and prev_hash)."""
        self._chains[record.tenant][to_seq] = replace(record, seq=to_seq)
