"""Parse one uploaded object: status uploaded -> parsing -> indexing, or failed with a code.

Idempotent per document: a redelivered notification finds the record past `parsing` and stops.
Extraction failures fail that document only (status failed + `document.failed`); storage or bus
errors raise, so the SQS record is retried and, after the redrive limit, lands in the DLQ.
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
from echo_shared.events import EventPublisher
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
    publisher: EventPublisher
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
    try:
        record = service.repository.advance(
            tenant,
            document_id,
            StatusChange(_RESTARTABLE, DocumentStatus.PARSING),
            service.clock(),
        )
    except StaleStatus:
        return ParseOutcome.DUPLICATE
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
    try:
        record = service.repository.advance(
            tenant,
            document_id,
            StatusChange(
                {DocumentStatus.PARSING},
                DocumentStatus.INDEXING,
                milestone=Milestone.PARSED,
                media_type=parsed.media_type,
                pages=parsed.page_count,
                size_bytes=len(data),
            ),
            service.clock(),
        )
    except StaleStatus:  # deleted while parsing: the cleanup consumer removes parsed text too
        service.objects.delete(parsed_key(tenant, document_id))
        return ParseOutcome.DUPLICATE
    service.publisher.publish(
        document_event(
            DocumentEvent.PARSED,
            record,
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
    )
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
        record = _advance_to_uploaded(service, record, size)
    except StaleStatus:
        return service.repository.get(location.tenant, location.document_id)
    _announce_upload(service, record, request_id)
    return record


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
        created = _create_dropped(service, location, key, size)
        if created is None:  # a concurrent delivery created it
            return service.repository.get(location.tenant, location.document_id)
        _announce_upload(service, created, request_id)
        return created
    if record.status is DocumentStatus.DELETED:
        return None
    if record.status in (DocumentStatus.READY, DocumentStatus.FAILED):
        record = _advance_to_uploaded(service, record, size)
        _announce_upload(service, record, request_id)
    return record


def _advance_to_uploaded(service: ParseService, record: DocumentRecord, size: int) -> DocumentRecord:
    return service.repository.advance(
        record.tenant,
        record.document_id,
        StatusChange({record.status}, DocumentStatus.UPLOADED, milestone=Milestone.UPLOADED, size_bytes=size),
        service.clock(),
    )


def _create_dropped(
    service: ParseService, location: ObjectLocation, key: str, size: int
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
        service.repository.create(record)
    except DocumentExists:
        return None
    return record


def _announce_upload(service: ParseService, record: DocumentRecord, request_id: str) -> None:
    service.publisher.publish(
        document_event(
            DocumentEvent.UPLOADED,
            record,
            actor=f"user:{record.owner}",
            request_id=request_id,
            data={"via": "drop" if record.dropped else "upload_form"},
            clock=service.clock,
        )
    )


def _fail(
    service: ParseService, record: DocumentRecord, code: str, message: str, request_id: str
) -> ParseOutcome:
    failed = fail_document(service, record, Failure(str(code), message), STAGE, request_id)
    return ParseOutcome.FAILED if failed else ParseOutcome.DUPLICATE


def _too_large(max_bytes: int) -> str:
    return f"the file is larger than the {max_bytes // (1024 * 1024)} MB limit"
