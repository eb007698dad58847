"""moto fixtures for the document functions: the documents table from the synthesized authz
construct, the documents bucket, the event topic with a queue to read back what was published."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.integration.stack_template import AUTHZ

POLICY_TABLE = "echo-local-authz-policies"
DOCUMENTS_TABLE = "echo-local-documents"
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
        "DOCUMENTS_BUCKET": BUCKET,
        "UPLOAD_MAX_BYTES": str(1024 * 1024),
        "PARSE_MAX_BYTES": str(1024 * 1024),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**echo_env, **values}


@dataclass
class Bus:
    queue_url: str

    def drain(self) -> list[dict[str, Any]]:
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
def aws(documents_env: dict[str, str]) -> Iterator[Bus]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for properties in AUTHZ.table_definitions("local").values():
            dynamodb.create_table(**{key: properties[key] for key in _CREATE_TABLE_KEYS})  # type: ignore[arg-type]
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        topic_arn = boto3.client("sns").create_topic(Name=documents_env["EVENT_TOPIC_ARN"].rsplit(":", 1)[1])[
            "TopicArn"
        ]
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="documents-test-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        boto3.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        sqs.create_queue(QueueName="echo-test-dlq")
        yield Bus(queue_url)


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
