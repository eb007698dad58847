"""Request and response bodies of the documents API."""

from __future__ import annotations

from typing import Annotated

from echo_documents.records import DocumentRecord
from echo_shared.authz import Classification
from echo_shared.timeutil import format_rfc3339
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from documents.logic import CreatedDocument, timings_of

type Filename = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$")
]
type Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewDocumentIn(_In):
    filename: Filename
    content_type: Annotated[str, StringConstraints(max_length=255)] | None = None
    size: int | None = Field(default=None, ge=1)
    classification: Classification = Classification.INTERNAL


class ShareIn(_In):
    users: list[Identifier] = Field(default_factory=list, max_length=50)
    roles: list[Identifier] = Field(default_factory=list, max_length=50)


class UploadOut(BaseModel):
    url: str
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class CreatedOut(BaseModel):
    document_id: str
    status: str
    upload: UploadOut

    @classmethod
    def from_created(cls, created: CreatedDocument, max_bytes: int) -> CreatedOut:
        return cls(
            document_id=created.record.document_id,
            status=created.record.status.value,
            upload=UploadOut(
                url=created.upload.url,
                fields=created.upload.fields,
                expires_at=format_rfc3339(created.expires_at),
                max_bytes=max_bytes,
            ),
        )


class FailureOut(BaseModel):
    code: str
    message: str


class SharedWithOut(BaseModel):
    users: list[str]
    roles: list[str]


class DocumentOut(BaseModel):
    document_id: str
    filename: str
    status: str
    media_type: str | None
    pages: int | None
    chunks: int | None
    bytes: int | None
    owner: str
    classification: str
    shared_with: SharedWithOut
    created_at: str
    updated_at: str
    timings: dict[str, str]
    failure: FailureOut | None = None

    @classmethod
    def from_record(cls, record: DocumentRecord) -> DocumentOut:
        return cls(
            document_id=record.document_id,
            filename=record.filename,
            status=record.status.value,
            media_type=record.media_type,
            pages=record.pages,
            chunks=record.chunks,
            bytes=record.size_bytes,
            owner=record.owner,
            classification=record.classification.value,
            shared_with=SharedWithOut(
                users=sorted(record.shared_with_users), roles=sorted(record.shared_with_roles)
            ),
            created_at=format_rfc3339(record.created_at),
            updated_at=format_rfc3339(record.updated_at),
            timings=timings_of(record),
            failure=FailureOut(code=record.failure.code, message=record.failure.message)
            if record.failure
            else None,
        )


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]
    next: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
