"""The users API on the deployed stack: admins list, disable and delete users of their tenant; the
deletion removes the personal data and the audit chain still verifies."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from echo_shared.identity.claims import Role
from echo_shared.identity.dynamodb import DynamoUserRepository
from echo_shared.identity.passwords import PasswordHasher, generate_secret
from echo_shared.identity.users import User

from tests.e2e.conftest import wait_for
from tests.e2e.oidc import ADMIN_TOOL_SCOPES, RelyingParty


def _signed_in(stack: dict[str, Any], name: str) -> httpx.Client:
    user = stack["demo"]["users"][name]
    tokens = RelyingParty(stack, ADMIN_TOOL_SCOPES).tokens_for(user["email"], user["password"])
    return httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30
    )


@pytest.fixture
def doomed_user(stack: dict[str, Any]) -> User:
    now = int(time.time())
    user = User(
        stack["demo"]["tenant"],
        f"usr_e2e_{uuid.uuid4().hex[:10]}",
        f"doomed-{uuid.uuid4().hex[:8]}@demo.echo.test",
        PasswordHasher().hash(generate_secret(18)),
        (Role.MEMBER,),
        created_at=now,
        updated_at=now,
    )
    DynamoUserRepository(stack["tables"]["identity"]).create(user)
    return user


def _listed(admin: httpx.Client) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        response = admin.get("users", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        ids |= {item["id"] for item in response.json()["items"]}
        cursor = response.json().get("next_cursor")
        if not cursor:
            return ids


def test_admin_disables_and_deletes_a_user_and_the_chain_still_verifies(
    stack: dict[str, Any], doomed_user: User
) -> None:
    admin, member = _signed_in(stack, "admin"), _signed_in(stack, "member")
    # Members may not administer users
    assert member.get("users").status_code == 403
    assert member.delete(f"users/{doomed_user.user_id}").status_code == 403
    # The admin sees the user, disables, then deletes them
    assert doomed_user.user_id in _listed(admin)
    disabled = admin.post(f"users/{doomed_user.user_id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert admin.delete(f"users/{doomed_user.user_id}").status_code == 204
    assert doomed_user.user_id not in _listed(admin)
    assert (
        DynamoUserRepository(stack["tables"]["identity"]).get(doomed_user.tenant, doomed_user.user_id) is None
    )

    # The trail records both steps without the deleted user's email, and the chain verifies
    def recorded() -> list[dict[str, Any]]:
        items = admin.get("audit/events", params={"resource": f"user/{doomed_user.user_id}", "limit": 100})
        assert items.status_code == 200, items.text
        found = items.json()["items"]
        return found if {"user.disabled", "user.deleted"} <= {i["type"] for i in found} else []

    events = wait_for(recorded, timeout=30)
    assert doomed_user.email not in json.dumps(events)
    verdict = admin.get("audit/verify").json()
    assert verdict["ok"] is True, verdict
