"""e2e tier: the stack deployed on LocalStack by `make up`, reached through .echo/stack.json."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from echo_shared.events.producers import UnknownProducer, producer_of
from echo_shared.identity.client_secrets import (
    ClientSecretHasher,
    client_secret_key_name,
    key_from_secrets_manager,
)
from echo_shared.identity.clients import AuthMethod, ClientType, GrantType, OAuthClient
from echo_shared.identity.dynamodb import DynamoClientRepository
from echo_shared.identity.passwords import generate_secret

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("ECHO_STATE_DIR", REPO / ".echo"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every e2e test is marked e2e. A disruptive test (it kills shared runtimes, whose unacknowledged
    messages then stay in flight for a visibility timeout) runs last, so no other test waits for the
    queue to drain after it. `make test-e2e` runs the `clock` tests (they only wait out a deployed
    clock) in a second pytest process beside the others."""
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    path = STATE / "stack.json"
    assert path.exists(), "no .echo/stack.json: the e2e tier runs after `make up`"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def aws(stack: dict[str, Any]) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=stack["endpoint_url"],
            region_name=stack["region"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    return make


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test keeps chains independent and tests order-free."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def deployed_env(stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Point echo_shared's repositories (used to provision test clients) at the deployed stack."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack["endpoint_url"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", stack["region"])
    monkeypatch.setenv("AWS_REGION", stack["region"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


class ServiceAccounts:
    """Confidential clients provisioned per test tenant, and their client-credentials tokens."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self._stack = stack
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}
        self._clients: dict[tuple[str, tuple[str, ...], str], tuple[str, str]] = {}

    def token(
        self, tenant: str, roles: tuple[str, ...] = ("admin", "auditor"), scope: str = "audit:read logs:read"
    ) -> str:
        key = (tenant, roles)
        if key not in self._tokens:
            response = self.token_response(tenant, roles, scope)
            assert response.status_code == 200, response.text
            self._tokens[key] = response.json()["access_token"]
        return self._tokens[key]

    def token_response(
        self, tenant: str, roles: tuple[str, ...], scope: str, **params: str
    ) -> httpx.Response:
        """POST /token (client_credentials) for the tenant's service account, with extra parameters."""
        client_id, secret = self._client(tenant, roles, scope)
        return httpx.post(
            self._stack["api_url"] + "token",
            auth=(client_id, secret),
            data={"grant_type": "client_credentials", "scope": scope, **params},
            timeout=30,
        )

    def _client(self, tenant: str, roles: tuple[str, ...], scope: str) -> tuple[str, str]:
        key = (tenant, roles, scope)
        if key not in self._clients:
            client_id = f"e2e-{tenant}-{'-'.join(roles)}"
            secret = generate_secret()
            DynamoClientRepository(self._stack["tables"]["identity"]).put(
                OAuthClient(
                    client_id=client_id,
                    tenant=tenant,
                    name="e2e service account",
                    client_type=ClientType.CONFIDENTIAL,
                    auth_method=AuthMethod.SECRET_BASIC,
                    grant_types=frozenset({GrantType.CLIENT_CREDENTIALS}),
                    allowed_scopes=frozenset(scope.split()),
                    secret_hash=ClientSecretHasher(
                        key_from_secrets_manager(client_secret_key_name(self._stack["stage"]))
                    ).hash(secret),
                    roles=roles,
                )
            )
            self._clients[key] = (client_id, secret)
        return self._clients[key]


@pytest.fixture(scope="session")
def accounts(stack: dict[str, Any]) -> ServiceAccounts:
    return ServiceAccounts(stack)


class AuditApi:
    def __init__(self, stack: dict[str, Any], accounts: ServiceAccounts) -> None:
        self._http = httpx.Client(base_url=stack["api_url"], timeout=30)
        self._accounts = accounts

    def get(self, path: str, tenant: str | None, **params: Any) -> httpx.Response:
        headers = {} if tenant is None else {"Authorization": f"Bearer {self._accounts.token(tenant)}"}
        return self._http.get(path.lstrip("/"), headers=headers, params=params)

    def post(self, path: str, tenant: str | None) -> httpx.Response:
        headers = {} if tenant is None else {"Authorization": f"Bearer {self._accounts.token(tenant)}"}
        return self._http.post(path.lstrip("/"), headers=headers)

    def events(self, tenant: str, **params: Any) -> list[dict[str, Any]]:
        """The tenant's trail without what the test's own service account causes: its token events
        and the audited authz decisions of its audit API calls (reading the audit is audited)."""
        return [item for item in self.all_events(tenant, **params) if not _caused_by_test_account(item)]

    def all_events(self, tenant: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
            response = self.get("/audit/events", tenant, **query)
            assert response.status_code == 200, response.text
            body = response.json()
            items.extend(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def verify(self, tenant: str) -> dict[str, Any]:
        response = self.get("/audit/verify", tenant)
        assert response.status_code == 200, response.text
        return response.json()


def _caused_by_test_account(item: dict[str, Any]) -> bool:
    return item["actor"].startswith(("client:e2e-", 'Client::"e2e-'))


@pytest.fixture(scope="session")
def audit_api(stack: dict[str, Any], accounts: ServiceAccounts) -> AuditApi:
    return AuditApi(stack, accounts)


def make_event(tenant: str, type_: str = "document.uploaded", **overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "tenant": tenant,
        "actor": "user:alice",
        "action": type_.split(".")[-1],
        "resource": f"document/{uuid.uuid4().hex[:8]}",
        "outcome": "success",
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "request_id": f"req-{uuid.uuid4().hex[:8]}",
        "data": {"size": 42},
    }
    event.update(overrides)
    return event


def topic_of(stack: dict[str, Any], event: dict[str, Any]) -> str:
    """The topic of the producer owning the event's type (ADR 0016); invalid types: the documents'."""
    try:
        return str(stack["topics"][producer_of(event["type"])])
    except (UnknownProducer, TypeError):
        return str(stack["topics"]["documents"])


def sns_body(event: dict[str, Any], topic_arn: str) -> str:
    """An SQS body as SNS delivers it to the audit queue (raw delivery off): the envelope in
    `Message`, the topic in `TopicArn`."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": json.dumps(event),
            "Timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    )


@pytest.fixture(scope="session")
def publish(stack: dict[str, Any], aws: Callable[..., Any]) -> Callable[..., None]:
    """Publish an event, with the sandbox's admin credentials, on its producer's topic (or `topic`)."""
    sns = aws("sns")

    def send(event: dict[str, Any], *, topic: str | None = None) -> None:
        sns.publish(
            TopicArn=topic or topic_of(stack, event),
            Message=json.dumps(event),
            MessageAttributes={
                "type": {"DataType": "String", "StringValue": event["type"]},
                "tenant": {"DataType": "String", "StringValue": event["tenant"]},
            },
        )

    return send


# A batch in flight when another test killed its runtime stays invisible for the queue's visibility
# timeout (6 x the 20 s consumer timeout) before it is redelivered: waiting for an empty queue must
# outlast that.
QUEUE_DRAIN_TIMEOUT_S = 180


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def audit_queue_drained(stack: dict[str, Any], aws: Callable[[str], Any]) -> Callable[[], bool]:
    """True once the audit queue holds no visible and no in-flight messages."""
    sqs = aws("sqs")

    def drained() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack["queues"]["audit"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(value == "0" for value in attributes.values())

    return drained
