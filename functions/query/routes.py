"""Routes only compose dependencies, call logic and shape the response."""

from fastapi import APIRouter

from query import logic
from query.deps import CurrentCaller, RequestId, Service
from query.schemas import ErrorBody, QueryIn, QueryOut

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 413, 422, 500, 503)
}

router = APIRouter(responses=_ERRORS)


@router.post("/query")
def post_query(body: QueryIn, caller: CurrentCaller, service: Service, request_id: RequestId) -> QueryOut:
    question = logic.Question(
        text=body.question,
        document_ids=frozenset(body.document_ids) if body.document_ids is not None else None,
        top_k=body.top_k,
    )
    return QueryOut.from_result(logic.answer_question(service, caller, question, request_id))
