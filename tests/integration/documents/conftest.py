"""moto fixtures for the document functions: the documents table and the documents outbox from the
synthesized authz test stack, the documents bucket, and a queue on the topics reading back what was
published directly (decisions) and what the relay published from the outbox (document.*)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from echo_shared.events.producers import DOCUMENTS
from moto import mock_aws

from tests.fakes.events import TEST_TOPICS
from tests.integration.outbox_relay import capture_bus, outbox_stream
from tests.integration.stack_template import AUTHZ

POLICY_TABLE = "echo-local-authz-policies"
DOCUMENTS_TABLE = "echo-local-documents"
OUTBOX_TABLE = "echo-local-outbox-documents"
BUCKET = "echo-test-documents"
TENANT = "acme"
_CREATE_TABLE_KEYS = ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode")


@pytest.fixture
def documents_env(monkeypatch: pytest.MonkeyPatch, echo_env: dict[str, str]) -> dict[str, str]:
    values = {
        "AUTHZ_POLICY_TABLE": POLICY_TABLE,
        "AUTHZ_DOCUMENTS_TABLE": DOCUMENTS_TABLE,
        "AUTHZ_REFRESH_SECONDS": "0",
        "DOCUMENTS_TABLE": DOCUMENTS_TABLE,
        "OUTBOX_TABLE": OUTBOX_TABLE,
        "DOCUMENTS_BUCKET": BUCKET,
        "UPLOAD_MAX_BYTES": str(1024 * 1024),
        "PARSE_MAX_BYTES": str(1024 * 1024),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**echo_env, **values}


def table_definitions() -> list[dict[str, Any]]:
    """The documents table, the policy table and the documents producer's outbox, as synthesized."""
    tables = AUTHZ.template("local").find_resources("AWS::DynamoDB::Table")
    return [
        table["Properties"]
        for logical_id, table in tables.items()
        if logical_id.startswith(("Authz", "OutboxDocumentsTable"))
    ]


@dataclass
class Bus:
    queue_url: str
    relay: Callable[[], None]

    def outbox_events(self) -> list[dict[str, Any]]:
        """What waits in the documents outbox (committed, not relayed yet)."""
        items = boto3.client("dynamodb").scan(TableName=OUTBOX_TABLE, ConsistentRead=True)["Items"]
        return [json.loads(item["event"]["S"]) for item in items]

    def drain(self) -> list[dict[str, Any]]:
        """Relay the outbox (as its stream's mapping would), then read everything published."""
        self.relay()
        sqs = boto3.client("sqs")
        events: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(documents_env: dict[str, str], lambda_context: Any) -> Iterator[Bus]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for properties in table_definitions():
            dynamodb.create_table(**{key: properties[key] for key in _CREATE_TABLE_KEYS})  # type: ignore[arg-type]
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        # Decisions are published directly (EVENT_TOPIC_ARN); document.* by the relay, on the documents topic.
        queue_url = capture_bus(
            "documents-test-events", documents_env["EVENT_TOPIC_ARN"], TEST_TOPICS[DOCUMENTS]
        )
        boto3.client("sqs").create_queue(QueueName="echo-test-dlq")
        yield Bus(queue_url, outbox_stream(dynamodb, OUTBOX_TABLE, lambda_context))


def identity(
    sub: str = "alice",
    *,
    roles: str = "member",
    scope: str = "documents:read documents:write",
    tenant: str = TENANT,
) -> dict[str, Any]:
    """The identity service's authorizer context, as API Gateway passes it (all strings)."""
    return {
        "principalId": sub,
        "sub": sub,
        "tenant": tenant,
        "roles": roles,
        "scope": scope,
        "client_id": "web",
        "token_type": "user",
        "jti": f"jti-{sub}",
    }


@pytest.fixture
def call(
    aws: Bus, aws_fixture_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> Callable[..., tuple[int, Any]]:
    """Invoke the documents handler with a real-shaped REST proxy event; returns (status, JSON body)."""
    from documents.handler import lambda_handler

    def invoke(
        method: str,
        path: str,
        body: Any = None,
        *,
        caller: dict[str, Any] | None,
        resource: str | None = None,
    ) -> tuple[int, Any]:
        event = aws_fixture_event("apiGatewayProxyEvent.json")
        event.update(
            {
                "resource": resource or path,
                "path": path,
                "httpMethod": method,
                "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {"Content-Type": ["application/json"]},
                "queryStringParameters": None,
                "multiValueQueryStringParameters": None,
                "pathParameters": None,
                "body": None if body is None else json.dumps(body),
                "isBase64Encoded": False,
            }
        )
        event["requestContext"].update(
            {"path": f"/v1{path}", "resourcePath": resource or path, "httpMethod": method}
        )
        event["requestContext"]["authorizer"] = caller
        response = lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"] or "null")

    return invoke
