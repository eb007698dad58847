"""The embed and query handlers against moto, driven by production-format events: the SQS records
the embed queue delivers (raw SNS delivery of the bus's envelopes, `sqsEvent.json` shape) and the
API Gateway REST proxy events of POST /query (`apiGatewayProxyEvent.json` shape, authorizer context).

The document travels the real pipeline: documents API -> S3 -> parse handler -> the document.parsed
envelope read back from the bus -> embed handler -> S3 index -> query handler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from echo_documents.layout import parsed_key
from echo_documents.repository import DynamoDocumentRepository

from tests.integration.documents.conftest import BUCKET, DOCUMENTS_TABLE, TENANT, Bus, identity
from tests.retrieval_support import model_directory

__all__ = ["model_directory"]

NOTE = (
    "# Harbour operations\n\n"
    "The night ferry to Lindholm leaves from pier seven at 23:40 every weekday. "
    "Tickets for the night ferry are sold at the pier kiosk only.\n\n"
    "## Cargo\n\nRefrigerated containers are inspected on arrival by the port veterinarian.\n"
)
QUESTION = "From which pier does the night ferry to Lindholm leave?"
NOT_ENOUGH = "Not enough information"


@pytest.fixture
def pipeline_env(aws: Bus, model_directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ECHO_MODEL_DIR", str(model_directory))
    monkeypatch.setenv("ECHO_EMBED_THREADS", "1")
    monkeypatch.setenv("INDEX_BUCKET", BUCKET)
    monkeypatch.setenv("ECHO_ANSWERER", "extractive")
    dlq_url = boto3.client("sqs").get_queue_url(QueueName="echo-test-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    return dlq_url


@pytest.fixture
def sqs_batch(aws_fixture_event: Callable[[str], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """An SQS event as Lambda receives it, one record per body (the shared fixture's record shape)."""
    template = aws_fixture_event("sqsEvent.json")["Records"][0]

    def build(*bodies: str, receives: int = 1) -> dict[str, Any]:
        records = []
        for n, body in enumerate(bodies):
            record = json.loads(json.dumps(template))
            record.update(
                messageId=f"msg-{n}",
                body=body,
                eventSourceARN="arn:aws:sqs:eu-west-1:123456789012:echo-local-embed",
                awsRegion="eu-west-1",
            )
            record["attributes"]["ApproximateReceiveCount"] = str(receives)
            records.append(record)
        return {"Records": records}

    return build


@pytest.fixture
def embed(
    pipeline_env: str,
    sqs_batch: Callable[..., dict[str, Any]],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., dict[str, Any]]:
    from embed.handler import lambda_handler

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "embed")

    def invoke(*bodies: str, receives: int = 1) -> dict[str, Any]:
        return lambda_handler(sqs_batch(*bodies, receives=receives), lambda_context)

    return invoke


@pytest.fixture
def parse(
    pipeline_env: str, sqs_batch: Callable[..., dict[str, Any]], lambda_context: Any
) -> Callable[[str, int], dict[str, Any]]:
    from parse.handler import lambda_handler

    def invoke(key: str, size: int) -> dict[str, Any]:
        notification = {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Post",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": size}},
                }
            ]
        }
        return lambda_handler(sqs_batch(json.dumps(notification)), lambda_context)

    return invoke


