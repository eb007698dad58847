"""The identity service under moto: tables built from the CDK template, the demo and other tenants
seeded with the real seeding code, the bus captured in an SQS queue, and the handlers behind an API Gateway
emulator that real OAuth clients (Authlib over httpx) talk to."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from echo_shared.lazy import reset_cached_resources
from moto import mock_aws
from moto.server import ThreadedMotoServer

from localstack.identity_seed import seed_identity
from stacks.identity import LOCAL_MEMBER_EMAIL_DOMAINS
from tests.integration.authz.conftest import DOCUMENTS_TABLE, POLICY_TABLE
from tests.integration.identity.dynamodb_local import CREDENTIALS, dynamodb_local, free_port
from tests.integration.identity.gateway import ISSUER, ApiGateway
from tests.integration.outbox_relay import capture_bus, outbox_stream
from tests.integration.stack_template import AUTHZ, IDENTITY

AUDIENCE = "urn:echo:api:local"


@dataclass
class IdentityWorld:
    demo: dict[str, Any]
    other_tenant: dict[str, Any]
    gateway: ApiGateway
    dynamodb: Any
    kms: Any
    sqs: Any
    queue_url: str
    tables: dict[str, str]

    relay: Callable[[], None]

    def published_events(self) -> list[dict[str, Any]]:
        """Relay the outbox (its stream, through the relay's handler), then drain the bus capture
        queue (raw delivery: each body is an envelope)."""
        self.relay()
        events: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _table_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for logical_id, properties in IDENTITY.table_definitions("local").items():
        if logical_id.startswith(("OutboxAuthzTable", "OutboxDocumentsTable")):
            continue  # the other producers' outboxes (ADR 0016): no identity function writes them
        env = (
            "IDENTITY_TABLE"
            if logical_id.startswith("IdentityIdentityTable")
            else "OUTBOX_TABLE"
            if logical_id.startswith("OutboxTable")
            else "SIGNING_KEYS_TABLE"
        )
        names[env] = properties["TableName"]
    return names


@pytest.fixture
def identity_env(echo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "ISSUER": ISSUER,
        "ACCESS_TOKEN_AUDIENCE": AUDIENCE,
        # The users API decides `user:admin` with the in-process Cedar client.
        "AUTHZ_POLICY_TABLE": POLICY_TABLE,
        "AUTHZ_DOCUMENTS_TABLE": DOCUMENTS_TABLE,
        "MEMBER_EMAIL_DOMAINS": LOCAL_MEMBER_EMAIL_DOMAINS,
        **_table_names(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return echo_env | env


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server, on the state of `mock_aws` (they share it): the authorizer's DynamoDB reads
    go over HTTP, signed, with no botocore for moto's in-process mock to catch (ADR 0017)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def identity(
    identity_env: dict[str, str],
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    aws_fixture_event: Callable[[str], dict[str, Any]],
    lambda_context: Any,
) -> Iterator[IdentityWorld]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for properties in [
            *IDENTITY.table_definitions("local").values(),
            *AUTHZ.table_definitions("local").values(),
        ]:
            dynamodb.create_table(
                TableName=properties["TableName"],
                KeySchema=properties["KeySchema"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                BillingMode=properties["BillingMode"],
                **(
                    {"StreamSpecification": {"StreamEnabled": True, **properties["StreamSpecification"]}}
                    if "StreamSpecification" in properties
                    else {}
                ),
            )
            if "TimeToLiveSpecification" in properties:
                dynamodb.update_time_to_live(
                    TableName=properties["TableName"],
                    TimeToLiveSpecification=properties["TimeToLiveSpecification"],
                )
        sqs = boto3.client("sqs")
        queue_url = capture_bus("identity-events-capture", identity_env["EVENT_TOPIC_ARN"])
        kms = boto3.client("kms")
        # The stack's client-secret HMAC key, under the name the seeding looks up.
        key = boto3.client("secretsmanager").create_secret(
            Name="echo-local-identity-client-secret-key", SecretString="s" * 64
        )
        monkeypatch.setenv("CLIENT_AUTH_HMAC_KEY_ARN", key["ARN"])
        seeded = seed_identity(
            identity_table=identity_env["IDENTITY_TABLE"],
            signing_keys_table=identity_env["SIGNING_KEYS_TABLE"],
            stage="local",
            kms_client=kms,
            issuer=ISSUER,
        )
        reset_cached_resources()
        from authorizer.handler import lambda_handler as authorizer
        from login.handler import lambda_handler as login
        from token_service.handler import lambda_handler as token
        from users.handler import lambda_handler as users

        gateway = ApiGateway(
            handlers={"login": login, "token_service": token, "users": users},
            authorizer=authorizer,
            base_event=copy.deepcopy(aws_fixture_event("apiGatewayProxyEvent.json")),
            context_factory=lambda: lambda_context,
        )
        yield IdentityWorld(
            demo=seeded["demo"],
            other_tenant=seeded["other_tenant"],
            gateway=gateway,
            dynamodb=dynamodb,
            kms=kms,
            sqs=sqs,
            queue_url=queue_url,
            tables={k: v for k, v in identity_env.items() if k.endswith("_TABLE")},
            relay=outbox_stream(dynamodb, identity_env["OUTBOX_TABLE"], lambda_context),
        )
        reset_cached_resources()


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[tuple[str, str]]:
    """One DynamoDB Local per session with the identity table (for tests that race threads)."""
    with dynamodb_local() as endpoint:
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        (properties,) = [
            p
            for lid, p in IDENTITY.table_definitions("local").items()
            if lid.startswith("IdentityIdentityTable")
        ]
        (outbox,) = [
            p for lid, p in IDENTITY.table_definitions("local").items() if lid.startswith("OutboxTable")
        ]
        (keys,) = [
            p
            for lid, p in IDENTITY.table_definitions("local").items()
            if lid.startswith("IdentitySigningKeysTable")
        ]
        for table in (properties, outbox, keys):  # state changes and their events, in one transaction
            client.create_table(
                TableName=table["TableName"],
                KeySchema=table["KeySchema"],
                AttributeDefinitions=table["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
        yield endpoint, properties["TableName"]


@pytest.fixture
def ddb_identity_table(
    echo_env: dict[str, str], dynamodb_endpoint: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    endpoint, table = dynamodb_endpoint
    for name, value in {**CREDENTIALS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return table


@pytest.fixture
def ddb_signing_keys_table(ddb_identity_table: str) -> str:
    """The signing-keys table beside `ddb_identity_table` in DynamoDB Local."""
    (keys,) = [
        p
        for lid, p in IDENTITY.table_definitions("local").items()
        if lid.startswith("IdentitySigningKeysTable")
    ]
    return str(keys["TableName"])


@pytest.fixture
def ddb_outbox_table(ddb_identity_table: str) -> str:
    """The outbox beside `ddb_identity_table` in DynamoDB Local."""
    (outbox,) = [p for lid, p in IDENTITY.table_definitions("local").items() if lid.startswith("OutboxTable")]
    return str(outbox["TableName"])
