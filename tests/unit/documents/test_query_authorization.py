"""Bounded authorization inside retrieval: the documents behind the best chunks are decided in rank
order, in audited batches; a caller who may read too little of the top falls back to the exact list
path. Either way no passage of a document the caller may not read reaches the answerer."""

from __future__ import annotations

from typing import Any

import pytest
from documents import logic as api
from echo_documents.errors import DocumentNotFound
from echo_shared.authz import Classification
from echo_shared.authz.caller import Caller
from echo_shared.events import PublishFailed
from echo_shared.web import Forbidden
from query.logic import FIRST_WINDOW, DocumentNotIndexed, Question, answer_question, document_chunks

from tests.retrieval_support import embedder, model_directory, model_env
from tests.unit.documents.conftest import DocumentWorld, user_caller
from tests.unit.documents.test_pipeline_logic import QUESTION, Pipeline

__all__ = ["embedder", "model_directory", "model_env"]


@pytest.fixture
def pipeline(world: DocumentWorld, embedder: Any) -> Pipeline:
    return Pipeline(world, embedder)


def _decisions(pipeline: Pipeline, request_id: str = "req-q") -> list[dict[str, Any]]:
    return [
        e.data
        for e in pipeline.world.publisher.published
        if e.type == "authz.decision" and e.request_id == request_id
    ]


def test_a_reader_of_the_top_documents_costs_one_small_batch_and_no_listing(
    pipeline: Pipeline, alice: Caller, bob: Caller
) -> None:
    # Given a tenant with more readable documents than the first batch holds
    for _ in range(FIRST_WINDOW + 4):
        pipeline.add(alice)
    reads_before = pipeline.world.repository.batch_reads
    # When bob asks
    result = pipeline.ask(bob)
    # Then he is answered, after one audited batch of at most FIRST_WINDOW documents, no list,
    # decided on one batch read of their records
    assert result.answer.enough_information
    assert pipeline.world.repository.batch_reads == reads_before + 1
    decisions = _decisions(pipeline)
    assert {d["kind"] for d in decisions} == {"check"}
    assert 1 <= len(decisions) <= FIRST_WINDOW
    assert result.candidates == len(decisions)


def test_unreadable_top_documents_are_skipped_for_a_readable_one_below(
    pipeline: Pipeline, alice: Caller, bob: Caller
) -> None:
    # Given restricted documents of alice that rank first, and one internal document after them
    restricted = {pipeline.add(alice, Classification.RESTRICTED) for _ in range(FIRST_WINDOW + 5)}
    internal = pipeline.add(alice)
    # When bob asks
    result = pipeline.ask(bob)
    # Then only the internal document is cited, and every restricted one was decided (and denied)
    assert result.answer.enough_information
    assert {p.chunk.document_id for p in result.citations} == {internal}
    decided = {d["resource"].split("::", 1)[-1].strip('"') for d in _decisions(pipeline)}
    assert restricted <= decided


