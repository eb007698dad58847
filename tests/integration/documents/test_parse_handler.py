"""The parse handler against moto with the real sandboxed extraction: S3 notifications in, parsed
text and status out; hostile files fail their document only; poison bodies go to the DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from echo_documents.layout import drop_document_id, parsed_key
from echo_documents.parsed import ParsedDocument
from echo_documents.repository import DynamoDocumentRepository

from tests.integration.documents.conftest import BUCKET, DOCUMENTS_TABLE, Bus, identity
from tests.unit.parse.documents import SHARED_FIXTURES as SHARED


def _notification(*keys_and_sizes: tuple[str, int]) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Post",
                    "s3": {
                        "bucket": {"name": BUCKET},
                        "object": {"key": key.replace(" ", "+"), "size": size},
                    },
                }
                for key, size in keys_and_sizes
            ]
        }
    )


@pytest.fixture
def parse(
    aws: Bus,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., dict[str, Any]]:
    from parse.handler import lambda_handler

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "parse")
    queue_url = boto3.client("sqs").get_queue_url(QueueName="echo-test-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queue_url)
    template = sample_event("audit_ingest.sqs.json")["Records"][0]

    def invoke(*bodies: str) -> dict[str, Any]:
        records = [dict(template, messageId=f"m-{n}", body=body) for n, body in enumerate(bodies)]
        return lambda_handler({"Records": records}, lambda_context)

    return invoke


def _drop(key: str, data: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)


def test_a_markdown_drop_and_an_encrypted_docx_in_one_batch(
    parse: Callable[..., dict[str, Any]], aws: Bus
) -> None:
    # Given a readable Markdown file and a password-protected DOCX dropped by bob
    good = "tenants/acme/users/bob/drop/rust data types.md"
    bad = "tenants/acme/users/bob/drop/locked.docx"
    _drop(good, (SHARED / "rust-book-ch03-02-data-types.md").read_bytes())
    _drop(bad, (SHARED / "password-protected.docx").read_bytes())
    # When their notifications arrive in one batch
    response = parse(_notification((good, 100)), _notification((bad, 100)))
    # Then both records succeed as SQS messages
    assert response == {"batchItemFailures": []}
    repository = DynamoDocumentRepository(DOCUMENTS_TABLE)
    ready = repository.get("acme", drop_document_id(good))
    failed = repository.get("acme", drop_document_id(bad))
    assert ready is not None
    assert failed is not None
    # And the Markdown document is parsed with its headings, waiting for the index
    assert (ready.status.value, ready.media_type, ready.owner) == ("indexing", "text/markdown", "bob")
    stored = (
        boto3.client("s3").get_object(Bucket=BUCKET, Key=parsed_key("acme", ready.document_id))["Body"].read()
    )
    parsed = ParsedDocument.from_json_bytes(stored)
    assert any(block.section for block in parsed.blocks)
    # And the encrypted one failed with its code
    assert failed.status.value == "failed"
    assert failed.failure is not None
    assert failed.failure.code == "encrypted"
    types = [e["type"] for e in aws.drain()]
    assert types.count("document.uploaded") == 2
    assert types.count("document.parsed") == 1
    assert types.count("document.failed") == 1


def test_an_api_upload_is_parsed_from_its_record(
    parse: Callable[..., dict[str, Any]], call: Callable[..., tuple[int, Any]]
) -> None:
    _, created = call("POST", "/documents", {"filename": "notes.txt"}, caller=identity("alice"))
    key = created["upload"]["fields"]["key"]
    _drop(key, "Grüße aus Köln. Die Messe beginnt um neun Uhr.".encode())
    assert parse(_notification((key, 50))) == {"batchItemFailures": []}
    record = DynamoDocumentRepository(DOCUMENTS_TABLE).get("acme", created["document_id"])
    assert record is not None
    assert (record.status.value, record.media_type) == ("indexing", "text/plain")
    assert set(record.timings) == {"uploaded", "parsed"}


def test_a_poison_body_goes_to_the_dlq_with_its_reason(parse: Callable[..., dict[str, Any]]) -> None:
    assert parse("not json at all") == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="echo-test-dlq")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["echo_failure_reason"]["StringValue"] == "body is not JSON"
