"""The parse/embed shared pieces: failing a document from its stage, and the poison-guarded batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from echo_documents.errors import DocumentStoreUnavailable
from echo_documents.pipeline import Stage, consume_batch, fail_document
from echo_documents.records import DocumentRecord, DocumentStatus, Failure
from echo_shared.authz import Classification
from echo_shared.events import InvalidEvent

from tests.fakes.dead_letters import InMemoryDeadLetterSink
from tests.unit.documents.conftest import TENANT, StepClock
from tests.unit.documents.fakes import InMemoryDocumentRepository

STAGE = Stage("index", DocumentStatus.INDEXING, "system:embed")


@dataclass(frozen=True)
class _Service:
    repository: InMemoryDocumentRepository
    clock: StepClock


def _service_with(status: DocumentStatus) -> tuple[_Service, DocumentRecord]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    record = DocumentRecord(
        tenant=TENANT,
        document_id="doc-1",
        owner="alice",
        filename="secret plan.pdf",
        object_key=f"tenants/{TENANT}/users/alice/doc-1/plan.pdf",
        status=status,
        classification=Classification.INTERNAL,
        created_at=now,
        updated_at=now,
    )
    service = _Service(InMemoryDocumentRepository(), StepClock())
    service.repository.create(record)
    return service, record


def test_a_document_in_the_stage_status_fails_with_its_code_and_one_event() -> None:
    # Given a document being indexed
    service, record = _service_with(DocumentStatus.INDEXING)
    # When the stage fails it
    failed = fail_document(service, record, Failure("empty", "no text"), STAGE, "req-1")
    # Then the record holds the failure and one document.failed names the code and the stage
    assert failed is True
    stored = service.repository.get(TENANT, "doc-1")
    assert stored is not None
    assert stored.status is DocumentStatus.FAILED
    assert stored.failure == Failure("empty", "no text")
    [event] = service.repository.outbox.published  # committed with the status change
    assert event.type == "document.failed"
    assert event.actor == "system:embed"
    assert event.data["failure_code"] == "empty"
    assert event.data["stage"] == "index"
    assert "secret plan" not in json.dumps(event.data)


def test_a_document_past_the_stage_is_left_alone() -> None:
    # Given a document deleted meanwhile
    service, record = _service_with(DocumentStatus.DELETED)
    # When the stage tries to fail it, nothing changes and no event is written
    assert fail_document(service, record, Failure("empty", "no text"), STAGE, "req-1") is False
    stored = service.repository.get(TENANT, "doc-1")
    assert stored is not None
    assert stored.status is DocumentStatus.DELETED
    assert service.repository.outbox.published == []


def test_a_failure_whose_event_cannot_be_written_leaves_the_document_in_its_stage() -> None:
    # Given a document being indexed, and an outbox DynamoDB refuses
    service, record = _service_with(DocumentStatus.INDEXING)
    service.repository.outbox_down = True
    # When the stage fails it, the error surfaces (SQS retries the message)
    with pytest.raises(DocumentStoreUnavailable):
        fail_document(service, record, Failure("empty", "no text"), STAGE, "req-1")
    # Then neither the status nor an event was written
    assert service.repository.get(TENANT, "doc-1") == record
    assert service.repository.outbox.published == []


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": "rh",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def _parse(body: str) -> int:
    try:
        value = json.loads(body)
    except ValueError:
        raise InvalidEvent("body is not JSON") from None
    if not isinstance(value, int):
        raise InvalidEvent("body is not a number")
    return value


def test_poison_goes_to_the_dlq_and_a_failing_record_fails_alone() -> None:
    # Given a batch of a good body, a poison body and a body whose handling fails
    sink = InMemoryDeadLetterSink()
    handled: list[int] = []

    def handle(_record: Any, value: int) -> None:
        if value < 0:
            raise RuntimeError("storage down")
        handled.append(value)

    # When the batch is consumed
    response = consume_batch(
        _sqs_event("1", "not json", "-1"),
        None,  # type: ignore[arg-type]
        parse=_parse,
        handle=handle,
        dead_letters=lambda: sink,
        poison_metric="TestPoison",
    )
    # Then the good one is handled, the poison one quarantined with its reason, the failing one retried
    assert handled == [1]
    assert [(m["message_id"], m["reason"]) for m in sink.messages] == [("m-1", "body is not JSON")]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


def test_poison_that_the_dlq_refuses_fails_the_record_so_sqs_redrives_it() -> None:
    sink = InMemoryDeadLetterSink(failing=True)
    response = consume_batch(
        _sqs_event("[]"),
        None,  # type: ignore[arg-type]
        parse=_parse,
        handle=lambda _record, _value: None,
        dead_letters=lambda: sink,
        poison_metric="TestPoison",
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