def test_a_caller_who_reads_too_little_of_the_top_gets_the_exact_list_path(
    pipeline: Pipeline, alice: Caller, bob: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given more unreadable top documents than the bounded batches may decide
    monkeypatch.setattr("query.logic.RANKED_CHUNKS", 6)
    monkeypatch.setattr("query.logic.CHECK_ROUNDS", 1)
    monkeypatch.setattr("query.logic.FIRST_WINDOW", 1)
    for _ in range(4):
        pipeline.add(alice, Classification.RESTRICTED)
    internal = pipeline.add(alice)
    # When bob asks
    result = pipeline.ask(bob)
    # Then one list decision is made and the readable document answers
    assert "list" in {d["kind"] for d in _decisions(pipeline)}
    assert {p.chunk.document_id for p in result.citations} == {internal}


def test_a_caller_who_may_read_nothing_gets_not_enough_information(
    pipeline: Pipeline, alice: Caller, make_caller: Any
) -> None:
    for _ in range(3):
        pipeline.add(alice, Classification.RESTRICTED)
    result = pipeline.ask(make_caller("carol", "member"))
    assert not result.answer.enough_information
    assert result.citations == ()


def test_named_documents_are_decided_before_ranking(pipeline: Pipeline, alice: Caller, bob: Caller) -> None:
    readable = pipeline.add(alice)
    secret = pipeline.add(alice, Classification.RESTRICTED)
    result = answer_question(
        pipeline.query, bob, Question(QUESTION, frozenset({readable, secret}), 5), "req-q"
    )
    assert {p.chunk.document_id for p in result.citations} == {readable}
    assert result.candidates == 1
    assert len(_decisions(pipeline)) == 2


def test_a_token_without_the_read_scope_is_decided_then_refused(pipeline: Pipeline, alice: Caller) -> None:
    pipeline.add(alice)
    writer = user_caller("alice", "member", scopes=("documents:write",))
    with pytest.raises(Forbidden):
        answer_question(pipeline.query, writer, Question(QUESTION, None, 5), "req-q")
    assert _decisions(pipeline)  # the refusal was audited as a decision first


def _chunks(pipeline: Pipeline, caller: Caller, document_id: str, **page: int) -> Any:
    return document_chunks(
        pipeline.query,
        caller,
        document_id,
        "req-c",
        limit=page.get("limit", 50),
        cursor=page.get("cursor", 0),
    )


def test_a_reader_pages_through_the_indexed_chunks(pipeline: Pipeline, alice: Caller, bob: Caller) -> None:
    document_id = pipeline.add(alice)
    whole = _chunks(pipeline, bob, document_id)
    assert whole.filename == "plant.pdf"
    assert whole.total == len(whole.chunks) >= 2
    assert [c.ordinal for c in whole.chunks] == sorted(c.ordinal for c in whole.chunks)
    first = _chunks(pipeline, bob, document_id, limit=1)
    assert first.chunks == whole.chunks[:1]
    assert first.next_cursor == 1
    rest = _chunks(pipeline, bob, document_id, limit=50, cursor=1)
    assert rest.chunks == whole.chunks[1:]
    assert rest.next_cursor is None
    assert [d["kind"] for d in _decisions(pipeline, "req-c")] == ["check"] * 3


def test_chunks_are_refused_to_those_who_may_not_read_the_document(
    pipeline: Pipeline, alice: Caller, bob: Caller
) -> None:
    secret = pipeline.add(alice, Classification.RESTRICTED)
    with pytest.raises(Forbidden):
        _chunks(pipeline, bob, secret)
    with pytest.raises(DocumentNotFound):
        _chunks(pipeline, user_caller("mallory", "member", tenant="globex"), secret)
    with pytest.raises(Forbidden):
        _chunks(pipeline, user_caller("alice", "member", scopes=("documents:write",)), secret)
    assert _decisions(pipeline, "req-c")  # every refusal was decided (audited) first


def test_a_deleted_document_has_no_chunks(pipeline: Pipeline, alice: Caller) -> None:
    document_id = pipeline.add(alice)
    api.delete_document(pipeline.world.service, alice, document_id, "r-del")
    with pytest.raises(DocumentNotFound):
        _chunks(pipeline, alice, document_id)


def test_the_owner_of_a_document_not_indexed_yet_gets_a_conflict(
    pipeline: Pipeline, alice: Caller, bob: Caller
) -> None:
    created = api.create_document(
        pipeline.world.service, alice, api.NewDocument("later.pdf", None, None, Classification.INTERNAL), "r"
    )
    with pytest.raises(DocumentNotIndexed):
        _chunks(pipeline, alice, created.record.document_id)
    with pytest.raises(Forbidden):
        _chunks(pipeline, bob, created.record.document_id)


def test_a_querys_decisions_and_answer_leave_in_one_batch_after_the_answer_is_made(
    pipeline: Pipeline, alice: Caller, bob: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given readable documents, and the bus's calls recorded
    for _ in range(3):
        pipeline.add(alice)
    bus = pipeline.world.publisher
    calls: list[list[str]] = []
    batch = bus.publish_batch
    monkeypatch.setattr(bus, "publish", lambda event: calls.append([event.type]))
    monkeypatch.setattr(
        bus, "publish_batch", lambda events: (calls.append([e.type for e in events]), batch(events))
    )
    # When bob asks
    result = pipeline.ask(bob)
    # Then one PublishBatch carried the request's decisions and, last, its answer
    assert result.answer.enough_information
    [types] = calls
    assert types[-1] == "query.answered"
    assert set(types[:-1]) == {"authz.decision"}
    assert result.timings_ms.keys() >= {"embed", "index", "search", "authorize", "answer", "publish"}


def test_no_answer_when_the_requests_audit_events_cannot_be_published(
    pipeline: Pipeline, alice: Caller, bob: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.add(alice)
    bus = pipeline.world.publisher
    published_before = len(bus.published)

    def refuse(events: Any) -> None:
        raise PublishFailed([str(e.event_id) for e in events], ["NotFound"] * len(events))

    monkeypatch.setattr(bus, "publish_batch", refuse)
    with pytest.raises(PublishFailed):
        pipeline.ask(bob)
    assert len(bus.published) == published_before
