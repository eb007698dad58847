"""The authz API end to end on moto: real-shaped API Gateway events with the authorizer context."""

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.integration.authz.conftest import (
    ADMIN,
    MEMBER,
    POLICY_TABLE,
    SERVICE,
    TENANT,
    Bus,
    identity,
    put_document,
    question,
)

Call = Callable[..., tuple[int, dict[str, Any]]]

MEMBERS_READ_AUDIT = """
@id("acme.members-read-audit")
permit (principal in Role::"member", action == Action::"audit:read", resource is Tenant);
"""


def _member_reads_audit(call: Call) -> dict[str, Any]:
    status, body = call(
        "POST",
        "/authz/check",
        question("bob", "audit:read", "Tenant", TENANT),
        caller=MEMBER,
    )
    assert status == 200, body
    return body


def _version_route(
    call: Call, version: str, verb: str, caller: dict[str, Any] = ADMIN
) -> tuple[int, dict[str, Any]]:
    return call(
        "POST",
        f"/authz/policies/{version}/{verb}",
        caller=caller,
        resource=f"/authz/policies/{{version}}/{verb}",
        path_parameters={"version": version},
    )


def test_an_admin_activates_a_version_a_member_sees_it_and_rollback_restores(call: Call, aws: Bus) -> None:
    # Given the baseline alone: a member may not read the audit trail
    assert _member_reads_audit(call)["decision"] == "deny"
    # When an admin proposes a version, it is stored but not active
    status, proposal = call(
        "PUT", "/authz/policies", {"policies": MEMBERS_READ_AUDIT, "description": "open audit"}, caller=ADMIN
    )
    assert (status, proposal["version"], proposal["active"]) == (201, "v1", False)
    assert _member_reads_audit(call)["decision"] == "deny"
    # When it is activated, the member's decision changes and names the version
    status, activation = _version_route(call, "v1", "activate")
    assert (status, activation["version"], activation["previous_version"]) == (200, "v1", "v0")
    allowed = _member_reads_audit(call)
    assert (allowed["decision"], allowed["policy_version"]) == ("allow", "v1")
    assert allowed["reasons"] == ["acme.members-read-audit"]
    # When the admin rolls back to v0, the baseline decision is back
    status, rollback = _version_route(call, "v0", "rollback")
    assert (status, rollback["kind"]) == (200, "rollback")
    restored = _member_reads_audit(call)
    assert (restored["decision"], restored["policy_version"]) == ("deny", "v0")
    # Then the history shows both moves, and the overview the versions
    status, history = call("GET", "/authz/policies/history", caller=ADMIN)
    assert [(i["kind"], i["version"]) for i in history["items"]] == [("rollback", "v0"), ("activate", "v1")]
    status, overview = call("GET", "/authz/policies", caller=ADMIN)
    assert (overview["active_version"], [v["version"] for v in overview["versions"]]) == ("v0", ["v1"])
    status, version = call("GET", "/authz/policies", caller=ADMIN, query={"version": "v1"})
    assert version["policies"] == MEMBERS_READ_AUDIT
    # And every step is on the bus: decisions, proposal, activation, rollback
    events = aws.drain()
    types = [e["type"] for e in events]
    assert types.count("authz.policy_proposed") == types.count("authz.policy_activated") == 1
    assert types.count("authz.policy_rolled_back") == 1
    admin_checks = [
        e for e in events if e["type"] == "authz.decision" and e["data"]["action"] == "policy:admin"
    ]
    assert len(admin_checks) == 6
    assert {e["outcome"] for e in admin_checks} == {"success"}


def test_policy_administration_is_for_tenant_admins_only_and_the_refusal_is_audited(
    call: Call, aws: Bus
) -> None:
    status, body = call("PUT", "/authz/policies", {"policies": MEMBERS_READ_AUDIT}, caller=MEMBER)
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    for caller in (MEMBER, SERVICE, identity("eve", roles="auditor")):
        assert call("GET", "/authz/policies/history", caller=caller)[0] == 403
        assert _version_route(call, "v1", "activate", caller)[0] == 403
    denied = [e for e in aws.drain() if e["type"] == "authz.decision"]
    assert len(denied) == 7
    assert {(e["data"]["action"], e["data"]["decision"]) for e in denied} == {("policy:admin", "deny")}
    assert _policy_items() == []


