"""The audit chain on DynamoDB: AUDIT_CHAIN_TABLE (tenant, seq) + AUDIT_EVENT_IDS_TABLE (event_id).

Writes only ever Put (TransactWriteItems of conditional puts, a guard and a record per event); the
ingest role has no UpdateItem/DeleteItem.
"""

from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, QueryError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from echo_shared.audit.errors import AuditError, AuditStoreThrottled, ChainConflict
from echo_shared.audit.records import AuditRecord, ChainHead
from echo_shared.audit.repository import MAX_RECORDS_PER_COMMIT
from echo_shared.dynamodb import (
    CANCELLED_CONDITION,
    THROTTLING_ERROR_CODES,
    EnvelopeAttributes,
    bind_table,
    cancellation_codes,
    is_throttling,
)
from echo_shared.filters import RecordFilter

_GUARD, _RECORD = 0, 1
_THROTTLING_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", *THROTTLING_ERROR_CODES})
_CONFLICT_REASONS = frozenset({"TransactionConflict"})
_PAGE_SIZE = 100
# Verification reads whole ranges: bigger pages mean fewer round trips (records are a few KB, a
# page stays well under DynamoDB's 1 MB).
_VERIFY_PAGE_SIZE = 500
_GUARD_PAGE = 100
_GUARD_READERS = 4


class AuditChainItem(EnvelopeAttributes, Model):
    tenant = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()
    recorded_at = UnicodeAttribute()


class AuditEventIdItem(Model):
    event_id = UnicodeAttribute(hash_key=True)
    tenant = UnicodeAttribute()
    seq = NumberAttribute()


class DynamoAuditChainRepository:
    def __init__(self, chain_table: str, event_ids_table: str) -> None:
        self._items = bind_table(AuditChainItem, chain_table)
        self._guards = bind_table(AuditEventIdItem, event_ids_table)
        self._connection = Connection()

    def head(self, tenant: str) -> ChainHead | None:
        try:
            for item in self._items.query(tenant, scan_index_forward=False, limit=1, consistent_read=True):
                return ChainHead(seq=int(item.seq), hash=item.hash)
        except QueryError as exc:
            if is_throttling(exc):
                raise AuditStoreThrottled("head query throttled") from exc
            raise
        return None

    def chained(self, event_ids: Collection[str]) -> set[str]:
        # BatchGetItem takes 100 keys; the pages are independent reads, so they run side by side.
        ids = list(event_ids)
        pages = [ids[start : start + _GUARD_PAGE] for start in range(0, len(ids), _GUARD_PAGE)]
        if len(pages) <= 1:
            return self._chained_page(ids)
        # The first page runs here: botocore clients are created on first use and creating them from
        # several threads at once in a fresh process hung the runtime (a re-initialised environment
        # whose first batch needed more than one page).
        found = self._chained_page(pages[0])
        with ThreadPoolExecutor(min(_GUARD_READERS, len(pages) - 1)) as pool:
            return found.union(*pool.map(self._chained_page, pages[1:]))

    def _chained_page(self, event_ids: list[str]) -> set[str]:
        found: set[str] = set()
        try:
            # PynamoDB re-requests unprocessed keys.
            for guard in self._guards.batch_get(
                event_ids, consistent_read=True, attributes_to_get=["event_id"]
            ):
                found.add(guard.event_id)
        except GetError as exc:
            if is_throttling(exc):
                raise AuditStoreThrottled("guard read throttled") from exc
            raise
        return found

    def commit(self, records: Sequence[AuditRecord]) -> None:
        if not 0 < len(records) <= MAX_RECORDS_PER_COMMIT:
            raise ValueError(f"a commit holds 1..{MAX_RECORDS_PER_COMMIT} records")
        try:
            with TransactWrite(connection=self._connection) as transaction:
                # Order matters: cancellation reasons come back in this order (guard, record, ...).
                for record in records:
                    transaction.save(self._guard(record), condition=self._guards.event_id.does_not_exist())
                    transaction.save(self._item(record), condition=self._items.seq.does_not_exist())
        except TransactWriteError as exc:
            classified = _classify(exc, records)
            if classified is None:
                raise
            raise classified from exc

    def _guard(self, record: AuditRecord) -> AuditEventIdItem:
        return self._guards(record.event_id, tenant=record.tenant, seq=record.seq)

    def _item(self, record: AuditRecord) -> AuditChainItem:
        return self._items(
            record.tenant,
            record.seq,
            event_id=record.event_id,
            type=record.type,
            actor=record.actor,
            action=record.action,
            resource=record.resource,
            outcome=record.outcome,
            occurred_at=record.occurred_at,
            request_id=record.request_id,
            data=record.data,
            producer=record.producer,
            prev_hash=record.prev_hash,
            hash=record.hash,
            recorded_at=record.recorded_at,
        )

    def records(self, tenant: str) -> Iterator[AuditRecord]:
        query = self._items.query(tenant, scan_index_forward=True, consistent_read=True, page_size=_PAGE_SIZE)
        yield from _read(query)

    def records_between(self, tenant: str, from_seq: int, to_seq: int | None) -> Iterator[AuditRecord]:
        seq = self._items.seq
        condition = seq >= from_seq if to_seq is None else seq.between(from_seq, to_seq)
        query = self._items.query(
            tenant,
            range_key_condition=condition,
            scan_index_forward=True,
            consistent_read=True,
            page_size=_VERIFY_PAGE_SIZE,
        )
        yield from _read(query)

    def query(
        self, tenant: str, filters: RecordFilter, *, after_seq: int | None, newest_first: bool
    ) -> Iterator[AuditRecord]:
        key_condition = None
        if after_seq is not None:
            key_condition = self._items.seq < after_seq if newest_first else self._items.seq > after_seq
        query = self._items.query(
            tenant,
            range_key_condition=key_condition,
            filter_condition=_filter_condition(self._items, filters),
            scan_index_forward=not newest_first,
            page_size=_PAGE_SIZE,
        )
        yield from _read(query)


