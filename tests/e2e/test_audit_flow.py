"""The audit slice end to end: SNS -> SQS -> ingest Lambda -> DynamoDB chain -> REST API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import QUEUE_DRAIN_TIMEOUT_S, AuditApi, make_event, wait_for


def _including(items: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return items if any(item["event_id"] == event_id for item in items) else []


def test_health_is_served_by_the_gateway(stack: dict[str, Any]) -> None:
    response = httpx.get(stack["api_url"] + "health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_published_event_is_chained_exactly_once_and_verifies(
    audit_api: AuditApi, publish: Any, tenant: str, audit_queue_drained: Any
) -> None:
    # Given an event published on the bus, delivered twice
    event = make_event(tenant, "document.uploaded")
    publish(event)
    publish(event)
    # When a later marker event is chained and the audit queue is drained
    marker = make_event(tenant, "document.deleted")
    publish(marker)
    wait_for(lambda: _including(audit_api.events(tenant), marker["event_id"]))
    wait_for(audit_queue_drained, timeout=QUEUE_DRAIN_TIMEOUT_S)
    items = audit_api.events(tenant)
    # Then the event appears once, with the envelope intact, and the chain verifies
    ids = [item["event_id"] for item in items]
    assert ids.count(event["event_id"]) == 1
    assert ids.count(marker["event_id"]) == 1
    chained = next(item for item in items if item["event_id"] == event["event_id"])
    assert chained["type"] == "document.uploaded"
    assert chained["actor"] == event["actor"]
    assert chained["data"] == event["data"]
    assert len(chained["hash"]) == 64
    chained_count = len(audit_api.all_events(tenant))  # ours plus the account's token and read events
    verdict = audit_api.verify(tenant)
    assert verdict["ok"] is True
    assert verdict["checked"] >= chained_count
    assert verdict["head_seq"] == verdict["checked"]


def test_filters_narrow_the_trail(audit_api: AuditApi, publish: Any, tenant: str) -> None:
    uploads = [make_event(tenant, "document.uploaded", actor="user:bob") for _ in range(3)]
    deletion = make_event(tenant, "document.deleted", actor="user:carol")
    for event in [*uploads, deletion]:
        publish(event)
    wait_for(lambda: len(audit_api.events(tenant)) == 4)
    assert {i["event_id"] for i in audit_api.events(tenant, type="document.uploaded")} == {
        e["event_id"] for e in uploads
    }
    assert [i["event_id"] for i in audit_api.events(tenant, actor="user:carol")] == [deletion["event_id"]]


def test_tenants_never_see_each_other(audit_api: AuditApi, publish: Any, tenant: str) -> None:
    other = tenant + "-other"
    mine, theirs = make_event(tenant), make_event(other)
    publish(mine)
    publish(theirs)
    wait_for(lambda: audit_api.events(tenant) and audit_api.events(other))
    assert [i["event_id"] for i in audit_api.events(tenant)] == [mine["event_id"]]
    assert [i["event_id"] for i in audit_api.events(other)] == [theirs["event_id"]]


def test_log_events_reach_the_log_store_and_the_audit_chain(
    audit_api: AuditApi, publish: Any, tenant: str
) -> None:
    event = make_event(tenant, "log.warning", data={"message": "disk at 80%"})
    publish(event)

    def logged() -> list[dict[str, Any]]:
        response = audit_api.get("/logs", tenant)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    items = wait_for(logged)
    assert [i["event_id"] for i in items] == [event["event_id"]]
    wait_for(lambda: audit_api.events(tenant))


def test_requests_without_a_valid_token_are_refused(audit_api: AuditApi, stack: dict[str, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic abc"}):
        response = httpx.get(stack["api_url"] + "audit/events", headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.text)


def test_bad_filters_get_typed_400s(audit_api: AuditApi, tenant: str) -> None:
    for params in ({"since": "yesterday"}, {"limit": 1000}, {"cursor": "not-a-cursor"}):
        response = audit_api.get("/audit/events", tenant, **params)
        assert response.status_code in (400, 422), (params, response.text)
        assert response.json()["error"]["code"], params
