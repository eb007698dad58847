"""Routes only compose dependencies, call logic and shape the response.

Routes and their dependencies are coroutines although the logic blocks on I/O, as in the authz
function: a Lambda container serves one request at a time, so nothing waits on the event loop,
while FastAPI would run each plain function in a worker thread.
"""

from typing import Annotated

from echo_documents.layout import DOCUMENT_ID_PATTERN
from echo_shared.observability import get_logger
from fastapi import APIRouter, Path, Query

from query import logic
from query.dependencies import CurrentCaller, RequestId, Service
from query.schemas import ChunksOut, ErrorBody, QueryIn, QueryOut

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 500, 503)
}

router = APIRouter(responses=_ERRORS)


@router.post("/query")
async def post_query(
    body: QueryIn, caller: CurrentCaller, service: Service, request_id: RequestId
) -> QueryOut:
    question = logic.Question(
        text=body.question,
        document_ids=frozenset(body.document_ids) if body.document_ids is not None else None,
        top_k=body.top_k,
    )
    result = logic.answer_question(service, caller, question, request_id)
    get_logger().info(
        "query answered",
        extra={
            "timings_ms": result.timings_ms,
            "candidates": result.candidates,
            "cited": len(result.citations),
        },
    )
    return QueryOut.from_result(result)


@router.get("/documents/{document_id}/chunks")
async def get_document_chunks(
    document_id: Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)],
    caller: CurrentCaller,
    service: Service,
    request_id: RequestId,
    limit: Annotated[int, Query(ge=1, le=logic.MAX_CHUNKS_PAGE)] = 50,
    cursor: Annotated[int, Query(ge=0)] = 0,
) -> ChunksOut:
    page = logic.document_chunks(service, caller, document_id, request_id, limit=limit, cursor=cursor)
    return ChunksOut.from_page(page)
