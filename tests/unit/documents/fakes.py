"""In-memory adapters for the document product's ports, speaking the production formats."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from datetime import datetime

from documents.uploads import UploadForm
from echo_documents.errors import DocumentExists, DocumentNotFound, StaleStatus
from echo_documents.objects import ObjectTooLarge
from echo_documents.records import DocumentRecord, DocumentStatus, StatusChange
from echo_shared.timeutil import format_rfc3339


class InMemoryDocumentRepository:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DocumentRecord] = {}
        self.batch_reads = 0

    def create(self, record: DocumentRecord) -> None:
        key = (record.tenant, record.document_id)
        if key in self.records:
            raise DocumentExists(f"document {record.document_id} already exists")
        self.records[key] = record

    def get(self, tenant: str, document_id: str) -> DocumentRecord | None:
        return self.records.get((tenant, document_id))

    def get_many(self, tenant: str, document_ids: Collection[str]) -> dict[str, DocumentRecord]:
        self.batch_reads += 1
        return {d: self.records[(tenant, d)] for d in document_ids if (tenant, d) in self.records}

    def list(self, tenant: str) -> Iterator[DocumentRecord]:
        for (owner_tenant, _), record in sorted(self.records.items()):
            if owner_tenant == tenant:
                yield record

    def advance(self, tenant: str, document_id: str, change: StatusChange, now: datetime) -> DocumentRecord:
        record = self.records.get((tenant, document_id))
        if record is None or record.status not in change.expected:
            raise StaleStatus(f"document {document_id} is not in status {sorted(change.expected)}")
        facts = {f.name: getattr(change, f.name) for f in dataclasses.fields(change)}
        changes: dict[str, object] = {
            k: v for k, v in facts.items() if v is not None and k not in ("milestone", "expected")
        }
        changes["updated_at"] = now
        if change.milestone is not None:
            changes["timings"] = {**record.timings, change.milestone.value: format_rfc3339(now)}
        updated = dataclasses.replace(record, **changes)  # type: ignore[arg-type]
        self.records[(tenant, document_id)] = updated
        return updated

    def share(
        self, tenant: str, document_id: str, *, users: Collection[str], roles: Collection[str], now: datetime
    ) -> DocumentRecord:
        record = self.records.get((tenant, document_id))
        if record is None or record.status is DocumentStatus.DELETED:
            raise DocumentNotFound(f"document {document_id} not found")
        updated = dataclasses.replace(
            record,
            shared_with_users=record.shared_with_users | set(users),
            shared_with_roles=record.shared_with_roles | set(roles),
            updated_at=now,
        )
        self.records[(tenant, document_id)] = updated
        return updated

    def remove(self, tenant: str, document_id: str) -> None:
        self.records.pop((tenant, document_id), None)


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
