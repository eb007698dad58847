"""Nothing lost (issue 9, ADR 0014) on the deployed stack: with the bus taken away from the outboxed
producers (the relay's event source mappings disabled, one per producer's outbox (ADR 0016), which
LocalStack enforces: no record reaches the relay), users sign in, a sign-in fails, an admin changes a user's roles and activates and rolls
back a policy version, and a member uploads a document, which parse takes to `indexing` (its
`document.parsed` waits in the documents outbox, so embed cannot start yet). Every request succeeds
and its state changes, and none of these events is in the audit chain. Once the relay runs again,
every event written meanwhile is chained exactly once, and the document goes on to `ready`.

The relay is paused for the whole stack for a few seconds: other producers' events wait too (they
are delayed, never lost), so tests running beside this one only see them later."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from echo_shared.identity.claims import Role
from echo_shared.identity.dynamodb import DynamoUserRepository
from echo_shared.identity.passwords import PasswordHasher, generate_secret
from echo_shared.identity.users import User

from tests.e2e.conftest import wait_for
from tests.e2e.documents_support import new_user, signed_in
from tests.e2e.oidc import ADMIN_TOOL_SCOPES, RelyingParty
from tests.e2e.test_authz import MEMBERS_READ_LOGS

# Longer than the relay's poll interval and the ingest's batch window together: had the relay run,
# the events would be chained by then.
QUIET_SECONDS = 8


def _outbox_tables(stack: dict[str, Any]) -> list[str]:
    """Each outboxed producer's outbox (identity's is also the historical `outbox` key)."""
    tables = stack["tables"]
    return sorted({tables["outbox_identity"], tables["outbox_authz"], tables["outbox_documents"]})


def _mapping_ids(stack: dict[str, Any], aws: Callable[[str], Any]) -> list[str]:
    """The relay's event source mappings: one per outbox table's stream."""
    paginator = aws("lambda").get_paginator("list_event_source_mappings")
    mappings = [
        mapping
        for page in paginator.paginate(FunctionName=stack["functions"]["outbox_relay"])
        for mapping in page["EventSourceMappings"]
    ]
    tables = {arn.split(":table/", 1)[1].split("/", 1)[0] for arn in (m["EventSourceArn"] for m in mappings)}
    assert tables == set(_outbox_tables(stack)), tables
    return [str(mapping["UUID"]) for mapping in mappings]


def _set_relay(aws: Callable[[str], Any], mapping_ids: list[str], *, enabled: bool) -> None:
    client = aws("lambda")
    for mapping_id in mapping_ids:
        client.update_event_source_mapping(UUID=mapping_id, Enabled=enabled)
    state = "Enabled" if enabled else "Disabled"
    wait_for(
        lambda: all(client.get_event_source_mapping(UUID=m)["State"] == state for m in mapping_ids),
        timeout=60,
    )


class RelaySwitch:
    """The relay's event source mappings, switched off and on again (teardown always switches them on)."""

    def __init__(self, stack: dict[str, Any], aws: Callable[[str], Any]) -> None:
        self._aws = aws
        self._mapping_ids = _mapping_ids(stack, aws)
        self.paused = False

    def pause(self) -> None:
        self.paused = True  # set first: a pause that half-failed is still undone by the teardown
        _set_relay(self._aws, self._mapping_ids, enabled=False)

    def resume(self) -> None:
        _set_relay(self._aws, self._mapping_ids, enabled=True)
        self.paused = False


@pytest.fixture
def relay(stack: dict[str, Any], aws: Callable[[str], Any]) -> Iterator[RelaySwitch]:
    switch = RelaySwitch(stack, aws)
    try:
        yield switch
    finally:
        if switch.paused:
            switch.resume()


def _admin(stack: dict[str, Any]) -> httpx.Client:
    user = stack["demo"]["users"]["admin"]
    tokens = RelyingParty(stack, ADMIN_TOOL_SCOPES).tokens_for(user["email"], user["password"])
    return httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30
    )


def _guest(stack: dict[str, Any]) -> User:
    now = int(time.time())
    user = User(
        stack["demo"]["tenant"],
        f"usr_e2e_{uuid.uuid4().hex[:10]}",
        f"outbox-{uuid.uuid4().hex[:8]}@demo.echo.test",
        PasswordHasher().hash(generate_secret(18)),
        (Role.GUEST,),
        created_at=now,
        updated_at=now,
    )
    DynamoUserRepository(stack["tables"]["identity"]).create(user)
    return user


def _outbox_events(stack: dict[str, Any], aws: Callable[[str], Any], since: str) -> list[dict[str, Any]]:
    """The events waiting in the outboxes that occurred at or after `since` (RFC 3339), in outbox order."""
    dynamodb = aws("dynamodb")
    items: list[dict[str, Any]] = []
    for table in _outbox_tables(stack):
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = dynamodb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(key=lambda item: (item["tenant"]["S"], item["position"]["S"]))
    return [json.loads(item["event"]["S"]) for item in items if item["position"]["S"] >= since]