def _read(items: Iterable[AuditChainItem]) -> Iterator[AuditRecord]:
    try:
        for item in items:
            yield _to_record(item)
    except QueryError as exc:
        if is_throttling(exc):
            raise AuditStoreThrottled("query throttled") from exc
        raise


def _classify(exc: TransactWriteError, records: Sequence[AuditRecord]) -> AuditError | None:
    if exc.cause_response_code == "TransactionCanceledException":
        reasons = cancellation_codes(exc)
        duplicates = frozenset(
            records[position // 2].event_id
            for position, code in enumerate(reasons[: 2 * len(records)])
            if position % 2 == _GUARD and code == CANCELLED_CONDITION
        )
        seq_taken = any(
            position % 2 == _RECORD and code == CANCELLED_CONDITION for position, code in enumerate(reasons)
        )
        if duplicates or seq_taken:
            return ChainConflict("transaction refused", duplicates=duplicates, seq_taken=seq_taken)
        if any(code in _THROTTLING_REASONS for code in reasons):
            return AuditStoreThrottled("transaction throttled")
        if any(code in _CONFLICT_REASONS for code in reasons):
            return ChainConflict("concurrent transaction")
    if is_throttling(exc):
        return AuditStoreThrottled("transaction throttled")
    return None


def _filter_condition(model: type[AuditChainItem], filters: RecordFilter) -> Condition | None:
    conditions: list[Condition] = []
    if filters.type is not None:
        conditions.append(model.type == filters.type)
    if filters.actor is not None:
        conditions.append(model.actor == filters.actor)
    if filters.resource is not None:
        conditions.append(model.resource == filters.resource)
    if filters.since_text is not None:
        conditions.append(model.occurred_at >= filters.since_text)
    if filters.until_text is not None:
        conditions.append(model.occurred_at < filters.until_text)
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def _to_record(item: AuditChainItem) -> AuditRecord:
    return AuditRecord(
        **AuditRecord.fields_from(item),
        seq=int(item.seq),
        prev_hash=item.prev_hash,
        hash=item.hash,
        recorded_at=item.recorded_at,
    )