@pytest.fixture
def ask(
    pipeline_env: str, aws_fixture_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> Callable[..., tuple[int, Any]]:
    """POST /query through the query handler with a REST proxy event; returns (status, JSON body)."""
    from query.handler import lambda_handler

    def invoke(body: Any, *, caller: dict[str, Any] | None, raw: str | None = None) -> tuple[int, Any]:
        event = aws_fixture_event("apiGatewayProxyEvent.json")
        event.update(
            {
                "resource": "/query",
                "path": "/query",
                "httpMethod": "POST",
                "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {"Content-Type": ["application/json"]},
                "queryStringParameters": None,
                "multiValueQueryStringParameters": None,
                "pathParameters": None,
                "body": raw if raw is not None else json.dumps(body),
                "isBase64Encoded": False,
            }
        )
        event["requestContext"].update({"path": "/v1/query", "resourcePath": "/query", "httpMethod": "POST"})
        event["requestContext"]["authorizer"] = caller
        response = lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"] or "null")

    return invoke


def _published(aws: Bus, event_type: str) -> list[dict[str, Any]]:
    return [event for event in aws.drain() if event["type"] == event_type]


@pytest.fixture
def parsed_note(
    aws: Bus,
    call: Callable[..., tuple[int, Any]],
    parse: Callable[[str, int], dict[str, Any]],
) -> tuple[str, str]:
    """alice's Markdown note, uploaded and parsed: (document id, the document.parsed envelope as JSON)."""
    status, created = call(
        "POST", "/documents", {"filename": "harbour.md", "content_type": "text/markdown"}, caller=identity()
    )
    assert status == 201
    key = created["upload"]["fields"]["key"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=NOTE.encode())
    assert parse(key, len(NOTE.encode())) == {"batchItemFailures": []}
    [parsed] = _published(aws, "document.parsed")
    return created["document_id"], json.dumps(parsed)


def _record(document_id: str) -> Any:
    record = DynamoDocumentRepository(DOCUMENTS_TABLE).get(TENANT, document_id)
    assert record is not None
    return record


def test_a_parsed_event_indexes_the_document_and_the_owner_gets_a_cited_answer(
    aws: Bus,
    parsed_note: tuple[str, str],
    embed: Callable[..., dict[str, Any]],
    ask: Callable[..., tuple[int, Any]],
) -> None:
    document_id, parsed_event = parsed_note
    # When the embed queue delivers the document.parsed envelope
    assert embed(parsed_event) == {"batchItemFailures": []}
    # Then the document is ready with its chunks, its segment is in the tenant's manifest
    record = _record(document_id)
    assert record.status.value == "ready"
    assert record.chunks is not None
    assert record.chunks >= 1
    s3 = boto3.client("s3")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"index/{TENANT}/manifest.json")["Body"].read())
    assert list(manifest["segments"]) == [document_id]
    [indexed] = _published(aws, "document.indexed")
    assert indexed["data"]["document_id"] == document_id
    # And the owner's question is answered from, and cites, that document
    status, body = ask({"question": QUESTION}, caller=identity())
    assert status == 200
    assert body["enough_information"] is True
    assert "pier seven" in body["answer"]
    assert [c["document_id"] for c in body["citations"]] == [document_id]
    assert body["citations"][0]["filename"] == "harbour.md"
    assert body["retrieval"]["method"] == "hybrid"
    # And its decisions and its answer leave on the query's own topic, the documents' (a decision
    # belongs to its decider, ADR 0016); the answer carries hashes and lengths, never the question
    published = aws.drain()
    [answered] = [event for event in published if event["type"] == "query.answered"]
    decisions = [event for event in published if event["type"] == "authz.decision"]
    assert decisions
    assert {event["tenant"] for event in decisions} == {TENANT}
    assert QUESTION not in json.dumps(answered)
    assert answered["data"]["question_chars"] == len(QUESTION)


def test_other_tenants_and_deleted_documents_give_not_enough_information(
    parsed_note: tuple[str, str],
    embed: Callable[..., dict[str, Any]],
    ask: Callable[..., tuple[int, Any]],
    call: Callable[..., tuple[int, Any]],
    aws: Bus,
) -> None:
    document_id, parsed_event = parsed_note
    assert embed(parsed_event) == {"batchItemFailures": []}
    # A member of another tenant asking the same question gets no text from acme
    status, body = ask({"question": QUESTION}, caller=identity("mallory", tenant="globex"))
    assert status == 200
    assert body["enough_information"] is False
    assert body["citations"] == []
    assert body["answer"].startswith(NOT_ENOUGH)
    # Once alice deletes it, it is unanswerable at once, while its segment still exists
    assert (
        call("DELETE", f"/documents/{document_id}", caller=identity(), resource="/documents/{id}")[0] == 202
    )
    status, body = ask({"question": QUESTION}, caller=identity())
    assert (status, body["citations"], body["enough_information"]) == (200, [], False)
    # And the document.deleted envelope, delivered to the embed queue, purges everything
    [deleted] = _published(aws, "document.deleted")
    assert embed(json.dumps(deleted)) == {"batchItemFailures": []}
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [k for k in keys if document_id in k]
    assert DynamoDocumentRepository(DOCUMENTS_TABLE).get(TENANT, document_id) is None
    assert [e["type"] for e in aws.drain()].count("document.purged") == 1


