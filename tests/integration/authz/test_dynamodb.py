"""The DynamoDB adapters on moto: conditional activation, immutable versions, documents metadata."""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from echo_shared.authz.dynamodb import DynamoEntityProvider, DynamoPolicyStore
from echo_shared.authz.errors import (
    ConcurrentPolicyChange,
    EntityStoreUnavailable,
    PolicyStoreUnavailable,
    PolicyVersionNotFound,
)
from echo_shared.authz.golden import GoldenDecision
from echo_shared.authz.model import Classification, DocumentMetadata
from echo_shared.authz.store import ActivationKind, NewPolicyVersion
from echo_shared.events import EventEnvelope, new_event
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.timeutil import utc_now

from tests.integration.authz.conftest import (
    DOCUMENTS_TABLE,
    OUTBOX_TABLE,
    POLICY_TABLE,
    TENANT,
    Bus,
    put_document,
)

GOLDEN = GoldenDecision.model_validate(
    {
        "name": "auditors read audit",
        "principal": {"type": "User", "id": "eve", "roles": ["auditor"]},
        "action": "audit:read",
        "resource": {"type": "Tenant", "id": "{tenant}"},
        "expect": "allow",
    }
)


def _new(policies: str = '@id("a") permit (principal, action, resource);') -> NewPolicyVersion:
    return NewPolicyVersion(TENANT, policies, "sha256:abc", (GOLDEN,), "first", utc_now(), 'User::"root"')


def test_versions_are_numbered_and_read_back_whole(aws: Bus) -> None:
    store = DynamoPolicyStore(POLICY_TABLE)
    first, second = store.create(_new()), store.create(_new(""))
    assert (first.number, second.number) == (1, 2)
    assert store.get(TENANT, 1) == first
    assert store.get(TENANT, 2) == second
    assert second.policies == ""
    assert first.golden == (GOLDEN,)
    assert [v.number for v in store.versions(TENANT)] == [2, 1]
    assert store.get(TENANT, 3) is None
    assert store.active(TENANT) is None


def test_activation_moves_the_pointer_conditionally_and_logs_it(aws: Bus) -> None:
    store = DynamoPolicyStore(POLICY_TABLE)
    one, two = store.create(_new()), store.create(_new())
    now = utc_now()
    store.activate(TENANT, one.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=now, by="a")
    # A writer that read revision 0 loses, and nothing changes
    with pytest.raises(ConcurrentPolicyChange):
        store.activate(TENANT, two.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=now, by="b")
    pointer = store.active(TENANT)
    assert pointer is not None
    assert (pointer.version, pointer.revision, pointer.changed_by) == (1, 1, "a")
    store.activate(TENANT, two.number, expected_revision=1, kind=ActivationKind.ACTIVATE, at=now, by="b")
    store.activate(TENANT, 0, expected_revision=2, kind=ActivationKind.ROLLBACK, at=now, by="c")
    assert [(a.revision, a.version, a.previous_version, a.kind, a.by) for a in store.history(TENANT)] == [
        (3, 0, 2, ActivationKind.ROLLBACK, "c"),
        (2, 2, 1, ActivationKind.ACTIVATE, "b"),
        (1, 1, 0, ActivationKind.ACTIVATE, "a"),
    ]


def test_a_missing_version_cannot_be_activated(aws: Bus) -> None:
    store = DynamoPolicyStore(POLICY_TABLE)
    with pytest.raises(PolicyVersionNotFound):
        store.activate(TENANT, 5, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="a")
    assert store.active(TENANT) is None
    assert store.history(TENANT) == []


def _reporting(type_: str) -> Callable[[Any], list[EventEnvelope]]:
    return lambda change: [
        new_event(
            type=type_,
            tenant=TENANT,
            actor='User::"root"',
            action=type_.split(".")[1],
            resource=f"policy:v{getattr(change, 'number', getattr(change, 'version', 0))}",
            outcome="success",
            request_id="req-1",
        )
    ]


