"""Document record changes commit with their events (ADR 0014): create, advance, share and the
purge's remove are each one DynamoDB transaction with the document.* rows in the documents outbox,
so a refused outbox row leaves the record as it was and a lost condition writes no event.
DynamoDB Local runs the real conditional transactions (moto does not serialize concurrent writes)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

import boto3
import pytest
from echo_documents.errors import DocumentExists, DocumentNotFound, DocumentStoreUnavailable, StaleStatus
from echo_documents.events import DocumentEvent, document_event
from echo_documents.records import DocumentRecord, DocumentStatus, Failure, Milestone, StatusChange
from echo_documents.repository import DynamoDocumentRepository
from echo_shared.authz import Classification
from echo_shared.events import EventEnvelope
from echo_shared.events.outbox import DynamoOutbox, outbox_position

from tests.integration.documents.conftest import DOCUMENTS_TABLE, OUTBOX_TABLE, table_definitions
from tests.integration.identity.dynamodb_local import CREDENTIALS, dynamodb_local

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DELIVERIES = 4


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """One DynamoDB Local per session with the documents table and the documents outbox."""
    with dynamodb_local() as endpoint:
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        for table in table_definitions():
            if table["TableName"] in (DOCUMENTS_TABLE, OUTBOX_TABLE):
                client.create_table(
                    TableName=table["TableName"],
                    KeySchema=table["KeySchema"],
                    AttributeDefinitions=table["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                )
        yield endpoint


@pytest.fixture
def store(
    echo_env: dict[str, str], dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> DynamoDocumentRepository:
    for name, value in {
        **CREDENTIALS,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": dynamodb_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return DynamoDocumentRepository(DOCUMENTS_TABLE, outbox=DynamoOutbox(OUTBOX_TABLE))


@pytest.fixture
def tenant() -> str:
    """A tenant of this test's own: its records and outbox rows are told apart from other tests'."""
    return f"t{uuid.uuid4().hex[:12]}"


def _record(tenant: str, status: DocumentStatus = DocumentStatus.AWAITING_UPLOAD) -> DocumentRecord:
    return DocumentRecord(
        tenant=tenant,
        document_id=str(uuid.uuid4()),
        owner="alice",
        filename="plan.pdf",
        object_key=f"tenants/{tenant}/users/alice/x/plan.pdf",
        status=status,
        classification=Classification.INTERNAL,
        created_at=NOW,
        updated_at=NOW,
        declared_type="application/pdf",
        size_bytes=100,
    )


def _event(kind: DocumentEvent, record: DocumentRecord) -> EventEnvelope:
    return document_event(kind, record, actor="system:parse", request_id="req-1")


def _outbox_events(tenant: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").query(
        TableName=OUTBOX_TABLE,
        KeyConditionExpression="tenant = :t",
        ExpressionAttributeValues={":t": {"S": tenant}},
        ConsistentRead=True,
    )["Items"]
    return [json.loads(item["event"]["S"]) for item in items]


def _occupy(event: EventEnvelope) -> None:
    """A row already at the event's outbox position: DynamoDB refuses to put the event there."""
    boto3.client("dynamodb").put_item(
        TableName=OUTBOX_TABLE,
        Item={
            "tenant": {"S": event.tenant},
            "position": {"S": outbox_position(event)},
            "event": {"S": "{}"},
            "expires_at": {"N": "1"},
        },
    )


