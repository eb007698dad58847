"""moto fixtures for the authz API: tables built from the synthesized construct, the event topic
with a raw-delivery queue to read back what was published, and real-shaped API Gateway events."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from authz.handler import lambda_handler
from moto import mock_aws

from tests.integration.outbox_relay import capture_bus, outbox_stream
from tests.integration.stack_template import AUTHZ

POLICY_TABLE = "echo-local-authz-policies"
OUTBOX_TABLE = "echo-local-outbox-authz"  # its own producer's outbox (ADR 0016)
DOCUMENTS_TABLE = "echo-local-documents"
TENANT = "acme"
_CREATE_TABLE_KEYS = ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode")


@pytest.fixture
def authz_env(monkeypatch: pytest.MonkeyPatch, echo_env: dict[str, str]) -> dict[str, str]:
    values = {
        "AUTHZ_POLICY_TABLE": POLICY_TABLE,
        "AUTHZ_DOCUMENTS_TABLE": DOCUMENTS_TABLE,
        "OUTBOX_TABLE": OUTBOX_TABLE,
        # Every request re-reads the active version, so activation shows in the very next decision.
        "AUTHZ_REFRESH_SECONDS": "0",
        "POWERTOOLS_SERVICE_NAME": "authz",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**echo_env, **values}


@dataclass
class Bus:
    """The event topic and a queue subscribed to everything on it; the outbox is relayed to it."""

    queue_url: str
    relay: Callable[[], None]

    def drain(self) -> list[dict[str, Any]]:
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
def aws(authz_env: dict[str, str], lambda_context: Any) -> Iterator[Bus]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        (outbox,) = [
            resource["Properties"]
            for logical_id, resource in AUTHZ.template("local").find_resources("AWS::DynamoDB::Table").items()
            if logical_id.startswith("OutboxAuthzTable")
        ]
        for properties in [*AUTHZ.table_definitions("local").values(), outbox]:
            dynamodb.create_table(**{key: properties[key] for key in _CREATE_TABLE_KEYS})  # type: ignore[arg-type]
        # Decisions on the decider's topic, policy events relayed to the authz topic (ADR 0016)
        queue_url = capture_bus("authz-test-events", authz_env["EVENT_TOPIC_ARN"])
        yield Bus(queue_url, outbox_stream(dynamodb, OUTBOX_TABLE, lambda_context))


def identity(
    sub: str = "alice",
    *,
    roles: str = "member",
    # A token granted every API scope: roles decide (the scope rules have their own tests).
    scope: str = "openid authz:admin users:admin logs:read audit:read documents:read documents:write",
    token_type: str = "user",
    tenant: str = TENANT,
    client_id: str = "web",
) -> dict[str, Any]:
    """The identity service's authorizer context, as API Gateway passes it (all strings)."""
    return {
        "principalId": sub,
        "sub": sub,
        "tenant": tenant,
        "roles": roles,
        "scope": scope,
        "client_id": client_id,
        "token_type": token_type,
        "jti": f"jti-{sub}",
        "integrationLatency": 7,
    }


ADMIN = identity("root", roles="admin")
MEMBER = identity("bob", roles="member")
SERVICE = identity(
    "svc-query", roles="", scope="authz:check documents:read", token_type="client", client_id="svc-query"
)


@pytest.fixture
def call(
    aws: Bus, aws_fixture_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> Callable[..., tuple[int, dict[str, Any]]]:
    """Invoke the handler with a real-shaped REST proxy event; returns (status, JSON body)."""

    def invoke(
        method: str,
        path: str,
        body: Any = None,
        *,
        caller: dict[str, Any] | None,
        resource: str | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        event = aws_fixture_event("apiGatewayProxyEvent.json")
        event.update(
            {
                "resource": resource or path,
                "path": path,
                "httpMethod": method,
                "headers": {"Content-Type": "application/json", "Accept": "application/json"},
                "multiValueHeaders": {"Content-Type": ["application/json"], "Accept": ["application/json"]},
                "queryStringParameters": query,
                "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
                "pathParameters": path_parameters,
                "body": None if body is None else json.dumps(body),
                "isBase64Encoded": False,
            }
        )
        context = event["requestContext"]
        context.update(
            {"path": f"/v1{path}", "resourcePath": resource or path, "httpMethod": method, "stage": "v1"}
        )
        context["authorizer"] = caller
        response = lambda_handler(event, lambda_context)
        return response["statusCode"], json.loads(response["body"] or "null")

    return invoke


def question(
    user: str, action: str, resource_type: str, resource_id: str, **principal: Any
) -> dict[str, Any]:
    """A check body about User `user`; `principal` adds stated facts (tenant, roles)."""
    return {
        "principal": {"type": "User", "id": user, **principal},
        "action": action,
        "resource": {"type": resource_type, "id": resource_id},
    }


def put_document(document_id: str, owner: str, classification: str = "internal", **sets: list[str]) -> None:
    """A documents-metadata record as the document service will write it (string sets, absent if empty)."""
    item: dict[str, Any] = {
        "tenant": {"S": TENANT},
        "document_id": {"S": document_id},
        "owner": {"S": owner},
        "classification": {"S": classification},
        "title": {"S": f"{document_id}.pdf"},
    }
    for name, values in sets.items():
        if values:
            item[name] = {"SS": values}
    boto3.client("dynamodb").put_item(TableName=DOCUMENTS_TABLE, Item=item)