BAD_PROPOSALS: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("malformed Cedar", {"policies": '@id("x") permit (principal,'}, 400, "malformed_policy", "do not parse"),
    ("schema-invalid", {"policies": '@id("x") permit (principal, action, resource is Document) when { resource.pages > 3 };'},
     400, "schema_violation", "pages"),
    ("unknown entity type", {"policies": '@id("x") permit (principal is Robot, action, resource);'}, 400,
     "schema_violation", "Robot"),
    ("redefines the baseline", {"policies": '@id("baseline.restricted-documents") permit (principal, action, resource);'},
     400, "baseline_override", "reserved"),
    ("no @id", {"policies": "permit (principal, action, resource);"}, 400, "unsupported_policy", "@id"),
    ("lifts nothing but locks admins out", {"policies": '@id("x") forbid (principal, action == Action::"policy:admin", resource);'},
     400, "golden_decision_failed", "an admin can administer"),
    ("oversized", {"policies": "// " + "x" * 70_000}, 413, "policy_set_too_large", "limit is 65536"),
    ("failing own golden", {"policies": MEMBERS_READ_AUDIT, "golden_decisions": [
        {"name": "members never read audit", "principal": {"type": "User", "id": "bob", "roles": ["member"]},
         "action": "audit:read", "resource": {"type": "Tenant", "id": "{tenant}"}, "expect": "deny"}]},
     400, "golden_decision_failed", "members never read audit"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code", "reason"),
    [row[1:] for row in BAD_PROPOSALS],
    ids=[row[0] for row in BAD_PROPOSALS],
)
def test_a_bad_policy_set_gets_a_clear_4xx_and_nothing_is_stored_or_activated(
    call: Call, aws: Bus, body: dict[str, Any], status: int, code: str, reason: str
) -> None:
    got, response = call("PUT", "/authz/policies", body, caller=ADMIN)
    assert (got, response["error"]["code"]) == (status, code)
    assert reason in response["error"]["message"]
    assert _policy_items() == []
    rejected = [e for e in aws.drain() if e["type"] == "authz.policy_rejected"]
    assert len(rejected) == 1
    assert rejected[0]["outcome"] == "failure"


def test_activating_an_unknown_version_is_404_and_a_bad_label_400(call: Call) -> None:
    status, body = _version_route(call, "v9", "activate")
    assert (status, body["error"]["code"]) == (404, "version_not_found")
    status, body = _version_route(call, "latest", "activate")
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    status, body = _version_route(call, "v0", "activate")
    assert (status, body["error"]["code"]) == (409, "invalid_activation")


def test_check_answers_with_decision_id_version_reasons_and_errors(call: Call, aws: Bus) -> None:
    put_document("doc-1", "alice", "confidential", shared_with_users=["bob"])
    status, body = call(
        "POST",
        "/authz/check",
        {
            "principal": {"type": "User", "id": "bob"},
            "action": {"type": "Action", "id": "document:read"},
            "resource": {"type": "Document", "id": "doc-1"},
            "context": {"mfa": True},
        },
        caller=MEMBER,
    )
    assert status == 200
    assert body["decision"] == "allow"
    assert body["policy_version"] == "v0"
    assert body["reasons"] == ["baseline.sharing-grants-read"]
    assert body["errors"] == []
    [event] = aws.drain()
    assert event["event_id"] == body["decision_id"]
    assert event["data"]["asked_by"] == "user:bob"


