"""Index a parsed document (status indexing -> ready) and purge deleted ones.

Idempotent: a redelivered `document.parsed` finds the record past `indexing` and stops; a purge
deletes what is left and succeeds when nothing is. Each record change commits with its
`document.*` event in the documents outbox (one transaction, ADR 0014): a redelivery after the
commit finds the change done and emits nothing again. A document deleted while it was being indexed
loses the segment just written (the status check after the write sees `deleted`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from echo_documents.errors import StaleStatus
from echo_documents.events import DocumentEvent, document_event
from echo_documents.layout import is_valid_document_id, parsed_key
from echo_documents.objects import ObjectStore
from echo_documents.parsed import FailureCode, InvalidParsedDocument, ParsedDocument
from echo_documents.pipeline import Stage, fail_document
from echo_documents.records import (
    DocumentRecord,
    DocumentStatus,
    Failure,
    Milestone,
    PipelineFailureCode,
    StatusChange,
)
from echo_documents.repository import DocumentRepository
from echo_retrieval.chunking import Chunk
from echo_retrieval.embedding import Embedder
from echo_retrieval.index import IndexStore
from echo_retrieval.snapshot import CompactionConflict
from echo_shared.events import EventEnvelope
from echo_shared.timeutil import Clock

ACTOR = "system:embed"
STAGE = Stage("index", DocumentStatus.INDEXING, ACTOR)


class EmbedOutcome(StrEnum):
    INDEXED = "indexed"
    FAILED = "failed"
    PURGED = "purged"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class EmbedService:
    repository: DocumentRepository
    objects: ObjectStore
    index: IndexStore
    embedder: Embedder
    chunk: Callable[[str, ParsedDocument], list[Chunk]]
    build_segment: Callable[[str, Sequence[Chunk], Any], bytes]
    compact: Callable[[IndexStore, str], int]
    max_parsed_bytes: int
    clock: Clock


def handle_event(service: EmbedService, event: EventEnvelope, *, final_attempt: bool) -> EmbedOutcome:
    document_id = event.data.get("document_id")
    if not isinstance(document_id, str) or not is_valid_document_id(document_id):
        return EmbedOutcome.IGNORED
    if event.type == DocumentEvent.PARSED.value:
        return index_document(
            service, event.tenant, document_id, event.request_id, final_attempt=final_attempt
        )
    if event.type == DocumentEvent.DELETED.value:
        object_key = event.data.get("object_key")
        return purge_document(
            service,
            event.tenant,
            document_id,
            object_key if isinstance(object_key, str) else None,
            event.request_id,
        )
    return EmbedOutcome.IGNORED


def index_document(
    service: EmbedService, tenant: str, document_id: str, request_id: str, *, final_attempt: bool
) -> EmbedOutcome:
    record = service.repository.get(tenant, document_id)
    if record is None or record.status is not DocumentStatus.INDEXING:
        return EmbedOutcome.DUPLICATE
    try:
        return _index(service, record, request_id)
    except Exception:
        # The last delivery marks the document failed instead of leaving it `indexing` forever.
        if final_attempt:
            _fail(
                service,
                record,
                PipelineFailureCode.INDEX_FAILED,
                "the document could not be indexed",
                request_id,
            )
        raise


def _index(service: EmbedService, record: DocumentRecord, request_id: str) -> EmbedOutcome:
    tenant, document_id = record.tenant, record.document_id
    data = service.objects.read(parsed_key(tenant, document_id), max_bytes=service.max_parsed_bytes)
    if data is None:
        return _fail(service, record, PipelineFailureCode.STORAGE, "the parsed text is missing", request_id)
    try:
        parsed = ParsedDocument.from_json_bytes(data)
    except InvalidParsedDocument:
        return _fail(
            service, record, PipelineFailureCode.STORAGE, "the parsed text is unreadable", request_id
        )
    chunks = service.chunk(document_id, parsed)
    if not chunks:
        return _fail(service, record, FailureCode.EMPTY, "the document holds no text to index", request_id)
    vectors = service.embedder.embed([chunk.text for chunk in chunks])
    segment = service.build_segment(document_id, chunks, vectors)
    service.index.put_segment(tenant, document_id, segment)
    _compact(service, tenant, strict=False)
    now = service.clock()
    ready = StatusChange(
        {DocumentStatus.INDEXING}, DocumentStatus.READY, milestone=Milestone.INDEXED, chunks=len(chunks)
    )
    event = document_event(
        DocumentEvent.INDEXED,
        ready.applied_to(record, now),
        actor=ACTOR,
        request_id=request_id,
        data={"segment_bytes": len(segment), "dimension": service.embedder.dimension},
        clock=service.clock,
    )
    try:
        service.repository.advance(tenant, document_id, ready, now, events=[event])
    except StaleStatus:  # deleted meanwhile: take the segment out again
        service.index.delete_segment(tenant, document_id)
        _compact(service, tenant, strict=True)
        return EmbedOutcome.DUPLICATE
    return EmbedOutcome.INDEXED


def purge_document(
    service: EmbedService, tenant: str, document_id: str, object_key: str | None, request_id: str
) -> EmbedOutcome:
    """Remove the original, the parsed text, the index segment, then the deleted record itself."""
    record = service.repository.get(tenant, document_id)
    if record is not None and record.status.is_live:
        return EmbedOutcome.IGNORED  # not deleted: a forged or stale event never purges a live document
    keys = {parsed_key(tenant, document_id)}
    if record is not None:
        keys.add(record.object_key)
    if object_key is not None and object_key.startswith(f"tenants/{tenant}/"):
        keys.add(object_key)
    for key in sorted(keys):
        service.objects.delete(key)
    service.index.delete_segment(tenant, document_id)
    _compact(service, tenant, strict=True)  # the text leaves the snapshot before the record goes
    if record is None:
        return EmbedOutcome.DUPLICATE
    event = document_event(
        DocumentEvent.PURGED,
        record,
        actor=ACTOR,
        request_id=request_id,
        data={"objects_removed": len(keys)},
        clock=service.clock,
    )
    try:
        service.repository.remove(tenant, document_id, events=[event])
    except StaleStatus:  # a concurrent delivery of the same deletion purged it and reported it
        return EmbedOutcome.DUPLICATE
    return EmbedOutcome.PURGED


def _compact(service: EmbedService, tenant: str, *, strict: bool) -> None:
    """Keep the tenant's snapshot current (echo_retrieval.snapshot). After an index write a
    conflict can wait for the next write; after a deletion it fails the message, so SQS retries."""
    try:
        service.compact(service.index, tenant)
    except CompactionConflict:
        if strict:
            raise


def _fail(
    service: EmbedService, record: DocumentRecord, code: str, message: str, request_id: str
) -> EmbedOutcome:
    failed = fail_document(service, record, Failure(str(code), message), STAGE, request_id)
    return EmbedOutcome.FAILED if failed else EmbedOutcome.DUPLICATE
