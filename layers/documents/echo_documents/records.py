"""The document record: one item per document in the documents table (`tenant`, `document_id`).

The same table feeds the authz entity provider (owner, classification, shared_with_*), so those
attribute names are fixed by echo_shared.authz.dynamodb. Status moves only forward, by
conditional updates: awaiting_upload -> uploaded -> parsing -> indexing -> ready, or failed;
any of them -> deleted (then the cleanup consumer removes the item).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from echo_shared.authz import Classification, DocumentMetadata
from echo_shared.timeutil import format_rfc3339


class DocumentStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    UPLOADED = "uploaded"
    PARSING = "parsing"
    INDEXING = "indexing"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"

    @property
    def is_live(self) -> bool:
        """Not deleted: the document exists for its readers."""
        return self is not DocumentStatus.DELETED


class Milestone(StrEnum):
    """The moments `timings` records (RFC 3339 UTC)."""

    UPLOADED = "uploaded"
    PARSED = "parsed"
    INDEXED = "indexed"


class PipelineFailureCode(StrEnum):
    """Failure codes of the pipeline beyond extraction's (echo_documents.parsed.FailureCode)."""

    INDEX_FAILED = "index_failed"
    STORAGE = "storage"
    UPLOAD_MISMATCH = "upload_mismatch"


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One status move (from one of `expected` to `status`) and what it records with it: a milestone
    time, facts learned, a failure."""

    expected: Collection[DocumentStatus]
    status: DocumentStatus
    milestone: Milestone | None = None
    media_type: str | None = None
    size_bytes: int | None = None
    pages: int | None = None
    chunks: int | None = None
    failure: Failure | None = None

    def applied_to(self, record: DocumentRecord, now: datetime) -> DocumentRecord:
        """The record as this change leaves it, exactly what the store's conditional update writes:
        the status, `updated_at`, the milestone's time and the facts given; nothing else moves.
        (Its events are built from it before the write: they commit together.)"""
        timings = record.timings
        if self.milestone is not None:
            timings = {**timings, self.milestone.value: format_rfc3339(now)}
        return replace(
            record,
            status=self.status,
            updated_at=now,
            timings=timings,
            media_type=_given(self.media_type, record.media_type),
            size_bytes=_given(self.size_bytes, record.size_bytes),
            pages=_given(self.pages, record.pages),
            chunks=_given(self.chunks, record.chunks),
            failure=_given(self.failure, record.failure),
        )


def _given[T](fact: T | None, kept: T | None) -> T | None:
    return kept if fact is None else fact


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    tenant: str
    document_id: str
    owner: str
    filename: str
    object_key: str
    status: DocumentStatus
    classification: Classification
    created_at: datetime
    updated_at: datetime
    declared_type: str | None = None
    media_type: str | None = None
    size_bytes: int | None = None
    pages: int | None = None
    chunks: int | None = None
    shared_with_users: frozenset[str] = frozenset()
    shared_with_roles: frozenset[str] = frozenset()
    timings: dict[str, str] = field(default_factory=dict)
    failure: Failure | None = None
    dropped: bool = False

    def with_readers(
        self, *, users: Collection[str], roles: Collection[str], now: datetime
    ) -> DocumentRecord:
        """The record with these readers added (a share), as the store's update leaves it."""
        return replace(
            self,
            shared_with_users=self.shared_with_users | frozenset(users),
            shared_with_roles=self.shared_with_roles | frozenset(roles),
            updated_at=now,
        )

    @property
    def metadata(self) -> DocumentMetadata:
        """What authorization policies see of this document."""
        return DocumentMetadata(
            tenant=self.tenant,
            document_id=self.document_id,
            owner=self.owner,
            shared_with_users=self.shared_with_users,
            shared_with_roles=self.shared_with_roles,
            classification=self.classification,
        )
