"""The document product's events: ids, hashes, lengths and codes only, never document or question text.

document.uploaded | parsed | indexed | failed | shared | deleted | purged, query.answered.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import TYPE_CHECKING

from echo_shared.events import EventEnvelope, Outcome, new_event
from echo_shared.timeutil import Clock, utc_now
from pydantic import JsonValue

from echo_documents.records import DocumentRecord

if TYPE_CHECKING:  # the caller model lives with the HTTP plumbing (FastAPI), not needed at run time here
    from echo_shared.authz.caller import Caller


class DocumentEvent(StrEnum):
    UPLOADED = "document.uploaded"
    PARSED = "document.parsed"
    INDEXED = "document.indexed"
    FAILED = "document.failed"
    SHARED = "document.shared"
    DELETED = "document.deleted"
    PURGED = "document.purged"
    QUERY_ANSWERED = "query.answered"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def actor_of(caller: Caller) -> str:
    """`user:<id>` or `client:<id>`, as every Echo event names its actor."""
    if caller.token_type.value == "client":
        return f"client:{caller.client_id or caller.subject}"
    return f"user:{caller.subject}"


def document_resource(document_id: str) -> str:
    return f"document/{document_id}"


def document_event(
    kind: DocumentEvent,
    record: DocumentRecord,
    *,
    actor: str,
    request_id: str,
    data: dict[str, JsonValue] | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    clock: Clock = utc_now,
) -> EventEnvelope:
    """An event about one document; `data` adds to the common fields (status, owner, type, sizes)."""
    common: dict[str, JsonValue] = {
        "document_id": record.document_id,
        "owner": record.owner,
        "status": record.status.value,
        "classification": record.classification.value,
        "filename_sha256": sha256_hex(record.filename),
        "filename_chars": len(record.filename),
    }
    for name, value in (
        ("media_type", record.media_type),
        ("bytes", record.size_bytes),
        ("pages", record.pages),
        ("chunks", record.chunks),
    ):
        if value is not None:
            common[name] = value
    return new_event(
        type=kind.value,
        tenant=record.tenant,
        actor=actor,
        action=kind.value.split(".", 1)[1],
        resource=document_resource(record.document_id),
        outcome=outcome,
        request_id=request_id,
        data={**common, **(data or {})},
        clock=clock,
    )
