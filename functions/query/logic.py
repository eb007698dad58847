"""Answer a question from the caller's readable documents only.

1. One audited list decision (`document:query`) over the tenant's ready documents: the candidates.
2. Retrieval ranks chunks of those candidates only (the index filters before ranking).
3. Every document behind a retrieved chunk is decided again (one audited batch) just before the
   answerer sees it: a share revoked or a document deleted since step 1 drops out.
4. No readable passage: an explicit "not enough information" answer with no citations.
Question text is never logged or published: events carry its sha256 and length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from echo_documents.events import DocumentEvent, actor_of, sha256_hex
from echo_documents.repository import DocumentRepository
from echo_retrieval.answering import Answer, Answerer, Passage, not_enough_information
from echo_retrieval.embedding import Embedder
from echo_retrieval.index import TenantIndexCache
from echo_shared.authz import AuthzClient, AuthzRequest, AuthzUnavailable, EntityRef, ResourceType
from echo_shared.authz.caller import Caller
from echo_shared.events import EventEnvelope, EventPublisher, Outcome, new_event
from echo_shared.timeutil import Clock
from echo_shared.web import Forbidden

READ_SCOPE = "documents:read"
ACTION = "document:query"
RETRIEVAL_METHOD = "hybrid"
MAX_QUESTION_CHARS = 2000
DEFAULT_TOP_K = 5
MAX_TOP_K = 20
NO_ANSWERER = "none"


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    document_ids: frozenset[str] | None
    top_k: int


@dataclass(frozen=True, slots=True)
class QueryResult:
    answer: Answer
    citations: tuple[Passage, ...]
    candidates: int
    retrieved: int
    withheld: int


@dataclass(frozen=True, slots=True)
class QueryService:
    repository: DocumentRepository
    authz: AuthzClient
    indexes: TenantIndexCache
    embedder: Embedder
    answerer: Answerer
    publisher: EventPublisher
    clock: Clock


def answer_question(
    service: QueryService, caller: Caller, question: Question, request_id: str
) -> QueryResult:
    principal = caller.principal
    listing = service.authz.list_resources(
        principal, ACTION, ResourceType.DOCUMENT, request_id=request_id, asked_by=caller.actor
    )
    if listing.unavailable:
        raise AuthzUnavailable("documents cannot be authorized right now")
    if READ_SCOPE not in caller.scopes:
        raise Forbidden(f"the access token lacks the {READ_SCOPE} scope")
    candidates = set(listing.resource_ids)
    if question.document_ids is not None:
        candidates &= question.document_ids
    passages: list[Passage] = []
    retrieved = withheld = 0
    if candidates:
        vector = service.embedder.embed([question.text])[0]
        index = service.indexes.index_for(caller.tenant)
        hits = index.search(question.text, vector, allowed_document_ids=candidates, top_k=question.top_k)
        retrieved = len(hits)
        readable = _recheck(service, caller, [hit.chunk.document_id for hit in hits], request_id)
        for hit in hits:
            filename = readable.get(hit.chunk.document_id)
            if filename is None:
                withheld += 1
                continue
            passages.append(Passage(number=len(passages) + 1, chunk=hit.chunk, filename=filename))
    answer = service.answerer.answer(question.text, passages) if passages else _not_enough()
    cited = tuple(p for p in passages if p.number in answer.cited) if answer.enough_information else ()
    if not cited:
        answer = _not_enough(answer.answered_by)
    result = QueryResult(answer, cited, len(candidates), retrieved, withheld)
    service.publisher.publish(_answered_event(caller, question, result, request_id, service.clock))
    return result


def _recheck(
    service: QueryService, caller: Caller, document_ids: Sequence[str], request_id: str
) -> dict[str, str]:
    """document id -> filename for the documents the caller may still query (one audited batch)."""
    unique = list(dict.fromkeys(document_ids))
    if not unique:
        return {}
    decisions = service.authz.check_batch(
        [AuthzRequest(caller.principal, ACTION, EntityRef(ResourceType.DOCUMENT.value, d)) for d in unique],
        request_id=request_id,
        asked_by=caller.actor,
    )
    readable: dict[str, str] = {}
    for document_id, decision in zip(unique, decisions, strict=True):
        if not decision.allowed:
            continue
        record = service.repository.get(caller.tenant, document_id)
        if record is not None and record.status.is_live:
            readable[document_id] = record.filename
    return readable


def _not_enough(answered_by: str = NO_ANSWERER) -> Answer:
    return not_enough_information(answered_by)


def _answered_event(
    caller: Caller, question: Question, result: QueryResult, request_id: str, clock: Clock
) -> EventEnvelope:
    return new_event(
        type=DocumentEvent.QUERY_ANSWERED.value,
        tenant=caller.tenant,
        actor=actor_of(caller),
        action="query",
        resource=f"tenant/{caller.tenant}",
        outcome=Outcome.SUCCESS,
        request_id=request_id,
        data={
            "question_sha256": sha256_hex(question.text),
            "question_chars": len(question.text),
            "answer_sha256": sha256_hex(result.answer.text),
            "answer_chars": len(result.answer.text),
            "top_k": question.top_k,
            "candidates": result.candidates,
            "retrieved": result.retrieved,
            "withheld": result.withheld,
            "cited": [
                {
                    "document_id": p.chunk.document_id,
                    "chunk_id": p.chunk.chunk_id,
                    "chunk_hash": p.chunk.chunk_hash,
                }
                for p in result.citations
            ],
            "answered_by": result.answer.answered_by,
            "enough_information": result.answer.enough_information,
        },
        clock=clock,
    )