def test_a_status_change_writes_the_record_and_its_event_together(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    # Given a document being parsed
    record = _record(tenant, DocumentStatus.PARSING)
    store.create(record)
    # When parse moves it to indexing with the facts it learned and its document.parsed
    now = NOW + timedelta(seconds=5)
    change = StatusChange(
        {DocumentStatus.PARSING},
        DocumentStatus.INDEXING,
        milestone=Milestone.PARSED,
        media_type="application/pdf",
        pages=3,
        size_bytes=2048,
    )
    indexing = change.applied_to(record, now)
    event = _event(DocumentEvent.PARSED, indexing)
    store.advance(tenant, record.document_id, change, now, events=[event])
    # Then the stored record is exactly what the change computed (no ALL_NEW to read back)
    assert store.get(tenant, record.document_id) == indexing
    # And the event waits in the documents outbox, reporting that record
    [stored] = _outbox_events(tenant)
    assert (stored["event_id"], stored["type"]) == (str(event.event_id), "document.parsed")
    assert (stored["data"]["status"], stored["data"]["pages"]) == ("indexing", 3)


def test_a_creation_and_a_share_commit_with_their_events(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    record = _record(tenant, DocumentStatus.UPLOADED)
    store.create(record, events=[_event(DocumentEvent.UPLOADED, record)])
    shared = record.with_readers(users=["bob"], roles=["auditor"], now=NOW + timedelta(seconds=1))
    store.share(
        tenant,
        record.document_id,
        users=["bob"],
        roles=["auditor"],
        now=shared.updated_at,
        events=[_event(DocumentEvent.SHARED, shared)],
    )
    assert store.get(tenant, record.document_id) == shared
    assert sorted(e["type"] for e in _outbox_events(tenant)) == ["document.shared", "document.uploaded"]


def test_a_refused_outbox_row_leaves_the_record_unchanged(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    # Given a document awaiting its upload, and its document.uploaded's outbox position taken
    record = _record(tenant)
    store.create(record)
    change = StatusChange(
        {DocumentStatus.AWAITING_UPLOAD}, DocumentStatus.UPLOADED, milestone=Milestone.UPLOADED
    )
    event = _event(DocumentEvent.UPLOADED, change.applied_to(record, NOW))
    _occupy(event)
    # When the change is written, the store is unavailable (not a stale status: SQS retries)
    with pytest.raises(DocumentStoreUnavailable):
        store.advance(tenant, record.document_id, change, NOW, events=[event])
    # Then the record is as it was, and only the occupying row is in the outbox
    assert store.get(tenant, record.document_id) == record
    assert _outbox_events(tenant) == [{}]


def test_a_refused_outbox_row_creates_and_removes_nothing(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    dropped = _record(tenant, DocumentStatus.UPLOADED)
    uploaded = _event(DocumentEvent.UPLOADED, dropped)
    _occupy(uploaded)
    with pytest.raises(DocumentStoreUnavailable):
        store.create(dropped, events=[uploaded])
    assert store.get(tenant, dropped.document_id) is None
    deleted = _record(tenant, DocumentStatus.DELETED)
    store.create(deleted)
    purged = _event(DocumentEvent.PURGED, deleted)
    _occupy(purged)
    with pytest.raises(DocumentStoreUnavailable):
        store.remove(tenant, deleted.document_id, events=[purged])
    assert store.get(tenant, deleted.document_id) == deleted


def test_a_lost_condition_raises_as_before_and_writes_no_event(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    # Given a document deleted meanwhile, and one that exists already
    deleted = _record(tenant, DocumentStatus.DELETED)
    store.create(deleted)
    failing = StatusChange(
        {DocumentStatus.INDEXING}, DocumentStatus.FAILED, failure=Failure("empty", "no text")
    )
    # Then each change whose condition fails raises its domain error and writes no event
    with pytest.raises(StaleStatus):
        store.advance(
            tenant,
            deleted.document_id,
            failing,
            NOW,
            events=[_event(DocumentEvent.FAILED, failing.applied_to(deleted, NOW))],
        )
    with pytest.raises(StaleStatus):  # the purge of an unknown record (purged by another delivery)
        store.remove(tenant, str(uuid.uuid4()), events=[_event(DocumentEvent.PURGED, deleted)])
    with pytest.raises(DocumentNotFound):
        store.share(
            tenant,
            deleted.document_id,
            users=["bob"],
            roles=[],
            now=NOW,
            events=[_event(DocumentEvent.SHARED, deleted)],
        )
    with pytest.raises(DocumentExists):
        store.create(deleted, events=[_event(DocumentEvent.UPLOADED, deleted)])
    live = _record(tenant, DocumentStatus.READY)
    store.create(live)
    with pytest.raises(StaleStatus):  # a live record is never purged
        store.remove(tenant, live.document_id, events=[_event(DocumentEvent.PURGED, live)])
    assert _outbox_events(tenant) == []
    assert store.get(tenant, deleted.document_id) == deleted
    assert store.get(tenant, live.document_id) == live


def test_concurrent_deliveries_of_one_step_commit_one_event(
    store: DynamoDocumentRepository, tenant: str
) -> None:
    # Given a document being indexed, and the same step delivered four times at once
    record = _record(tenant, DocumentStatus.INDEXING)
    store.create(record)
    barrier = Barrier(DELIVERIES)
    change = StatusChange(
        {DocumentStatus.INDEXING}, DocumentStatus.READY, milestone=Milestone.INDEXED, chunks=2
    )

    def deliver(_: int) -> str:
        event = _event(DocumentEvent.INDEXED, change.applied_to(record, NOW))  # each its own event id
        barrier.wait()
        try:
            store.advance(tenant, record.document_id, change, NOW, events=[event])
        except StaleStatus:
            return "stale"
        except DocumentStoreUnavailable:  # a transaction conflict: SQS would retry it, then go stale
            return "retry"
        return "committed"

    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        results = list(pool.map(deliver, range(DELIVERIES)))
    # Then one commits, and exactly one document.indexed was written
    assert results.count("committed") == 1, results
    assert [e["type"] for e in _outbox_events(tenant)] == ["document.indexed"]
