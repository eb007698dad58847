"""JSON for the pages' scripts: each call goes to Echo's API with the session's access token.

Every state-changing call needs the session's CSRF token in `X-CSRF-Token`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from web.dependencies import CsrfSession, CurrentSession, Service
from web.logic import call_api

router = APIRouter(prefix="/app/api")
DocumentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
ChunkId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_:.-]{1,200}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewDocument(_Body):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(max_length=255)] | None = None
    size: int | None = Field(default=None, ge=0)
    classification: Annotated[str, StringConstraints(max_length=32)] | None = None


class Share(_Body):
    users: list[Name] = Field(default_factory=list, max_length=50)
    roles: list[Name] = Field(default_factory=list, max_length=20)


class Question(_Body):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    document_ids: list[Name] | None = Field(default=None, max_length=100)
    top_k: int | None = Field(default=None, ge=1, le=20)


def _without_none(body: _Body) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


@router.get("/documents")
def list_documents(service: Service, session: CurrentSession) -> Any:
    return call_api(service, session, "GET", "documents")


@router.post("/documents", status_code=201)
def create_document(body: NewDocument, service: Service, session: CsrfSession) -> Any:
    return call_api(service, session, "POST", "documents", body=_without_none(body))


@router.get("/documents/{document_id}")
def get_document(document_id: DocumentId, service: Service, session: CurrentSession) -> Any:
    return call_api(service, session, "GET", f"documents/{document_id}")


@router.delete("/documents/{document_id}", status_code=204)
def delete_document(document_id: DocumentId, service: Service, session: CsrfSession) -> Response:
    call_api(service, session, "DELETE", f"documents/{document_id}")
    return Response(status_code=204)


@router.post("/documents/{document_id}/share")
def share_document(document_id: DocumentId, body: Share, service: Service, session: CsrfSession) -> Any:
    return call_api(service, session, "POST", f"documents/{document_id}/share", body=_without_none(body))


@router.get("/documents/{document_id}/chunks/{chunk_id}")
def get_chunk(document_id: DocumentId, chunk_id: ChunkId, service: Service, session: CurrentSession) -> Any:
    return call_api(service, session, "GET", f"documents/{document_id}/chunks/{chunk_id}")


@router.post("/query")
def ask(body: Question, service: Service, session: CsrfSession) -> Any:
    return call_api(service, session, "POST", "query", body=_without_none(body))