def test_users_may_only_ask_about_themselves(call: Call, aws: Bus) -> None:
    status, body = call(
        "POST",
        "/authz/check",
        question("root", "audit:read", "Tenant", TENANT),
        caller=MEMBER,
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert aws.drain() == []


def test_a_service_client_asks_about_a_user_and_cross_tenant_questions_are_denied(
    call: Call, aws: Bus
) -> None:
    put_document("doc-1", "alice")
    questions = [
        question("alice", "document:read", "Document", "doc-1"),
        question("boss", "audit:read", "Tenant", "globex", tenant="globex", roles=["admin"]),
        question("eve", "audit:read", "Tenant", "globex", roles=["auditor"]),
    ]  # fmt: skip
    status, body = call("POST", "/authz/batch", {"requests": questions}, caller=SERVICE)
    assert status == 200
    assert [d["decision"] for d in body["decisions"]] == ["allow", "deny", "deny"]
    assert body["decisions"][1]["reasons"] == ["baseline.tenant-isolation.question"]
    assert body["decisions"][2]["reasons"] == ["baseline.tenant-isolation.tenant"]
    events = aws.drain()
    assert [e["event_id"] for e in events] == [d["decision_id"] for d in body["decisions"]]
    assert {e["tenant"] for e in events} == {TENANT}


def test_a_client_without_the_check_scope_is_refused(call: Call) -> None:
    caller = identity(
        "svc-other", roles="", scope="documents:read", token_type="client", client_id="svc-other"
    )
    status, body = call(
        "POST",
        "/authz/check",
        question("bob", "audit:read", "Tenant", TENANT),
        caller=caller,
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "authz:check" in body["error"]["message"]


def test_a_batch_of_100_is_decided_and_audited_one_to_one(call: Call, aws: Bus) -> None:
    status, body = call(
        "POST",
        "/authz/batch",
        {"requests": [question("bob", "document:create", "Tenant", TENANT)] * 100},
        caller=MEMBER,
    )
    assert status == 200
    decisions = body["decisions"]
    events = aws.drain()
    assert len(decisions) == len(events) == 100
    assert sorted(d["decision_id"] for d in decisions) == sorted(e["event_id"] for e in events)
    assert {e["data"]["decision"] for e in events} == {"allow"}


def test_a_batch_of_101_is_a_400_with_the_reason_and_nothing_is_decided(call: Call, aws: Bus) -> None:
    status, body = call(
        "POST",
        "/authz/batch",
        {"requests": [question("bob", "audit:read", "Tenant", TENANT)] * 101},
        caller=MEMBER,
    )
    assert (status, body["error"]["code"]) == (400, "batch_too_large")
    assert "at most 100" in body["error"]["message"]
    assert aws.drain() == []


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        (question("bob", "document:read", "Folder", "f"), "unknown resource entity type 'Folder'"),
        (question("bob", "document:fly", "Document", "d"), "unknown action 'document:fly'"),
        (question("bob", "audit:read", "Document", "d"), "does not apply to resources of type Document"),
        # `context.tenant` is Echo's to set: a caller cannot move the question to another tenant.
        (
            {**question("bob", "audit:read", "Tenant", TENANT), "context": {"tenant": "globex"}},
            "context field",
        ),
    ],
)
def test_malformed_questions_are_a_400_with_the_reason(
    call: Call, aws: Bus, asked: dict[str, Any], reason: str
) -> None:
    status, body = call("POST", "/authz/check", asked, caller=MEMBER)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert reason in body["error"]["message"]
    assert aws.drain() == []


def test_list_returns_exactly_the_documents_check_allows(call: Call, aws: Bus) -> None:
    put_document("open", "alice", "internal")
    put_document("closed", "alice", "confidential")
    put_document("shared", "alice", "restricted", shared_with_users=["bob"])
    put_document("mine", "bob", "restricted")
    put_document("team", "alice", "confidential", shared_with_roles=["member"])
    status, listing = call(
        "POST",
        "/authz/list",
        {"principal": {"type": "User", "id": "bob"}, "action": "document:read", "resource_type": "Document"},
        caller=MEMBER,
    )
    assert status == 200
    listed = sorted(r["id"] for r in listing["resources"])
    assert listed == ["mine", "open", "shared", "team"]
    documents = ("open", "closed", "shared", "mine", "team")
    questions: list[dict[str, Any]] = [question("bob", "document:read", "Document", d) for d in documents]
    _, batch = call("POST", "/authz/batch", {"requests": questions}, caller=MEMBER)
    allowed = sorted(
        q["resource"]["id"]
        for q, d in zip(questions, batch["decisions"], strict=True)
        if d["decision"] == "allow"
    )
    assert listed == allowed
    events = aws.drain()
    assert events[0]["event_id"] == listing["decision_id"]
    assert events[0]["data"]["kind"] == "list"
    assert events[0]["data"]["allowed"] == 4


def test_no_authorizer_context_is_401(call: Call) -> None:
    status, body = call(
        "POST",
        "/authz/check",
        question("bob", "audit:read", "Tenant", TENANT),
        caller=None,
    )
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_an_unreachable_policy_store_denies_checks_and_fails_admin_routes(call: Call, aws: Bus) -> None:
    boto3.client("dynamodb").delete_table(TableName=POLICY_TABLE)
    body = _member_reads_audit(call)
    assert body["decision"] == "deny"
    assert body["policy_version"] == "unavailable"
    assert body["errors"][0].startswith("policy_store_unavailable")
    [event] = aws.drain()
    assert event["data"]["errors"] == body["errors"]
    status, error = call("GET", "/authz/policies", caller=ADMIN)
    assert (status, error["error"]["code"]) == (503, "unavailable")


def _policy_items() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=POLICY_TABLE)["Items"]


def test_an_activation_is_seen_at_once_by_the_container_that_made_it(
    call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a long refresh interval, and a container that has already cached v0
    monkeypatch.setenv("AUTHZ_REFRESH_SECONDS", "300")
    assert _member_reads_audit(call)["decision"] == "deny"
    # When an admin activates v1 through this container
    call("PUT", "/authz/policies", {"policies": MEMBERS_READ_AUDIT}, caller=ADMIN)
    assert _version_route(call, "v1", "activate")[0] == 200
    # Then its next decision is on v1, without waiting for the refresh
    assert _member_reads_audit(call)["policy_version"] == "v1"