def _chain_records(stack: dict[str, Any], aws: Callable[[str], Any], tenant: str) -> Iterator[dict[str, Any]]:
    """The tenant's chain records (seq, event id, type, resource), in seq order."""
    dynamodb = aws("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": stack["tables"]["audit_chain"],
        "KeyConditionExpression": "tenant = :t",
        "ExpressionAttributeValues": {":t": {"S": tenant}},
        "ProjectionExpression": "seq, event_id, #type, #resource",
        "ExpressionAttributeNames": {"#type": "type", "#resource": "resource"},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _chained_types(stack: dict[str, Any], aws: Callable[[str], Any], tenant: str, resource: str) -> list[str]:
    """The types of the chain's document.* records about `resource` (not the decisions), in seq order."""
    return [
        item["type"]["S"]
        for item in _chain_records(stack, aws, tenant)
        if item["resource"]["S"] == resource and item["type"]["S"].startswith("document.")
    ]


def _chained(stack: dict[str, Any], aws: Callable[[str], Any], tenant: str, event_ids: set[str]) -> list[str]:
    """The chain's event ids among `event_ids`, in seq order, once per record."""
    return [
        item["event_id"]["S"]
        for item in _chain_records(stack, aws, tenant)
        if item["event_id"]["S"] in event_ids
    ]


def test_a_bus_outage_delays_identity_policy_and_document_events_and_loses_none(
    stack: dict[str, Any], aws: Callable[[str], Any], relay: RelaySwitch
) -> None:
    tenant = stack["demo"]["tenant"]
    admin = _admin(stack)  # signed in before the outage: its events are not counted below
    guest = _guest(stack)
    user_id, email, password = new_user(stack, tenant)
    uploader = signed_in(stack, user_id, tenant, email, password)

    # Given the bus is taken away from the outboxed producers (the relay stopped)
    relay.pause()
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # When users sign in (one fails), an admin changes a user's roles and a policy version goes live
    member = stack["demo"]["users"]["member"]
    rp = RelyingParty(stack)
    assert "access_token" in rp.tokens_for(member["email"], member["password"])
    failed = RelyingParty(stack).sign_in(f"nobody-{uuid.uuid4().hex[:8]}@demo.echo.test", "not the password")
    assert failed.status_code == 401
    assert "Incorrect email or password" in failed.text
    roles = admin.put(f"users/{guest.user_id}/roles", json={"roles": ["member"]})
    assert roles.status_code == 200, roles.text
    proposal = admin.put(
        "authz/policies",
        json={"policies": MEMBERS_READ_LOGS.format(run=uuid.uuid4().hex[:8]), "description": "e2e: outbox"},
    )
    assert proposal.status_code == 201, proposal.text
    version = proposal.json()["version"]
    active_before = admin.get("authz/policies").json()["active_version"]
    assert admin.post(f"authz/policies/{version}/activate").status_code == 200
    assert admin.post(f"authz/policies/{active_before}/rollback").status_code == 200
    document_id = uploader.upload(
        "outbox note.txt", b"Nothing lost: the relay keeps every event.", "text/plain"
    )

    # Then every request succeeded and its state changed (the document parsed, waiting for embed)
    stored = DynamoUserRepository(stack["tables"]["identity"]).get(tenant, guest.user_id)
    assert stored is not None
    assert stored.role_names == ("member",)
    history = admin.get("authz/policies/history").json()["items"]
    assert [(h["kind"], h["version"]) for h in history[:2]] == [
        ("rollback", active_before),
        ("activate", version),
    ]
    wait_for(lambda: uploader.document(document_id).json()["status"] == "indexing", timeout=120)

    # And the events wait in the outbox; none of them reaches the chain while the relay is stopped
    time.sleep(QUIET_SECONDS)
    waiting = [e for e in _outbox_events(stack, aws, since) if e["tenant"] == tenant]
    types = {e["type"] for e in waiting}
    assert {
        "user.logged_in",
        "user.login_failed",
        "token.issued",
        "user.roles_changed",
        "authz.policy_proposed",
        "authz.policy_activated",
        "authz.policy_rolled_back",
        "document.uploaded",
        "document.parsed",
    } <= types, types
    resource = f"document/{document_id}"
    assert sorted(e["type"] for e in waiting if e["resource"] == resource) == [
        "document.parsed",
        "document.uploaded",
    ]
    ids = {e["event_id"] for e in waiting}
    assert _chained(stack, aws, tenant, ids) == []

    # When the relay runs again
    relay.resume()

    # Then every one of them is chained exactly once, and the outbox is drained of them
    chained = wait_for(
        lambda: (found := _chained(stack, aws, tenant, ids)) and set(found) == ids and found, timeout=120
    )
    assert sorted(chained) == sorted(ids)  # exactly once: no event_id twice in the chain
    wait_for(lambda: not ({e["event_id"] for e in _outbox_events(stack, aws, since)} & ids), timeout=60)
    # And the document's pipeline went on from where it waited: indexed, announced once
    assert uploader.wait_terminal(document_id)["status"] == "ready"
    wait_for(lambda: "document.indexed" in _chained_types(stack, aws, tenant, resource), timeout=120)
    assert sorted(_chained_types(stack, aws, tenant, resource)) == [
        "document.indexed",
        "document.parsed",
        "document.uploaded",
    ]
    verdict = admin.get("audit/verify").json()
    assert verdict["ok"] is True, verdict