def test_a_redelivered_parsed_event_is_a_no_op(
    parsed_note: tuple[str, str], embed: Callable[..., dict[str, Any]], lambda_output: Any
) -> None:
    document_id, parsed_event = parsed_note
    assert embed(parsed_event) == {"batchItemFailures": []}
    indexed_at = _record(document_id).timings["indexed"]
    # The same message delivered again (SQS is at least once)
    assert embed(parsed_event, receives=2) == {"batchItemFailures": []}
    assert _record(document_id).timings["indexed"] == indexed_at
    outcomes = [log.get("outcome") for log in lambda_output.logs() if log.get("message") == "event processed"]
    assert outcomes == ["indexed", "duplicate"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "body is not JSON"),
        ("[1, 2]", "body is not a JSON object"),
        (json.dumps({"type": "document.parsed"}), "invalid envelope: "),
    ],
)
def test_a_poison_body_goes_to_the_embed_dlq_with_its_reason(
    pipeline_env: str, embed: Callable[..., dict[str, Any]], body: str, reason: str
) -> None:
    assert embed(body) == {"batchItemFailures": []}
    [message] = boto3.client("sqs").receive_message(QueueUrl=pipeline_env, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert message["Body"] == body
    assert message["MessageAttributes"]["echo_failure_reason"]["StringValue"].startswith(reason)
    assert message["MessageAttributes"]["echo_source_message_id"]["StringValue"] == "msg-0"


def test_missing_parsed_text_fails_the_document_with_the_storage_code(
    aws: Bus, parsed_note: tuple[str, str], embed: Callable[..., dict[str, Any]]
) -> None:
    document_id, parsed_event = parsed_note
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=parsed_key(TENANT, document_id))
    assert embed(parsed_event) == {"batchItemFailures": []}
    record = _record(document_id)
    assert record.status.value == "failed"
    assert record.failure is not None
    assert record.failure.code == "storage"
    [failed] = _published(aws, "document.failed")
    assert (failed["data"]["failure_code"], failed["data"]["stage"]) == ("storage", "index")