def _outbox_types() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=OUTBOX_TABLE, ConsistentRead=True)["Items"]
    return sorted(json.loads(item["event"]["S"])["type"] for item in items)


def test_a_policy_change_and_its_event_commit_together_or_not_at_all(aws: Bus) -> None:
    # Given a store writing its events to the outbox
    store = DynamoPolicyStore(POLICY_TABLE, outbox=DynamoOutbox(OUTBOX_TABLE))
    # When a version is created and activated, each with its event
    version = store.create(_new(), reported_by=_reporting("authz.policy_proposed"))
    store.activate(
        TENANT, version.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="x",
        reported_by=_reporting("authz.policy_activated"),
    )  # fmt: skip
    # Then both changes and both events are stored
    pointer = store.active(TENANT)
    assert pointer is not None
    assert pointer.version == version.number
    assert _outbox_types() == ["authz.policy_activated", "authz.policy_proposed"]
    # When an activation is refused (a stale revision, a missing version), neither state nor event is written
    with pytest.raises(ConcurrentPolicyChange):
        store.activate(
            TENANT, version.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="x",
            reported_by=_reporting("authz.policy_activated"),
        )  # fmt: skip
    with pytest.raises(PolicyVersionNotFound):
        store.activate(
            TENANT, 99, expected_revision=1, kind=ActivationKind.ACTIVATE, at=utc_now(), by="x",
            reported_by=_reporting("authz.policy_activated"),
        )  # fmt: skip
    assert len(store.history(TENANT)) == 1
    assert _outbox_types() == ["authz.policy_activated", "authz.policy_proposed"]


def test_tenants_are_separate_partitions(aws: Bus) -> None:
    store = DynamoPolicyStore(POLICY_TABLE)
    store.create(_new())
    assert store.versions("globex") == []
    assert store.create(NewPolicyVersion("globex", "", "sha256:-", (), "", utc_now(), "x")).number == 1


def test_an_unreachable_table_is_reported_as_such(aws: Bus) -> None:
    boto3.client("dynamodb").delete_table(TableName=POLICY_TABLE)
    store = DynamoPolicyStore(POLICY_TABLE)
    with pytest.raises(PolicyStoreUnavailable):
        store.active(TENANT)
    with pytest.raises(PolicyStoreUnavailable):
        store.create(_new())


def test_documents_metadata_is_read_within_the_tenant(aws: Bus) -> None:
    put_document("doc-1", "alice", "confidential", shared_with_users=["bob"], shared_with_roles=["auditor"])
    put_document("doc-2", "bob")
    provider = DynamoEntityProvider(DOCUMENTS_TABLE)
    assert provider.document(TENANT, "doc-1") == DocumentMetadata(
        TENANT, "doc-1", "alice", frozenset({"bob"}), frozenset({"auditor"}), Classification.CONFIDENTIAL
    )
    assert provider.document("globex", "doc-1") is None
    assert [d.document_id for d in provider.documents(TENANT)] == ["doc-1", "doc-2"]
    assert list(provider.documents("globex")) == []


def test_records_policies_cannot_judge_count_as_absent(aws: Bus) -> None:
    put_document("odd", "alice", "top-secret")
    boto3.client("dynamodb").put_item(
        TableName=DOCUMENTS_TABLE, Item={"tenant": {"S": TENANT}, "document_id": {"S": "ownerless"}}
    )
    provider = DynamoEntityProvider(DOCUMENTS_TABLE)
    assert provider.document(TENANT, "odd") is None
    assert provider.document(TENANT, "ownerless") is None
    assert list(provider.documents(TENANT)) == []


def test_an_unreachable_documents_table_is_reported(aws: Bus) -> None:
    boto3.client("dynamodb").delete_table(TableName=DOCUMENTS_TABLE)
    provider = DynamoEntityProvider(DOCUMENTS_TABLE)
    with pytest.raises(EntityStoreUnavailable):
        provider.document(TENANT, "doc-1")
    with pytest.raises(EntityStoreUnavailable):
        list(provider.documents(TENANT))
