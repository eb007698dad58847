"""What the DynamoDB adapters send: the least-privilege and consistency contracts the stack relies on."""

from collections.abc import Callable
from typing import Any

import pytest
from botocore.client import BaseClient
from echo_shared.audit import AuditAppender
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.events import EventEnvelope

from tests.integration.conftest import AwsResources


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def spy(self: BaseClient, operation_name: str, params: dict[str, Any]) -> Any:
        calls.append((operation_name, params))
        return original(self, operation_name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    return calls


def test_append_only_reads_consistently_and_writes_two_conditional_puts(
    aws: AwsResources, api_calls: list[tuple[str, dict[str, Any]]], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given the DynamoDB chain adapter
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))

    # When two events are appended, one redelivered
    event = make_event()
    appender = AuditAppender(repo)
    for delivered in (event, make_event(), event):
        appender.append(delivered)

    # Then only Query (strongly consistent) and TransactWriteItems of conditional Puts were used:
    # the ingest role needs no GetItem, UpdateItem or DeleteItem
    assert {name for name, _ in api_calls} == {"Query", "TransactWriteItems"}
    assert all(params.get("ConsistentRead") is True for name, params in api_calls if name == "Query")
    for name, params in api_calls:
        if name == "TransactWriteItems":
            assert [set(item) for item in params["TransactItems"]] == [{"Put"}, {"Put"}]
            tables = [item["Put"]["TableName"] for item in params["TransactItems"]]
            assert tables == [aws.table("AUDIT_EVENT_IDS_TABLE"), aws.table("AUDIT_CHAIN_TABLE")]
            assert all(
                "attribute_not_exists" in item["Put"]["ConditionExpression"]
                for item in params["TransactItems"]
            )


def test_verifier_walk_reads_consistently(
    aws: AwsResources, api_calls: list[tuple[str, dict[str, Any]]], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a committed chain (an eventually consistent read could miss its tail and look truncated)
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    for _ in range(3):
        AuditAppender(repo).append(make_event())
    api_calls.clear()

    # When the verifier's walk reads it
    assert [record.seq for record in repo.records("acme")] == [1, 2, 3]

    # Then every page was read with ConsistentRead
    queries = [params for name, params in api_calls if name == "Query"]
    assert queries
    assert all(params["ConsistentRead"] is True for params in queries)
