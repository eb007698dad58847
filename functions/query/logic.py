"""Answer a question from the caller's readable documents only.

1. The question is ranked over the tenant's index (restricted to `document_ids` when given).
2. Bounded authorization: the documents behind the best-ranked chunks are decided in audited
   batches (`document:query`, each with a fresh consistent read of its record), in rank order,
   until `top_k` readable chunks are found. A caller who may read too little of the top (after
   CHECK_ROUNDS batches) falls back to the exact list path: one audited list decision over the
   tenant's ready documents, ranking among those only, then a batch re-check of the retrieved ones.
   With `document_ids`, those documents are decided first and only the allowed ones are ranked.
   Either way, a passage reaches the answerer only if a decision made during this request allowed
   its document, and its record, read again, is still live.
3. No readable passage: an explicit "not enough information" answer with no citations.
Question text is never logged or published: events carry its sha256 and length.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from echo_documents.errors import DocumentNotFound
from echo_documents.events import DocumentEvent, actor_of, sha256_hex
from echo_documents.records import DocumentRecord, DocumentStatus
from echo_documents.repository import DocumentRepository
from echo_retrieval.answering import Answer, Answerer, Passage, not_enough_information
from echo_retrieval.chunking import Chunk
from echo_retrieval.embedding import Embedder
from echo_retrieval.index import Hit, TenantIndex, TenantIndexCache
from echo_shared.authz import AuthzClient, AuthzRequest, AuthzUnavailable, EntityRef, ResourceType
from echo_shared.authz.caller import Caller
from echo_shared.authz.client import MAX_BATCH
from echo_shared.errors import Conflict
from echo_shared.events import EventEnvelope, Outcome, new_event
from echo_shared.events.request_events import RequestEvents
from echo_shared.timeutil import Clock
from echo_shared.web import Forbidden

READ_SCOPE = "documents:read"
ACTION = "document:query"
READ_ACTION = "document:read"
MAX_CHUNKS_PAGE = 200
RETRIEVAL_METHOD = "hybrid"
MAX_QUESTION_CHARS = 2000
DEFAULT_TOP_K = 5
MAX_TOP_K = 20
RANKED_CHUNKS = 200  # chunks ranked before bounded authorization walks them
FIRST_WINDOW = 10  # the least documents of a second audited batch
CHECK_ROUNDS = 3  # batches (the top_k hits' documents, then >= 10, then 4x, 100 at most) before the list path
NO_ANSWERER = "none"


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    document_ids: frozenset[str] | None
    top_k: int


@dataclass(slots=True)
class Phases:
    """Where one query's time went, in milliseconds per phase (logged and returned; no text)."""

    spent: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.spent[phase] = round(self.spent.get(phase, 0.0) + elapsed, 2)


@dataclass(frozen=True, slots=True)
class QueryResult:
    answer: Answer
    citations: tuple[Passage, ...]
    candidates: int
    retrieved: int
    withheld: int
    timings_ms: dict[str, float]


class RecordReading(Protocol):
    """echo_documents.access.DocumentRecordsProvider: one batch read for the decisions inside."""

    def reading(
        self, tenant: str, document_ids: Collection[str]
    ) -> AbstractContextManager[dict[str, DocumentRecord]]: ...


@dataclass(frozen=True, slots=True)
class QueryService:
    repository: DocumentRepository
    records: RecordReading
    authz: AuthzClient
    indexes: TenantIndexCache
    embedder: Embedder
    answerer: Answerer
    events: RequestEvents  # also the authz client's publisher: one flush per request
    clock: Clock
    # Loads the tenant's index beside the question's embedding; held for the container's life, so
    # a request does not pay a thread's start and join.
    loader: Executor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="index"))


def answer_question(
    service: QueryService, caller: Caller, question: Question, request_id: str
) -> QueryResult:
    """The answer, once every audit event of this request (its decisions, the answer) is published."""
    phases = Phases()
    with service.events.collecting() as pending:
        result = _answer(service, caller, question, request_id, phases)
        with phases.timing("publish"):
            pending.flush()
    return result


