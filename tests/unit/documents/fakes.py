"""In-memory adapters for the document product's ports, speaking the production formats."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

from documents.uploads import UploadForm
from echo_documents.errors import DocumentExists, DocumentNotFound, DocumentStoreUnavailable, StaleStatus
from echo_documents.objects import ObjectTooLarge
from echo_documents.records import DocumentRecord, DocumentStatus, StatusChange
from echo_shared.events import EventEnvelope

from tests.fakes.outbox import InMemoryOutbox


class InMemoryDocumentRepository:
    """The repository port's contract: a state change and its events are committed together to
    `outbox` (the documents producer's), or neither is: a lost condition raises the domain error
    and records nothing, a refused outbox write (`outbox_down`) raises DocumentStoreUnavailable and
    changes nothing."""

    def __init__(self, outbox: InMemoryOutbox | None = None) -> None:
        self.records: dict[tuple[str, str], DocumentRecord] = {}
        self.outbox = outbox if outbox is not None else InMemoryOutbox()
        self.outbox_down = False
        self.batch_reads = 0

    def create(self, record: DocumentRecord, *, events: Sequence[EventEnvelope] = ()) -> None:
        key = (record.tenant, record.document_id)
        if key in self.records:
            raise DocumentExists(f"document {record.document_id} already exists")
        self._commit(key, record, events)

    def get(self, tenant: str, document_id: str) -> DocumentRecord | None:
        return self.records.get((tenant, document_id))

    def get_many(self, tenant: str, document_ids: Collection[str]) -> dict[str, DocumentRecord]:
        self.batch_reads += 1
        return {d: self.records[(tenant, d)] for d in document_ids if (tenant, d) in self.records}

    def list(self, tenant: str) -> Iterator[DocumentRecord]:
        for (owner_tenant, _), record in sorted(self.records.items()):
            if owner_tenant == tenant:
                yield record

    def advance(
        self,
        tenant: str,
        document_id: str,
        change: StatusChange,
        now: datetime,
        *,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        record = self.records.get((tenant, document_id))
        if record is None or record.status not in change.expected:
            raise StaleStatus(f"document {document_id} is not in status {sorted(change.expected)}")
        self._commit((tenant, document_id), change.applied_to(record, now), events)

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
        record = self.records.get((tenant, document_id))
        if record is None or record.status is DocumentStatus.DELETED:
            raise DocumentNotFound(f"document {document_id} not found")
        self._commit((tenant, document_id), record.with_readers(users=users, roles=roles, now=now), events)

    def remove(self, tenant: str, document_id: str, *, events: Sequence[EventEnvelope] = ()) -> None:
        record = self.records.get((tenant, document_id))
        if record is None or record.status is not DocumentStatus.DELETED:
            raise StaleStatus(f"document {document_id} is not a deleted record")
        self._commit((tenant, document_id), None, events)

    def _commit(
        self, key: tuple[str, str], record: DocumentRecord | None, events: Sequence[EventEnvelope]
    ) -> None:
        if self.outbox_down:
            raise DocumentStoreUnavailable("documents table cannot be written (TransactionCanceledException)")
        if record is None:
            del self.records[key]
        else:
            self.records[key] = record
        self.outbox.publish_batch(events)


class InMemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        found = self.objects.get(key)
        if found is None:
            return None
        if len(found[0]) > max_bytes:
            raise ObjectTooLarge(len(found[0]))
        return found[0]

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class FakeUploadForms:
    """Records the policy each form would pin, as S3's presigned POST does."""

    def __init__(self) -> None:
        self.signed: list[dict[str, object]] = []

    def presigned_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadForm:
        self.signed.append(
            {"key": key, "content_type": content_type, "max_bytes": max_bytes, "expires_in": expires_in}
        )
        return UploadForm(
            url="http://127.0.0.1:4566/echo-test-documents",
            fields={"key": key, "Content-Type": content_type, "policy": "e30=", "x-amz-signature": "00"},
        )