def test_an_unwritable_index_is_retried_and_fails_the_document_on_the_last_receive(
    parsed_note: tuple[str, str], embed: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    document_id, parsed_event = parsed_note
    monkeypatch.setenv("INDEX_BUCKET", "echo-test-no-such-index")
    # An early delivery fails the record only (SQS retries it); the document stays indexing
    assert embed(parsed_event, receives=1) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert _record(document_id).status.value == "indexing"
    # The last one (EMBED_MAX_RECEIVES, 5) marks it failed before the message goes to the DLQ
    assert embed(parsed_event, receives=5) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    record = _record(document_id)
    assert record.status.value == "failed"
    assert record.failure is not None
    assert record.failure.code == "index_failed"


@pytest.mark.parametrize(
    ("body", "caller", "status", "code"),
    [
        ({"question": "   "}, identity(), 422, "validation_error"),
        ({"question": "x" * 2001}, identity(), 422, "validation_error"),
        ({"question": "ferry?", "top_k": 0}, identity(), 422, "validation_error"),
        ({"question": "ferry?", "top_k": 21}, identity(), 422, "validation_error"),
        ({"question": "ferry?", "unexpected": 1}, identity(), 422, "validation_error"),
        ({"question": "ferry?", "document_ids": ["d"] * 101}, identity(), 422, "validation_error"),
        ({"question": "ferry?"}, None, 401, "unauthenticated"),
        ({"question": "ferry?"}, identity(scope="documents:write"), 403, "forbidden"),
    ],
)
def test_bad_queries_get_typed_errors(
    ask: Callable[..., tuple[int, Any]],
    body: dict[str, Any],
    caller: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    answered_status, answered = ask(body, caller=caller)
    assert (answered_status, answered["error"]["code"]) == (status, code)


def test_a_body_that_is_not_json_is_refused(ask: Callable[..., tuple[int, Any]]) -> None:
    status, body = ask(None, caller=identity(), raw="{not json")
    assert (status, body["error"]["code"]) == (422, "validation_error")


@pytest.fixture
def chunks(
    pipeline_env: str, aws_fixture_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> Callable[..., tuple[int, Any]]:
    """GET /documents/{id}/chunks through the query handler; returns (status, JSON body)."""
    from query.handler import lambda_handler

    def invoke(
        document_id: str, *, caller: dict[str, Any] | None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        event = aws_fixture_event("apiGatewayProxyEvent.json")
        path = f"/documents/{document_id}/chunks"
        event.update(
            {
                "resource": "/documents/{document_id}/chunks",
                "path": path,
                "httpMethod": "GET",
                "headers": {},
                "multiValueHeaders": {},
                "queryStringParameters": query,
                "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
                "pathParameters": {"document_id": document_id},
                "body": None,
                "isBase64Encoded": False,
            }
        )
        event["requestContext"].update(
            {"path": f"/v1{path}", "resourcePath": "/documents/{document_id}/chunks", "httpMethod": "GET"}
        )
        event["requestContext"]["authorizer"] = caller
        response = lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"] or "null")

    return invoke


def test_the_chunks_route_pages_a_readable_document_and_refuses_the_others(
    parsed_note: tuple[str, str],
    embed: Callable[..., dict[str, Any]],
    chunks: Callable[..., tuple[int, Any]],
) -> None:
    document_id, parsed_event = parsed_note
    # Not indexed yet: its owner is told so
    status, body = chunks(document_id, caller=identity())
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert embed(parsed_event) == {"batchItemFailures": []}
    # A member of the tenant reads the chunks, a page at a time
    status, body = chunks(document_id, caller=identity("bob"), query={"limit": "1"})
    assert status == 200
    assert body["filename"] == "harbour.md"
    assert body["total"] >= 1
    assert len(body["chunks"]) == 1
    assert body["chunks"][0]["chunk_id"] == f"{document_id}:{body['chunks'][0]['ordinal']}"
    assert any("pier seven" in c["text"] for c in chunks(document_id, caller=identity("bob"))[1]["chunks"])
    # Another tenant's member: 404; a token without the read scope: 403; bad inputs: 422
    assert chunks(document_id, caller=identity("mallory", tenant="globex"))[0] == 404
    assert chunks(document_id, caller=identity(scope="documents:write"))[0] == 403
    assert chunks(document_id, caller=identity(), query={"limit": "0"})[0] == 422
    assert chunks("../etc", caller=identity())[0] in {404, 422}
    assert chunks(document_id, caller=None)[0] == 401


def test_a_query_whose_audit_events_cannot_be_published_gets_no_answer(
    aws: Bus,
    parsed_note: tuple[str, str],
    embed: Callable[..., dict[str, Any]],
    ask: Callable[..., tuple[int, Any]],
) -> None:
    # Given an indexed document and a bus that has gone away
    _, parsed_event = parsed_note
    assert embed(parsed_event) == {"batchItemFailures": []}
    aws.drain()
    # (the query function's own topic: its decisions and answers are published directly)
    boto3.client("sns").delete_topic(TopicArn=os.environ["EVENT_TOPIC_ARN"])
    # When the owner asks
    status, body = ask({"question": QUESTION}, caller=identity())
    # Then a typed 503 comes back and no passage of the document with it
    assert status == 503
    assert body["error"]["code"] == "unavailable"
    assert "pier seven" not in json.dumps(body)
