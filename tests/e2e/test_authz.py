"""Authorization on the deployed stack: an admin activates a policy version, a member's decision
follows it, rollback restores it, and every step is in the audit chain."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.conftest import wait_for
from tests.e2e.oidc import ADMIN_TOOL_SCOPES, RelyingParty

MEMBERS_READ_LOGS = (
    '@id("demo.members-read-logs-{run}")\n'
    'permit (principal in Role::"member", action == Action::"log:read", resource is Tenant);\n'
)


class Caller:
    """A demo user signed in through the hosted login, calling the API with their access token."""

    def __init__(self, stack: dict[str, Any], name: str) -> None:
        user = stack["demo"]["users"][name]
        rp = RelyingParty(stack, ADMIN_TOOL_SCOPES)
        tokens = rp.tokens_for(user["email"], user["password"])
        keys = KeySet.import_key_set(httpx.get(stack["issuer"] + "/jwks.json", timeout=30).json())
        self.sub = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims["sub"]
        self.http = httpx.Client(
            base_url=stack["api_url"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=30,
        )

    def can_read_logs(self, tenant: str) -> dict[str, Any]:
        response = self.http.post(
            "authz/check",
            json={
                "principal": {"type": "User", "id": self.sub},
                "action": "log:read",
                "resource": {"type": "Tenant", "id": tenant},
            },
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def admin(stack: dict[str, Any]) -> Caller:
    return Caller(stack, "admin")


@pytest.fixture(scope="module")
def member(stack: dict[str, Any]) -> Caller:
    return Caller(stack, "member")


def test_policy_activation_changes_decisions_and_rollback_restores_them(
    stack: dict[str, Any], admin: Caller, member: Caller
) -> None:
    tenant = stack["demo"]["tenant"]
    before = member.can_read_logs(tenant)
    assert before["decision"] == "deny"
    active_before = before["policy_version"]

    # When the admin proposes a version that lets members read the log (checked against its golden decision)
    proposal = admin.http.put(
        "authz/policies",
        json={
            "policies": MEMBERS_READ_LOGS.format(run=uuid.uuid4().hex[:8]),
            "description": "e2e: members may read the application log",
            "golden_decisions": [
                {
                    "name": "members read logs",
                    "principal": {"type": "User", "id": "someone", "roles": ["member"]},
                    "action": "log:read",
                    "resource": {"type": "Tenant", "id": "{tenant}"},
                    "expect": "allow",
                }
            ],
        },
    )
    assert proposal.status_code == 201, proposal.text
    version = proposal.json()["version"]
    assert proposal.json()["active"] is False
    # Then nothing changes until it is activated
    assert member.can_read_logs(tenant)["decision"] == "deny"

    # When the admin activates it, the member's decision follows, naming the new version
    activated = admin.http.post(f"authz/policies/{version}/activate")
    assert activated.status_code == 200, activated.text
    allowed = wait_for(lambda: (d := member.can_read_logs(tenant))["decision"] == "allow" and d, timeout=20)
    assert allowed["policy_version"] == version

    # When the admin rolls back to the version active before, the decision is deny again
    rolled_back = admin.http.post(f"authz/policies/{active_before}/rollback")
    assert rolled_back.status_code == 200, rolled_back.text
    denied = wait_for(lambda: (d := member.can_read_logs(tenant))["decision"] == "deny" and d, timeout=20)
    assert denied["policy_version"] == active_before

    # And the member cannot administer policies, nor ask about someone else
    assert member.http.post(f"authz/policies/{version}/activate").status_code == 403
    other = member.http.post(
        "authz/check",
        json={
            "principal": {"type": "User", "id": admin.sub},
            "action": "log:read",
            "resource": {"type": "Tenant", "id": tenant},
        },
    )
    assert other.status_code == 403

    # And every decision and policy change is in the tenant's audit chain, which still verifies
    decision_ids = {before["decision_id"], allowed["decision_id"], denied["decision_id"]}

    def audited() -> list[dict[str, Any]]:
        response = admin.http.get("audit/events", params={"type": "authz.decision", "limit": 100})
        assert response.status_code == 200, response.text
        found = {item["data"].get("decision_id") for item in response.json()["items"]}
        return decision_ids <= found and response.json()["items"]

    wait_for(audited, timeout=30)
    history = admin.http.get("authz/policies/history").json()["items"]
    assert [(h["kind"], h["version"]) for h in history[:2]] == [  # newest first
        ("rollback", active_before),
        ("activate", version),
    ]
    verdict = admin.http.get("audit/verify").json()
    assert verdict["ok"] is True, verdict


def test_bad_policies_and_oversized_batches_get_clear_4xx(admin: Caller) -> None:
    malformed = admin.http.put(
        "authz/policies", json={"policies": "permit (principal,", "description": "broken"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_policy"
    batch = admin.http.post(
        "authz/batch",
        json={
            "requests": [
                {
                    "principal": {"type": "User", "id": "x"},
                    "action": "log:read",
                    "resource": {"type": "Tenant", "id": "demo"},
                }
            ]
            * 101
        },
    )
    assert batch.status_code in (400, 422)
    assert batch.json()["error"]["code"]
