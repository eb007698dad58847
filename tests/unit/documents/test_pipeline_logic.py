"""Embed and query logic on the real model, chunker, index and extractive answerer, with in-memory
stores: indexing, cited answers, authorization inside retrieval, deletion before and after purge."""

from __future__ import annotations

from typing import Any

import pytest
from documents import logic as api
from echo_documents.access import ANSWERABLE_STATUSES, DocumentRecordsProvider
from echo_documents.errors import DocumentStoreUnavailable
from echo_documents.layout import parsed_key
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_documents.records import DocumentStatus
from echo_retrieval.answering import ExtractiveAnswerer
from echo_retrieval.chunking import chunk_document
from echo_retrieval.index import TenantIndexCache, build_segment
from echo_retrieval.snapshot import compact
from echo_shared.authz import AuthzClient, Classification
from echo_shared.authz.caller import Caller
from echo_shared.events import EventEnvelope
from echo_shared.events.request_events import RequestEvents
from embed.logic import EmbedOutcome, EmbedService, handle_event
from parse.logic import ParseService, parse_object
from query.logic import QueryService, Question, answer_question

from tests.fakes.authz import InMemoryPolicyStore
from tests.retrieval_support import embedder, model_directory, model_env
from tests.unit.documents.conftest import DocumentWorld, user_caller
from tests.unit.retrieval.fakes import InMemoryIndexStore

__all__ = ["embedder", "model_directory", "model_env"]

REPORT = ParsedDocument(
    media_type="application/pdf",
    page_count=3,
    blocks=(
        TextBlock("Introduction to the northern plant and its staff.", 1, ("Overview",), "paragraph"),
        TextBlock(
            "The Zorblax reactor runs at exactly 451 kelvin during the night shift.",
            2,
            ("Operations",),
            "paragraph",
        ),
        TextBlock("Appendix with safety contacts and telephone numbers.", 3, ("Appendix",), "paragraph"),
    ),
    language="en",
)
QUESTION = "At what temperature does the Zorblax reactor run?"


class Pipeline:
    def __init__(self, world: DocumentWorld, embedder: Any) -> None:
        self.world = world
        self.index = InMemoryIndexStore()
        self.parse = ParseService(world.repository, world.objects, lambda _: REPORT, 10**6, world.clock)
        self.embed = EmbedService(
            repository=world.repository,
            objects=world.objects,
            index=self.index,
            embedder=embedder,
            chunk=chunk_document,
            build_segment=lambda d, c, v: build_segment(d, c, v, model_id=embedder.model_id),
            compact=compact,
            max_parsed_bytes=10**7,
            clock=world.clock,
        )
        records = DocumentRecordsProvider(world.repository, ANSWERABLE_STATUSES)
        events = RequestEvents(world.publisher)  # as deployed: decisions and answer flush together
        authz = AuthzClient(
            store=InMemoryPolicyStore(),
            entities=records,
            publisher=events,
            asked_by="service:query-tests",
        )
        self.query = QueryService(
            world.repository,
            records,
            authz,
            TenantIndexCache(self.index),
            embedder,
            ExtractiveAnswerer(),
            events,
            world.clock,
        )
        self._delivered = 0

    def deliver(self) -> list[EmbedOutcome]:
        """Hand the outbox's events since the last call to the embed consumer, as the relay and the
        queue do."""
        published = self.world.outbox.published
        events: list[EventEnvelope] = published[self._delivered :]
        self._delivered = len(published)
        return [
            handle_event(self.embed, e, final_attempt=False)
            for e in events
            if e.type in ("document.parsed", "document.deleted")
        ]

    def add(self, caller: Caller, classification: Classification = Classification.INTERNAL) -> str:
        created = api.create_document(
            self.world.service, caller, api.NewDocument("plant.pdf", None, None, classification), "req"
        )
        self.world.objects.write(created.record.object_key, b"%PDF-1.7", "application/pdf")
        parse_object(self.parse, created.record.object_key, 8, "msg")
        assert self.deliver() == [EmbedOutcome.INDEXED]
        return created.record.document_id

    def ask(self, caller: Caller, question: str = QUESTION) -> Any:
        return answer_question(self.query, caller, Question(question, None, 5), "req-q")


@pytest.fixture
def pipeline(world: DocumentWorld, embedder: Any) -> Pipeline:
    return Pipeline(world, embedder)


def test_an_indexed_document_answers_with_a_citation_of_its_page(pipeline: Pipeline, alice: Caller) -> None:
    document_id = pipeline.add(alice)
    record = pipeline.world.repository.get("acme", document_id)
    assert record is not None
    assert record.status is DocumentStatus.READY
    assert (record.chunks or 0) >= 1
    result = pipeline.ask(alice)
    assert result.answer.enough_information
    [cited] = [p for p in result.citations if p.chunk.document_id == document_id][:1]
    assert cited.chunk.page == 2
    assert cited.filename == "plant.pdf"
    assert "451" in result.answer.text
    answered = [e for e in pipeline.world.publisher.published if e.type == "query.answered"][-1]
    assert answered.data["question_chars"] == len(QUESTION)
    assert "Zorblax" not in answered.to_json()


