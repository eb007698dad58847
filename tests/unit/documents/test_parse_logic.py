"""Parse logic: status machine, failure codes, plain drops, idempotency — extraction faked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from documents import logic as api
from echo_documents.errors import DocumentStoreUnavailable
from echo_documents.layout import drop_document_id, parsed_key
from echo_documents.parsed import ExtractionFailed, FailureCode, ParsedDocument, TextBlock
from echo_documents.records import DocumentStatus
from echo_shared.authz import Classification
from echo_shared.authz.caller import Caller
from parse.logic import ParseOutcome, ParseService, parse_object

from tests.unit.documents.conftest import DocumentWorld

PARSED = ParsedDocument(
    media_type="application/pdf",
    page_count=2,
    blocks=(
        TextBlock("Quarterly revenue grew by 12 percent.", 1, ("Summary",), "paragraph"),
        TextBlock("Costs fell.", 2, ("Costs",), "paragraph"),
    ),
    language="en",
)


def _service(
    world: DocumentWorld, extract: Callable[[bytes], ParsedDocument], max_bytes: int = 1000
) -> ParseService:
    return ParseService(
        repository=world.repository,
        objects=world.objects,
        extract=extract,
        max_bytes=max_bytes,
        clock=world.clock,
    )


def _uploaded(world: DocumentWorld, caller: Caller, data: bytes = b"%PDF-1.7 ...") -> tuple[str, str]:
    created = api.create_document(
        world.service, caller, api.NewDocument("report.pdf", None, None, Classification.INTERNAL), "req-1"
    )
    key = created.record.object_key
    world.objects.write(key, data, "application/pdf")
    return created.record.document_id, key


def test_an_upload_is_parsed_and_handed_to_indexing(world: DocumentWorld, alice: Caller) -> None:
    document_id, key = _uploaded(world, alice)
    # When the notification arrives
    outcome = parse_object(_service(world, lambda _: PARSED), key, 12, "msg-1")
    # Then the parsed text is stored and the record waits for the index
    assert outcome is ParseOutcome.PARSED
    record = world.repository.get("acme", document_id)
    assert record is not None
    assert record.status is DocumentStatus.INDEXING
    assert (record.pages, record.media_type) == (2, "application/pdf")
    assert set(record.timings) == {"uploaded", "parsed"}
    stored = world.objects.read(parsed_key("acme", document_id), max_bytes=10**6)
    assert stored is not None
    assert ParsedDocument.from_json_bytes(stored) == PARSED
    # And uploaded then parsed were announced, with lengths but no text
    types = world.event_types()
    assert types.index("document.uploaded") < types.index("document.parsed")
    parsed_event = next(e for e in world.outbox.published if e.type == "document.parsed")
    assert parsed_event.data["chars"] == PARSED.char_count
    assert "revenue" not in parsed_event.to_json()


@pytest.mark.parametrize("code", list(FailureCode))
def test_extraction_failures_fail_the_document_with_their_code(
    world: DocumentWorld, alice: Caller, code: FailureCode
) -> None:
    document_id, key = _uploaded(world, alice)

    def refuse(_: bytes) -> ParsedDocument:
        raise ExtractionFailed(code, "the file cannot be read")

    assert parse_object(_service(world, refuse), key, 12, "msg-1") is ParseOutcome.FAILED
    record = world.repository.get("acme", document_id)
    assert record is not None
    assert record.status is DocumentStatus.FAILED
    assert record.failure is not None
    assert record.failure.code == code.value
    failed = next(e for e in world.outbox.published if e.type == "document.failed")
    assert failed.data["failure_code"] == code.value
    assert failed.outcome == "failure"


def test_an_object_over_the_limit_fails_too_large_without_being_read(
    world: DocumentWorld, alice: Caller
) -> None:
    document_id, key = _uploaded(world, alice, b"x" * 2000)

    def never(_: bytes) -> ParsedDocument:
        raise AssertionError("must not extract")

    assert parse_object(_service(world, never), key, 2000, "msg-1") is ParseOutcome.FAILED
    record = world.repository.get("acme", document_id)
    assert record is not None
    assert record.failure is not None
    assert record.failure.code == "too_large"


def test_a_redelivered_notification_is_a_duplicate(world: DocumentWorld, alice: Caller) -> None:
    _, key = _uploaded(world, alice)
    service = _service(world, lambda _: PARSED)
    parse_object(service, key, 12, "msg-1")
    committed = list(world.outbox.published)
    assert parse_object(service, key, 12, "msg-1") is ParseOutcome.DUPLICATE
    assert world.outbox.published == committed


def test_a_plain_drop_creates_its_record_owned_by_the_key_owner(world: DocumentWorld) -> None:
    key = "tenants/acme/users/bob/drop/minutes/2026-03.md"
    world.objects.write(key, b"# Minutes", "text/markdown")
    assert parse_object(_service(world, lambda _: PARSED), key, 9, "msg-1") is ParseOutcome.PARSED
    record = world.repository.get("acme", drop_document_id(key))
    assert record is not None
    assert (record.owner, record.filename, record.dropped) == ("bob", "2026-03.md", True)
    assert record.classification is Classification.INTERNAL
    assert record.status is DocumentStatus.INDEXING


def test_an_original_without_a_record_is_removed(world: DocumentWorld) -> None:
    key = "tenants/acme/users/bob/00000000-0000-0000-0000-0000000000ff/x.pdf"
    world.objects.write(key, b"%PDF", "application/pdf")
    assert parse_object(_service(world, lambda _: PARSED), key, 4, "msg-1") is ParseOutcome.ORPHAN
    assert key not in world.objects.objects


@pytest.mark.parametrize(
    "key",
    [
        "parsed/acme/x.json",
        "tenants/acme/x.pdf",
        "tenants/../users/bob/drop/x",
        "tenants/acme/users/bo b/drop/x",
    ],
)
def test_keys_outside_the_layout_are_not_documents(world: DocumentWorld, key: str) -> None:
    assert parse_object(_service(world, lambda _: PARSED), key, 1, "msg-1") is ParseOutcome.NOT_A_DOCUMENT
    assert world.repository.records == {}


def test_a_document_deleted_before_parsing_is_not_parsed(world: DocumentWorld, alice: Caller) -> None:
    document_id, key = _uploaded(world, alice)
    api.delete_document(world.service, alice, document_id, "req-del")
    assert parse_object(_service(world, lambda _: PARSED), key, 12, "msg-1") is ParseOutcome.ORPHAN
    assert parsed_key("acme", document_id) not in world.objects.objects


def test_an_upload_gone_before_parsing_fails_with_storage(world: DocumentWorld, alice: Caller) -> None:
    document_id, key = _uploaded(world, alice)
    world.objects.delete(key)
    assert parse_object(_service(world, lambda _: PARSED), key, 12, "msg-1") is ParseOutcome.FAILED
    record = world.repository.get("acme", document_id)
    assert record is not None
    assert record.failure is not None
    assert record.failure.code == "storage"


def test_a_parse_whose_event_cannot_be_written_is_retried_and_announced_once(
    world: DocumentWorld, alice: Caller
) -> None:
    # Given an upload, and an outbox that refuses writes after the record moved to `parsing`
    document_id, key = _uploaded(world, alice)
    service = _service(world, lambda _: PARSED)
    parsing = world.repository.advance

    def refuse_after_parsing(*args: Any, **kwargs: Any) -> None:
        parsing(*args, **kwargs)
        if args[2].status is DocumentStatus.PARSING:
            world.repository.outbox_down = True

    world.repository.advance = refuse_after_parsing  # type: ignore[method-assign]
    # When the notification is handled, the failure surfaces (SQS redelivers it)
    with pytest.raises(DocumentStoreUnavailable):
        parse_object(service, key, 12, "msg-1")
    # Then the record did not reach `indexing` and no document.parsed was written
    record = world.repository.get("acme", document_id)
    assert record is not None
    assert record.status is DocumentStatus.PARSING
    assert "document.parsed" not in world.event_types()
    # And the redelivery, with the outbox back, parses it and writes document.parsed once
    world.repository.advance = parsing  # type: ignore[method-assign]
    world.repository.outbox_down = False
    assert parse_object(service, key, 12, "msg-1") is ParseOutcome.PARSED
    assert parse_object(service, key, 12, "msg-1") is ParseOutcome.DUPLICATE
    assert [t for t in world.event_types() if t.startswith("document.")] == [
        "document.uploaded",
        "document.parsed",
    ]


def test_a_drop_commits_its_record_with_document_uploaded_and_a_redelivery_adds_none(
    world: DocumentWorld,
) -> None:
    key = "tenants/acme/users/bob/drop/notes.md"
    world.objects.write(key, b"# Notes", "text/markdown")
    service = _service(world, lambda _: PARSED)
    # Given the outbox refuses the first delivery's writes
    world.repository.outbox_down = True
    with pytest.raises(DocumentStoreUnavailable):
        parse_object(service, key, 7, "msg-1")
    assert world.repository.records == {}
    # When it is redelivered twice with the outbox back
    world.repository.outbox_down = False
    assert parse_object(service, key, 7, "msg-1") is ParseOutcome.PARSED
    assert parse_object(service, key, 7, "msg-1") is ParseOutcome.DUPLICATE
    # Then the drop was announced once, by its owner, and parsed once
    uploaded = [e for e in world.outbox.published if e.type == "document.uploaded"]
    assert [(e.actor, e.data["via"]) for e in uploaded] == [("user:bob", "drop")]
    assert world.event_types().count("document.parsed") == 1
