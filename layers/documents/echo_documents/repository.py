"""The document repository port and its DynamoDB adapter (PynamoDB, the documents table)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from echo_shared.authz import Classification
from echo_shared.dynamodb import CANCELLED_CONDITION, bind_table, cancellation_codes, outbox_for
from echo_shared.events import EventEnvelope
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.timeutil import format_rfc3339, parse_rfc3339
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from echo_documents.errors import (
    DocumentError,
    DocumentExists,
    DocumentNotFound,
    DocumentStoreUnavailable,
    StaleStatus,
)
from echo_documents.records import DocumentRecord, DocumentStatus, Failure, Milestone, StatusChange

_PAGE_SIZE = 200
# Where the record's write sits among a transaction's items: PynamoDB sends condition checks,
# deletes, puts, then updates, and the record is written before its events are added, so a put or
# delete of the record comes first and an update of it last.
_FIRST, _LAST = 0, -1


class DocumentRepository(Protocol):
    """Every state change commits with its `events` (the outbox, ADR 0014) in one transaction: both
    are stored or neither is. A change whose condition fails writes no event."""

    def create(self, record: DocumentRecord, *, events: Sequence[EventEnvelope] = ()) -> None:
        """Raises DocumentExists if the id is taken."""
        ...

    def get(self, tenant: str, document_id: str) -> DocumentRecord | None: ...

    def list(self, tenant: str) -> Iterator[DocumentRecord]:
        """Every record of the tenant (deleted ones included), in document_id order."""
        ...

    def get_many(self, tenant: str, document_ids: Collection[str]) -> dict[str, DocumentRecord]:
        """The records that exist among `document_ids`, each read consistently (one batch read)."""
        ...

    def advance(
        self,
        tenant: str,
        document_id: str,
        change: StatusChange,
        now: datetime,
        *,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        """Apply the change if the status is one of its `expected`; raises StaleStatus otherwise.
        The record it leaves is `change.applied_to(record, now)`."""
        ...

    def share(
        self,
        tenant: str,
        document_id: str,
        *,
        users: Collection[str],
        roles: Collection[str],
        now: datetime,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        """Add readers to a live document; raises DocumentNotFound if it is absent or deleted."""
        ...

    def remove(self, tenant: str, document_id: str, *, events: Sequence[EventEnvelope] = ()) -> None:
        """Forget a deleted record (the purge); raises StaleStatus if no deleted record is there (a
        concurrent purge took it, or it is live), so only one purge reports it."""
        ...


class DocumentItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    document_id = UnicodeAttribute(range_key=True)
    # Read by the authz entity provider (echo_shared.authz.dynamodb.DocumentMetadataItem).
    owner = UnicodeAttribute()
    classification = UnicodeAttribute()
    shared_with_users = UnicodeSetAttribute(null=True)
    shared_with_roles = UnicodeSetAttribute(null=True)
    filename = UnicodeAttribute()
    object_key = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    declared_type = UnicodeAttribute(null=True)
    media_type = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True)
    pages = NumberAttribute(null=True)
    chunks = NumberAttribute(null=True)
    uploaded_at = UnicodeAttribute(null=True)
    parsed_at = UnicodeAttribute(null=True)
    indexed_at = UnicodeAttribute(null=True)
    failure_code = UnicodeAttribute(null=True)
    failure_message = UnicodeAttribute(null=True)
    dropped = BooleanAttribute(default=False)


_MILESTONE_ATTRIBUTE = {
    Milestone.UPLOADED: DocumentItem.uploaded_at,
    Milestone.PARSED: DocumentItem.parsed_at,
    Milestone.INDEXED: DocumentItem.indexed_at,
}


def to_record(item: DocumentItem) -> DocumentRecord:
    timings = {
        milestone.value: value
        for milestone, value in (
            (Milestone.UPLOADED, item.uploaded_at),
            (Milestone.PARSED, item.parsed_at),
            (Milestone.INDEXED, item.indexed_at),
        )
        if value
    }
    failure = Failure(item.failure_code, item.failure_message or "") if item.failure_code else None
    return DocumentRecord(
        tenant=item.tenant,
        document_id=item.document_id,
        owner=item.owner,
        filename=item.filename,
        object_key=item.object_key,
        status=DocumentStatus(item.status),
        classification=Classification(item.classification),
        created_at=parse_rfc3339(item.created_at),
        updated_at=parse_rfc3339(item.updated_at),
        declared_type=item.declared_type,
        media_type=item.media_type,
        size_bytes=int(item.size_bytes) if item.size_bytes is not None else None,
        pages=int(item.pages) if item.pages is not None else None,
        chunks=int(item.chunks) if item.chunks is not None else None,
        shared_with_users=frozenset(item.shared_with_users or ()),
        shared_with_roles=frozenset(item.shared_with_roles or ()),
        timings=timings,
        failure=failure,
        dropped=bool(item.dropped),
    )


class DynamoDocumentRepository:
    """The documents table; state changes and their events go in one TransactWriteItems with the
    documents producer's outbox (`outbox`; readers such as the query function need none)."""

    def __init__(self, table_name: str, *, outbox: DynamoOutbox | None = None) -> None:
        self._items = bind_table(DocumentItem, table_name)
        self._outbox = outbox
        self._connection = Connection()

    def create(self, record: DocumentRecord, *, events: Sequence[EventEnvelope] = ()) -> None:
        item = self._items(
            record.tenant,
            record.document_id,
            owner=record.owner,
            classification=record.classification.value,
            shared_with_users=set(record.shared_with_users) or None,
            shared_with_roles=set(record.shared_with_roles) or None,
            filename=record.filename,
            object_key=record.object_key,
            status=record.status.value,
            created_at=format_rfc3339(record.created_at),
            updated_at=format_rfc3339(record.updated_at),
            declared_type=record.declared_type,
            size_bytes=record.size_bytes,
            uploaded_at=record.timings.get(Milestone.UPLOADED.value),
            dropped=record.dropped,
        )
        self._commit(
            lambda transaction: transaction.save(item, condition=self._items.document_id.does_not_exist()),
            events,
            record_at=_FIRST,
            refused=DocumentExists(f"document {record.document_id} already exists"),
        )

    def get(self, tenant: str, document_id: str) -> DocumentRecord | None:
        try:
            return to_record(self._items.get(tenant, document_id, consistent_read=True))
        except self._items.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise DocumentStoreUnavailable("documents table cannot be read") from exc

    def get_many(self, tenant: str, document_ids: Collection[str]) -> dict[str, DocumentRecord]:
        keys = [(tenant, d) for d in dict.fromkeys(document_ids)]
        try:
            return {
                item.document_id: to_record(item)
                for item in self._items.batch_get(keys, consistent_read=True)
            }
        except PynamoDBException as exc:
            raise DocumentStoreUnavailable("documents table cannot be read") from exc

    def list(self, tenant: str) -> Iterator[DocumentRecord]:
        try:
            for item in self._items.query(tenant, page_size=_PAGE_SIZE):
                yield to_record(item)
        except PynamoDBException as exc:
            raise DocumentStoreUnavailable("documents table cannot be read") from exc

    def advance(
        self,
        tenant: str,
        document_id: str,
        change: StatusChange,
        now: datetime,
        *,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        model = self._items
        stamp = format_rfc3339(now)
        actions: list[Any] = [model.status.set(change.status.value), model.updated_at.set(stamp)]
        if change.milestone is not None:
            actions.append(_MILESTONE_ATTRIBUTE[change.milestone].set(stamp))
        if change.media_type is not None:
            actions.append(model.media_type.set(change.media_type))
        for attribute, number in (
            (model.size_bytes, change.size_bytes),
            (model.pages, change.pages),
            (model.chunks, change.chunks),
        ):
            if number is not None:
                actions.append(attribute.set(number))
        if change.failure is not None:
            actions += [
                model.failure_code.set(change.failure.code),
                model.failure_message.set(change.failure.message),
            ]
        condition = model.document_id.exists() & model.status.is_in(*[s.value for s in change.expected])
        item = model(tenant, document_id)
        self._commit(
            lambda transaction: transaction.update(item, actions=actions, condition=condition),
            events,
            record_at=_LAST,
            refused=StaleStatus(f"document {document_id} is not in status {sorted(change.expected)}"),
        )

    def share(
        self,
        tenant: str,
        document_id: str,
        *,
        users: Collection[str],
        roles: Collection[str],
        now: datetime,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        model = self._items
        actions: list[Any] = [model.updated_at.set(format_rfc3339(now))]
        if users:
            actions.append(model.shared_with_users.add(set(users)))
        if roles:
            actions.append(model.shared_with_roles.add(set(roles)))
        condition = model.document_id.exists() & (model.status != DocumentStatus.DELETED.value)
        item = model(tenant, document_id)
        self._commit(
            lambda transaction: transaction.update(item, actions=actions, condition=condition),
            events,
            record_at=_LAST,
            refused=DocumentNotFound(f"document {document_id} not found"),
        )

    def remove(self, tenant: str, document_id: str, *, events: Sequence[EventEnvelope] = ()) -> None:
        model = self._items
        condition = model.document_id.exists() & (model.status == DocumentStatus.DELETED.value)
        item = model(tenant, document_id)
        self._commit(
            lambda transaction: transaction.delete(item, condition=condition),
            events,
            record_at=_FIRST,
            refused=StaleStatus(f"document {document_id} is not a deleted record"),
        )

    def _commit(
        self,
        write_record: Callable[[TransactWrite], None],
        events: Sequence[EventEnvelope],
        *,
        record_at: int,
        refused: DocumentError,
    ) -> None:
        """One TransactWriteItems: the record's write and its events' outbox rows. Only the
        record's own condition failing is `refused` (a domain outcome); anything else, an outbox
        row refused included, is DocumentStoreUnavailable and nothing was written."""
        outbox = outbox_for(self._outbox, events)
        try:
            with TransactWrite(connection=self._connection) as transaction:
                write_record(transaction)
                if outbox is not None:
                    outbox.add_to(transaction, events)
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[record_at] == CANCELLED_CONDITION:
                raise refused from None
            raise DocumentStoreUnavailable(
                f"documents table cannot be written ({exc.cause_response_code})"
            ) from exc