def test_restricted_and_other_tenant_askers_get_not_enough_information(
    pipeline: Pipeline, alice: Caller, bob: Caller
) -> None:
    document_id = pipeline.add(alice, Classification.RESTRICTED)
    for asker in (bob, user_caller("mallory", "admin", tenant="globex")):
        result = pipeline.ask(asker)
        assert not result.answer.enough_information
        assert result.citations == ()
        assert "451" not in result.answer.text
    api.share_document(pipeline.world.service, alice, document_id, users=["bob"], roles=[], request_id="r")
    assert [p.chunk.document_id for p in pipeline.ask(bob).citations] == [document_id]


def test_deletion_is_unanswerable_before_and_after_the_purge(pipeline: Pipeline, alice: Caller) -> None:
    document_id = pipeline.add(alice)
    api.delete_document(pipeline.world.service, alice, document_id, "req-del")
    # Before the purge: the segment is still in the index, the document never in an answer
    assert pipeline.index.read_manifest("acme") is not None
    result = pipeline.ask(alice)
    assert result.citations == ()
    assert not result.answer.enough_information
    # The purge removes object, parsed text, segment and record
    assert pipeline.deliver() == [EmbedOutcome.PURGED]
    manifest = pipeline.index.read_manifest("acme")
    assert manifest is not None
    assert document_id not in manifest[0].segments
    assert pipeline.world.repository.get("acme", document_id) is None
    assert not [k for k in pipeline.world.objects.objects if document_id in k]
    assert parsed_key("acme", document_id) not in pipeline.world.objects.objects


def test_a_document_deleted_while_indexing_loses_its_segment(
    pipeline: Pipeline, world: DocumentWorld, alice: Caller
) -> None:
    created = api.create_document(
        world.service, alice, api.NewDocument("a.pdf", None, None, Classification.INTERNAL), "r"
    )
    world.objects.write(created.record.object_key, b"%PDF", "application/pdf")
    parse_object(pipeline.parse, created.record.object_key, 4, "m")
    api.delete_document(world.service, alice, created.record.document_id, "r-del")
    assert pipeline.deliver() == [EmbedOutcome.DUPLICATE, EmbedOutcome.PURGED]
    manifest = pipeline.index.read_manifest("acme")
    assert manifest is None or created.record.document_id not in manifest[0].segments


def test_a_forged_deletion_event_never_purges_a_live_document(
    pipeline: Pipeline, alice: Caller, make_event: Any
) -> None:
    document_id = pipeline.add(alice)
    forged = make_event(type="document.deleted", tenant="acme", data={"document_id": document_id})
    assert handle_event(pipeline.embed, forged, final_attempt=False) is EmbedOutcome.IGNORED
    assert pipeline.ask(alice).citations


def test_restricting_the_question_to_other_documents_finds_nothing(pipeline: Pipeline, alice: Caller) -> None:
    pipeline.add(alice)
    result = answer_question(
        pipeline.query, alice, Question(QUESTION, frozenset({"00000000-0000-0000-0000-000000000009"}), 5), "r"
    )
    assert result.candidates == 0
    assert result.citations == ()


def test_a_deletion_delivered_twice_purges_and_reports_once(pipeline: Pipeline, alice: Caller) -> None:
    document_id = pipeline.add(alice)
    api.delete_document(pipeline.world.service, alice, document_id, "req-del")
    [deleted] = [e for e in pipeline.world.outbox.published if e.type == "document.deleted"]
    # When SQS delivers document.deleted twice
    outcomes = [handle_event(pipeline.embed, deleted, final_attempt=False) for _ in range(2)]
    # Then the second finds nothing to purge and document.purged was written once, with the removal
    assert outcomes == [EmbedOutcome.PURGED, EmbedOutcome.DUPLICATE]
    assert pipeline.world.event_types().count("document.purged") == 1
    assert pipeline.world.repository.get("acme", document_id) is None


def test_an_index_whose_event_cannot_be_written_stays_indexing_until_the_retry(
    pipeline: Pipeline, world: DocumentWorld, alice: Caller
) -> None:
    created = api.create_document(
        world.service, alice, api.NewDocument("plant.pdf", None, None, Classification.INTERNAL), "r"
    )
    world.objects.write(created.record.object_key, b"%PDF-1.7", "application/pdf")
    parse_object(pipeline.parse, created.record.object_key, 8, "m")
    [parsed] = [e for e in world.outbox.published if e.type == "document.parsed"]
    # Given the outbox refuses the write that would make the document ready
    world.repository.outbox_down = True
    with pytest.raises(DocumentStoreUnavailable):
        handle_event(pipeline.embed, parsed, final_attempt=False)
    record = world.repository.get("acme", created.record.document_id)
    assert record is not None
    assert record.status is DocumentStatus.INDEXING
    assert "document.indexed" not in world.event_types()
    # When the message is redelivered with the outbox back, then it is indexed and announced once
    world.repository.outbox_down = False
    assert handle_event(pipeline.embed, parsed, final_attempt=False) is EmbedOutcome.INDEXED
    assert handle_event(pipeline.embed, parsed, final_attempt=False) is EmbedOutcome.DUPLICATE
    assert world.event_types().count("document.indexed") == 1
