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


def test_append_only_reads_consistently_and_writes_conditional_puts(
    aws: AwsResources, api_calls: list[tuple[str, dict[str, Any]]], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given the DynamoDB chain adapter
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))

    # When a batch of three events is appended, then one redelivered with a new one
    event = make_event()
    appender = AuditAppender(repo)
    appender.append_batch([event, make_event(), make_event()])
    appender.append_batch([event, make_event()])

    # Then only Query and BatchGetItem (both strongly consistent) and TransactWriteItems of
    # conditional Puts were used: the ingest role needs no GetItem, UpdateItem or DeleteItem
    assert {name for name, _ in api_calls} == {"Query", "BatchGetItem", "TransactWriteItems"}
    assert all(params.get("ConsistentRead") is True for name, params in api_calls if name == "Query")
    batch_reads = [params for name, params in api_calls if name == "BatchGetItem"]
    assert len(batch_reads) == 2
    assert all(
        request["ConsistentRead"] is True
        for params in batch_reads
        for request in params["RequestItems"].values()
    )
    transactions = [params for name, params in api_calls if name == "TransactWriteItems"]
    # one transaction per batch: guard + record for each new event, the redelivered one dropped first
    assert [len(params["TransactItems"]) for params in transactions] == [6, 2]
    for params in transactions:
        assert all(set(item) == {"Put"} for item in params["TransactItems"])
        tables = [item["Put"]["TableName"] for item in params["TransactItems"]]
        assert tables == [aws.table("AUDIT_EVENT_IDS_TABLE"), aws.table("AUDIT_CHAIN_TABLE")] * (
            len(tables) // 2
        )
        assert all(
            "attribute_not_exists" in item["Put"]["ConditionExpression"] for item in params["TransactItems"]
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


def test_guard_read_of_a_large_batch_reads_pages_of_100_and_finds_every_chained_id(
    aws: AwsResources, api_calls: list[tuple[str, dict[str, Any]]], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given 120 chained events
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    chained = [make_event(resource=f"doc/{n}") for n in range(120)]
    AuditAppender(repo).append_batch(chained)
    api_calls.clear()

    # When 250 ids are looked up (the 120 plus 130 unknown)
    unknown = [str(make_event().event_id) for _ in range(130)]
    found = repo.chained([str(e.event_id) for e in chained] + unknown)

    # Then exactly the chained ones are found, in three consistent pages
    assert found == {str(e.event_id) for e in chained}
    pages = [params for name, params in api_calls if name == "BatchGetItem"]
    assert sorted(len(p["RequestItems"][aws.table("AUDIT_EVENT_IDS_TABLE")]["Keys"]) for p in pages) == [
        50,
        100,
        100,
    ]
