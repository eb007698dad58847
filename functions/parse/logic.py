"""Parse one uploaded object: status uploaded -> parsing -> indexing, or failed with a code.

Idempotent per document: a redelivered notification finds the record past `parsing` and stops.
Each status change commits with its `document.*` event in the documents outbox (one transaction,
ADR 0014), so a redelivery after a commit finds the new status and emits nothing again, and a
crash before it leaves neither. Extraction failures fail that document only (status failed +
`document.failed`); storage errors raise, so the SQS record is retried and, after the redrive
limit, lands in the DLQ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from echo_documents.errors import DocumentExists, StaleStatus
from echo_documents.events import DocumentEvent, document_event
from echo_documents.layout import InvalidObjectKey, ObjectLocation, locate, parsed_key
from echo_documents.objects import ObjectStore, ObjectTooLarge
from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument
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
from echo_shared.authz import Classification
from echo_shared.events import EventEnvelope
from echo_shared.timeutil import Clock, format_rfc3339

ACTOR = "system:parse"
PARSED_CONTENT_TYPE = "application/json"
_RESTARTABLE = (DocumentStatus.UPLOADED, DocumentStatus.PARSING)
STAGE = Stage("parse", DocumentStatus.PARSING, ACTOR)


class ParseOutcome(StrEnum):
    PARSED = "parsed"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    NOT_A_DOCUMENT = "not_a_document"
    ORPHAN = "orphan"


@dataclass(frozen=True, slots=True)
class ParseService:
    repository: DocumentRepository
    objects: ObjectStore
    extract: Callable[[bytes], ParsedDocument]
    max_bytes: int
    clock: Clock


def parse_object(service: ParseService, key: str, size: int, request_id: str) -> ParseOutcome:
    try:
        location = locate(key)
    except InvalidObjectKey:
        return ParseOutcome.NOT_A_DOCUMENT
    record = _uploaded(service, location, key, size, request_id)
    if record is None:
        return ParseOutcome.ORPHAN
    if record.status not in _RESTARTABLE:
        return ParseOutcome.DUPLICATE
    tenant, document_id = record.tenant, record.document_id
    now, parsing = service.clock(), StatusChange(_RESTARTABLE, DocumentStatus.PARSING)
    try:
        service.repository.advance(tenant, document_id, parsing, now)
    except StaleStatus:
        return ParseOutcome.DUPLICATE
    record = parsing.applied_to(record, now)
    if size > service.max_bytes:
        return _fail(service, record, FailureCode.TOO_LARGE, _too_large(service.max_bytes), request_id)
    try:
        data = service.objects.read(key, max_bytes=service.max_bytes)
    except ObjectTooLarge:
        return _fail(service, record, FailureCode.TOO_LARGE, _too_large(service.max_bytes), request_id)
    if data is None:  # removed between the notification and now: the record must not stay `parsing`
        return _fail(
            service, record, PipelineFailureCode.STORAGE, "the uploaded file is no longer stored", request_id
        )
    try:
        parsed = service.extract(data)
    except ExtractionFailed as exc:
        return _fail(service, record, exc.code, exc.message, request_id)
    service.objects.write(parsed_key(tenant, document_id), parsed.to_json_bytes(), PARSED_CONTENT_TYPE)
    now = service.clock()
    indexing = StatusChange(
        {DocumentStatus.PARSING},
        DocumentStatus.INDEXING,
        milestone=Milestone.PARSED,
        media_type=parsed.media_type,
        pages=parsed.page_count,
        size_bytes=len(data),
    )
    event = document_event(
        DocumentEvent.PARSED,
        indexing.applied_to(record, now),
        actor=ACTOR,
        request_id=request_id,
        data={
            "parsed_key": parsed_key(tenant, document_id),
            "chars": parsed.char_count,
            "blocks": len(parsed.blocks),
            "language": parsed.language,
        },
        clock=service.clock,
    )
    try:
        service.repository.advance(tenant, document_id, indexing, now, events=[event])
    except StaleStatus:  # deleted while parsing: the cleanup consumer removes parsed text too
        service.objects.delete(parsed_key(tenant, document_id))
        return ParseOutcome.DUPLICATE
    return ParseOutcome.PARSED


def _uploaded(
    service: ParseService, location: ObjectLocation, key: str, size: int, request_id: str
) -> DocumentRecord | None:
    """The record in status uploaded (or later); None when the object belongs to no live document."""
    record = service.repository.get(location.tenant, location.document_id)
    if location.dropped:
        return _dropped(service, location, record, key, size, request_id)
    if record is None:
        service.objects.delete(key)  # an original with no record: never announced, or purged
        return None
    if record.status is DocumentStatus.DELETED or record.object_key != key:
        return None
    if record.status is not DocumentStatus.AWAITING_UPLOAD:
        return record
    try:
        return _advance_to_uploaded(service, record, size, request_id)
    except StaleStatus:  # another delivery announced it first
        return service.repository.get(location.tenant, location.document_id)


def _dropped(
    service: ParseService,
    location: ObjectLocation,
    record: DocumentRecord | None,
    key: str,
    size: int,
    request_id: str,
) -> DocumentRecord | None:
    """Plain drops create their record; the same drop key written again replaces the document."""
    if record is None:
        created = _create_dropped(service, location, key, size, request_id)
        if created is None:  # a concurrent delivery created (and announced) it
            return service.repository.get(location.tenant, location.document_id)
        return created
    if record.status is DocumentStatus.DELETED:
        return None
    if record.status in (DocumentStatus.READY, DocumentStatus.FAILED):
        return _advance_to_uploaded(service, record, size, request_id)
    return record


def _advance_to_uploaded(
    service: ParseService, record: DocumentRecord, size: int, request_id: str
) -> DocumentRecord:
    """Status uploaded, with its `document.uploaded` (one transaction)."""
    now = service.clock()
    change = StatusChange(
        {record.status}, DocumentStatus.UPLOADED, milestone=Milestone.UPLOADED, size_bytes=size
    )
    uploaded = change.applied_to(record, now)
    service.repository.advance(
        record.tenant, record.document_id, change, now, events=[_upload_event(service, uploaded, request_id)]
    )
    return uploaded


def _create_dropped(
    service: ParseService, location: ObjectLocation, key: str, size: int, request_id: str
) -> DocumentRecord | None:
    now = service.clock()
    record = DocumentRecord(
        tenant=location.tenant,
        document_id=location.document_id,
        owner=location.owner,
        filename=location.filename,
        object_key=key,
        status=DocumentStatus.UPLOADED,
        classification=Classification.INTERNAL,
        created_at=now,
        updated_at=now,
        size_bytes=size,
        timings={Milestone.UPLOADED.value: format_rfc3339(now)},
        dropped=True,
    )
    try:
        service.repository.create(record, events=[_upload_event(service, record, request_id)])
    except DocumentExists:
        return None
    return record


def _upload_event(service: ParseService, record: DocumentRecord, request_id: str) -> EventEnvelope:
    return document_event(
        DocumentEvent.UPLOADED,
        record,
        actor=f"user:{record.owner}",
        request_id=request_id,
        data={"via": "drop" if record.dropped else "upload_form"},
        clock=service.clock,
    )


def _fail(
    service: ParseService, record: DocumentRecord, code: str, message: str, request_id: str
) -> ParseOutcome:
    failed = fail_document(service, record, Failure(str(code), message), STAGE, request_id)
    return ParseOutcome.FAILED if failed else ParseOutcome.DUPLICATE


def _too_large(max_bytes: int) -> str:
    return f"the file is larger than the {max_bytes // (1024 * 1024)} MB limit"
