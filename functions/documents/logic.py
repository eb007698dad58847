"""Documents API logic: every operation is one audited Cedar decision, then the record change,
which commits with its `document.*` event in the documents outbox (one transaction, ADR 0014).

Denied or unknown documents answer 404 when the caller's tenant holds no live record of that id
(another tenant's ids are never looked up), 403 when it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from echo_documents.errors import DocumentNotFound
from echo_documents.events import DocumentEvent, actor_of, document_event
from echo_documents.layout import is_valid_document_id, is_valid_owner, new_document_id, original_key
from echo_documents.records import DocumentRecord, DocumentStatus, StatusChange
from echo_documents.repository import DocumentRepository
from echo_shared.authz import (
    AuthzClient,
    AuthzRequest,
    AuthzUnavailable,
    Classification,
    Decision,
    EntityRef,
    ResourceType,
)
from echo_shared.authz.caller import Caller, TokenType
from echo_shared.authz.model import ROLE_PATTERN
from echo_shared.timeutil import Clock, format_rfc3339
from echo_shared.web import Forbidden

from documents.uploads import UploadForm, UploadForms

READ_SCOPE = "documents:read"
WRITE_SCOPE = "documents:write"
MAX_SHARE_ENTRIES = 50
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Declared types an upload form may pin; the parser sniffs the real type from the bytes anyway.
UPLOAD_TYPES = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
}
ALLOWED_TYPES = frozenset(UPLOAD_TYPES.values())
_ROLE = re.compile(ROLE_PATTERN)


class InvalidDocumentRequest(Exception):
    pass


class UnsupportedUploadType(Exception):
    pass


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class NewDocument:
    filename: str
    content_type: str | None
    size: int | None
    classification: Classification


@dataclass(frozen=True, slots=True)
class CreatedDocument:
    record: DocumentRecord
    upload: UploadForm
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentsPage:
    documents: list[DocumentRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DocumentService:
    repository: DocumentRepository
    uploads: UploadForms
    authz: AuthzClient
    max_upload_bytes: int
    upload_url_seconds: int
    clock: Clock
    new_id: Callable[[], str] = new_document_id


def create_document(
    service: DocumentService, caller: Caller, new: NewDocument, request_id: str
) -> CreatedDocument:
    _authorize(
        service, caller, "document:create", EntityRef(ResourceType.TENANT.value, caller.tenant), request_id
    )
    _require_scope(caller, WRITE_SCOPE)
    if caller.token_type is not TokenType.USER or not is_valid_owner(caller.subject):
        raise InvalidDocumentRequest("documents are uploaded by users; the token names no usable user id")
    content_type = _upload_type(new)
    if new.size is not None and new.size > service.max_upload_bytes:
        raise UploadTooLarge(f"documents may hold at most {service.max_upload_bytes} bytes")
    now = service.clock()
    document_id = service.new_id()
    key = original_key(caller.tenant, caller.subject, document_id, new.filename)
    record = DocumentRecord(
        tenant=caller.tenant,
        document_id=document_id,
        owner=caller.subject,
        filename=new.filename,
        object_key=key,
        status=DocumentStatus.AWAITING_UPLOAD,
        classification=new.classification,
        created_at=now,
        updated_at=now,
        declared_type=content_type,
        size_bytes=new.size,
    )
    upload = service.uploads.presigned_post(
        key,
        content_type=content_type,
        max_bytes=service.max_upload_bytes,
        expires_in=service.upload_url_seconds,
    )
    service.repository.create(record)
    return CreatedDocument(record, upload, now + timedelta(seconds=service.upload_url_seconds))


def list_documents(
    service: DocumentService, caller: Caller, request_id: str, *, limit: int, cursor: str | None
) -> DocumentsPage:
    """The live documents the caller may read (one audited list decision), in document_id order."""
    listing = service.authz.list_resources(
        caller.principal, "document:read", ResourceType.DOCUMENT, request_id=request_id, asked_by=caller.actor
    )
    if listing.unavailable:
        raise AuthzUnavailable("documents cannot be authorized right now")
    _require_scope(caller, READ_SCOPE)
    allowed = set(listing.resource_ids)
    found: list[DocumentRecord] = []
    for record in service.repository.list(caller.tenant):
        if cursor is not None and record.document_id <= cursor:
            continue
        if record.document_id in allowed and record.status.is_live:
            found.append(record)
            if len(found) > limit:
                break
    more = len(found) > limit
    page = found[:limit]
    return DocumentsPage(page, page[-1].document_id if more else None)


def get_document(
    service: DocumentService, caller: Caller, document_id: str, request_id: str
) -> DocumentRecord:
    return _authorized_record(service, caller, "document:read", READ_SCOPE, document_id, request_id)


def delete_document(
    service: DocumentService, caller: Caller, document_id: str, request_id: str
) -> DocumentRecord:
    """Mark deleted (queries stop seeing it before this returns); `document.deleted` starts the cleanup."""
    record = _authorized_record(service, caller, "document:delete", WRITE_SCOPE, document_id, request_id)
    now = service.clock()
    change = StatusChange(frozenset([s for s in DocumentStatus if s.is_live]), DocumentStatus.DELETED)
    deleted = change.applied_to(record, now)
    event = document_event(
        DocumentEvent.DELETED,
        deleted,
        actor=actor_of(caller),
        request_id=request_id,
        data={"previous_status": record.status.value, "object_key": record.object_key},
        clock=service.clock,
    )
    # A concurrent delete since the read: StaleStatus (409), and only the winner's event is stored.
    service.repository.advance(caller.tenant, document_id, change, now, events=[event])
    return deleted


def share_document(
    service: DocumentService,
    caller: Caller,
    document_id: str,
    *,
    users: Sequence[str],
    roles: Sequence[str],
    request_id: str,
) -> DocumentRecord:
    record = _authorized_record(service, caller, "document:share", WRITE_SCOPE, document_id, request_id)
    users, roles = sorted(set(users)), sorted(set(roles))
    if not users and not roles:
        raise InvalidDocumentRequest("name at least one user or role to share with")
    if len(users) > MAX_SHARE_ENTRIES or len(roles) > MAX_SHARE_ENTRIES:
        raise InvalidDocumentRequest(
            f"share with at most {MAX_SHARE_ENTRIES} users and {MAX_SHARE_ENTRIES} roles"
        )
    if not all(is_valid_owner(user) for user in users) or not all(_ROLE.fullmatch(r) for r in roles):
        raise InvalidDocumentRequest("user ids and role names must be valid identifiers")
    now = service.clock()
    shared = record.with_readers(users=users, roles=roles, now=now)
    event = document_event(
        DocumentEvent.SHARED,
        shared,
        actor=actor_of(caller),
        request_id=request_id,
        data={"added_users": list(users), "added_roles": list(roles)},
        clock=service.clock,
    )
    service.repository.share(caller.tenant, document_id, users=users, roles=roles, now=now, events=[event])
    return shared


def timings_of(record: DocumentRecord) -> dict[str, str]:
    return {"created": format_rfc3339(record.created_at), **record.timings}


def _authorized_record(
    service: DocumentService, caller: Caller, action: str, scope: str, document_id: str, request_id: str
) -> DocumentRecord:
    if not is_valid_document_id(document_id):
        raise DocumentNotFound("no such document")
    decision = _authorize(
        service, caller, action, EntityRef(ResourceType.DOCUMENT.value, document_id), request_id
    )
    record = service.repository.get(caller.tenant, document_id)
    if record is None or not record.status.is_live:
        raise DocumentNotFound("no such document")
    if not decision.allowed:
        raise Forbidden(f"you may not {action.split(':', 1)[1]} this document")
    _require_scope(caller, scope)
    return record


def _authorize(
    service: DocumentService, caller: Caller, action: str, resource: EntityRef, request_id: str
) -> Decision:
    decision = service.authz.check(
        AuthzRequest(caller.principal, action, resource), request_id=request_id, asked_by=caller.actor
    )
    if decision.unavailable:
        raise AuthzUnavailable("documents cannot be authorized right now")
    if resource.type == ResourceType.TENANT.value and not decision.allowed:
        raise Forbidden(f"you may not {action.split(':', 1)[1]} documents")
    return decision


def _require_scope(caller: Caller, scope: str) -> None:
    if scope not in caller.scopes:
        raise Forbidden(f"the access token lacks the {scope} scope")


def _upload_type(new: NewDocument) -> str:
    declared = (new.content_type or "").split(";", 1)[0].strip().lower()
    if declared:
        if declared not in ALLOWED_TYPES:
            raise UnsupportedUploadType(
                f"content type {declared!r} is not accepted; use one of {sorted(ALLOWED_TYPES)}"
            )
        return declared
    suffix = PurePosixPath(new.filename).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise UnsupportedUploadType(
            f"unknown file type {suffix or '(none)'}; accepted: {sorted(UPLOAD_TYPES)}"
        )
    return UPLOAD_TYPES[suffix]