def _answer(
    service: QueryService, caller: Caller, question: Question, request_id: str, phases: Phases
) -> QueryResult:
    # The tenant's index is checked for news (one conditional GET) while the question is embedded.
    loading = service.loader.submit(_index_for, service, caller.tenant, phases)
    with phases.timing("embed"):
        vector = service.embedder.embed([question.text])[0]
    index = loading.result()
    selection = None
    if question.document_ids is not None:
        selection = _named_selection(service, caller, question, index, vector, request_id, phases)
    else:
        with phases.timing("search"):
            ranked = index.search(question.text, vector, allowed_document_ids=None, top_k=RANKED_CHUNKS)
        if ranked:
            selection = _bounded_selection(service, caller, question.top_k, ranked, request_id, phases)
    if selection is None:
        selection = _listed_selection(service, caller, question, index, vector, request_id, phases)
    passages: list[Passage] = []
    for hit in selection.hits:
        record = selection.readable.get(hit.chunk.document_id)
        if record is not None and record.status.is_live:
            passages.append(Passage(number=len(passages) + 1, chunk=hit.chunk, filename=record.filename))
    withheld = selection.withheld + len(selection.hits) - len(passages)
    with phases.timing("answer"):
        answer = service.answerer.answer(question.text, passages) if passages else _not_enough()
    cited = tuple(p for p in passages if p.number in answer.cited) if answer.enough_information else ()
    if not cited:
        answer = _not_enough(answer.answered_by)
    result = QueryResult(
        answer,
        cited,
        selection.candidates,
        len(selection.hits) + selection.withheld,
        withheld,
        phases.spent,
    )
    # result.timings_ms is phases.spent: it gains the publish phase when the request flushes.
    service.events.publish(_answered_event(caller, question, result, request_id, service.clock))
    return result


def _index_for(service: QueryService, tenant: str, phases: Phases) -> TenantIndex:
    with phases.timing("index"):
        return service.indexes.index_for(tenant)


@dataclass(frozen=True, slots=True)
class _Selection:
    hits: list[Hit]  # readable by a decision of this request, best first, at most top_k
    readable: dict[str, DocumentRecord]  # the allowed documents, as read for their decision
    candidates: int  # documents found readable (listed, in the list path)
    withheld: int = 0  # retrieved hits a re-check refused


def _decide(
    service: QueryService,
    caller: Caller,
    document_ids: Sequence[str],
    request_id: str,
    phases: Phases,
) -> dict[str, DocumentRecord]:
    """The documents the caller may query, decided in one audited batch on records read for it in
    one consistent batch read; then the token's scope is required (decided first, so a refused
    call is audited too)."""
    with phases.timing("authorize"), service.records.reading(caller.tenant, document_ids) as records:
        decisions = service.authz.check_batch(
            [
                AuthzRequest(caller.principal, ACTION, EntityRef(ResourceType.DOCUMENT.value, d))
                for d in document_ids
            ],
            request_id=request_id,
            asked_by=caller.actor,
        )
    if any(decision.unavailable for decision in decisions):
        raise AuthzUnavailable("documents cannot be authorized right now")
    _require_scope(caller)
    return {d: records[d] for d, decision in zip(document_ids, decisions, strict=True) if decision.allowed}


def _require_scope(caller: Caller) -> None:
    if READ_SCOPE not in caller.scopes:
        raise Forbidden(f"the access token lacks the {READ_SCOPE} scope")


def _bounded_selection(
    service: QueryService, caller: Caller, top_k: int, ranked: list[Hit], request_id: str, phases: Phases
) -> _Selection | None:
    """Decide the documents of the best chunks in rank order until top_k readable chunks are found."""
    order = list(dict.fromkeys(hit.chunk.document_id for hit in ranked))
    allowed: dict[str, DocumentRecord] = {}
    checked = 0
    # The top_k best chunks come from at most top_k documents: a caller who may read them is done
    # after deciding those alone; later rounds widen (FIRST_WINDOW, then 4x).
    window = len(dict.fromkeys(hit.chunk.document_id for hit in ranked[:top_k]))
    for _ in range(CHECK_ROUNDS):
        batch = order[checked : checked + min(window, MAX_BATCH)]
        allowed |= _decide(service, caller, batch, request_id, phases)
        checked += len(batch)
        kept = [hit for hit in ranked if hit.chunk.document_id in allowed][:top_k]
        # Exact once top_k readable chunks are found, or every chunk of the index was ranked and decided.
        if len(kept) == top_k or (checked == len(order) and len(ranked) < RANKED_CHUNKS):
            return _Selection(kept, allowed, len(allowed))
        if checked == len(order):
            break
        window = max(FIRST_WINDOW, 4 * window)
    return None


