"""Routes only compose dependencies, call logic and shape the response.

Routes and their dependencies are coroutines although the logic blocks on I/O, as in the authz
function: a Lambda container serves one request at a time, so nothing waits on the event loop,
while FastAPI would run each plain function in a worker thread.
"""

from typing import Annotated

from fastapi import APIRouter, Query, status

from documents import logic
from documents.dependencies import CurrentCaller, RequestId, Service
from documents.schemas import CreatedOut, DocumentOut, DocumentsOut, ErrorBody, NewDocumentIn, ShareIn

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422, 500, 503)
}

router = APIRouter(prefix="/documents", responses=_ERRORS)


@router.post("", status_code=status.HTTP_201_CREATED)
async def post_document(
    body: NewDocumentIn, caller: CurrentCaller, service: Service, request_id: RequestId
) -> CreatedOut:
    new = logic.NewDocument(body.filename, body.content_type, body.size, body.classification)
    return CreatedOut.from_created(
        logic.create_document(service, caller, new, request_id), service.max_upload_bytes
    )


@router.get("")
async def get_documents(
    caller: CurrentCaller,
    service: Service,
    request_id: RequestId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> DocumentsOut:
    page = logic.list_documents(service, caller, request_id, limit=limit, cursor=cursor)
    return DocumentsOut(documents=[DocumentOut.from_record(r) for r in page.documents], next=page.next_cursor)


@router.get("/{document_id}")
async def get_document(
    document_id: str, caller: CurrentCaller, service: Service, request_id: RequestId
) -> DocumentOut:
    return DocumentOut.from_record(logic.get_document(service, caller, document_id, request_id))


@router.delete("/{document_id}", status_code=status.HTTP_202_ACCEPTED)
async def delete_document(
    document_id: str, caller: CurrentCaller, service: Service, request_id: RequestId
) -> DocumentOut:
    return DocumentOut.from_record(logic.delete_document(service, caller, document_id, request_id))


@router.post("/{document_id}/share")
async def post_share(
    document_id: str, body: ShareIn, caller: CurrentCaller, service: Service, request_id: RequestId
) -> DocumentOut:
    shared = logic.share_document(
        service, caller, document_id, users=body.users, roles=body.roles, request_id=request_id
    )
    return DocumentOut.from_record(shared)