def _named_selection(
    service: QueryService,
    caller: Caller,
    question: Question,
    index: TenantIndex,
    vector: Any,
    request_id: str,
    phases: Phases,
) -> _Selection:
    """`document_ids` given: decide those (filter before ranking), rank among the allowed ones."""
    named = sorted(question.document_ids or ())
    if not named:
        return _listed_selection(service, caller, question, index, vector, request_id, phases)
    allowed = _decide(service, caller, named, request_id, phases)
    with phases.timing("search"):
        hits = index.search(question.text, vector, allowed_document_ids=allowed.keys(), top_k=question.top_k)
    return _Selection(hits, allowed, len(allowed))


def _listed_selection(
    service: QueryService,
    caller: Caller,
    question: Question,
    index: TenantIndex,
    vector: Any,
    request_id: str,
    phases: Phases,
) -> _Selection:
    """The exact path: one list decision over every ready document, rank among them, re-check."""
    with phases.timing("authorize"):
        listing = service.authz.list_resources(
            caller.principal, ACTION, ResourceType.DOCUMENT, request_id=request_id, asked_by=caller.actor
        )
    if listing.unavailable:
        raise AuthzUnavailable("documents cannot be authorized right now")
    _require_scope(caller)
    candidates = set(listing.resource_ids)
    if question.document_ids is not None:
        candidates &= question.document_ids
    if not candidates:
        return _Selection([], {}, 0)
    with phases.timing("search"):
        hits = index.search(question.text, vector, allowed_document_ids=candidates, top_k=question.top_k)
    retrieved = list(dict.fromkeys(hit.chunk.document_id for hit in hits))
    still = _decide(service, caller, retrieved, request_id, phases) if retrieved else {}
    kept = [hit for hit in hits if hit.chunk.document_id in still]
    return _Selection(kept, still, len(candidates), withheld=len(hits) - len(kept))


class DocumentNotIndexed(Conflict):
    """The document exists but has no index yet (not `ready`)."""


@dataclass(frozen=True, slots=True)
class ChunkPage:
    document_id: str
    filename: str
    chunks: tuple[Chunk, ...]
    total: int
    next_cursor: int | None


def document_chunks(
    service: QueryService, caller: Caller, document_id: str, request_id: str, *, limit: int, cursor: int
) -> ChunkPage:
    """The indexed chunks of one document the caller may read (an audited `document:read` decision
    on a record read for it); 404 for none in the caller's tenant, 403 for one they may not read,
    409 to its owner while it is not indexed yet (others get 403: readability is unknown then)."""
    with service.records.reading(caller.tenant, [document_id]) as records:
        decision = service.authz.check(
            AuthzRequest(caller.principal, READ_ACTION, EntityRef(ResourceType.DOCUMENT.value, document_id)),
            request_id=request_id,
            asked_by=caller.actor,
        )
    if decision.unavailable:
        raise AuthzUnavailable("documents cannot be authorized right now")
    _require_scope(caller)
    record = records.get(document_id)
    if record is None or not record.status.is_live:
        raise DocumentNotFound(f"document {document_id} not found")
    if not decision.allowed:
        if record.owner == caller.subject and caller.is_user and record.status is not DocumentStatus.READY:
            raise DocumentNotIndexed(f"document {document_id} is {record.status.value}, not indexed yet")
        raise Forbidden(f"not allowed to read document {document_id}")
    chunks = service.indexes.index_for(caller.tenant).chunks_of(document_id)
    page = tuple(chunks[cursor : cursor + limit])
    following = cursor + len(page)
    return ChunkPage(
        document_id, record.filename, page, len(chunks), following if following < len(chunks) else None
    )


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
