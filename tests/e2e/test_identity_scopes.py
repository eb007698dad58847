"""Scopes bound user tokens, on the deployed stack through API Gateway (issue 7's evidence)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.oidc import DEFAULT_SCOPES, RelyingParty

pytestmark = pytest.mark.e2e


def _api(stack: dict[str, Any], tokens: dict[str, Any]) -> httpx.Client:
    return httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30
    )


def test_an_rp_with_default_scopes_signs_in(stack: dict[str, Any]) -> None:
    # Given Authlib with the default scopes of many RP libraries, plus a scope Echo does not know
    member = stack["demo"]["users"]["member"]
    rp = RelyingParty(stack, f"{DEFAULT_SCOPES} unknown:scope")
    # When the member signs in
    tokens = rp.tokens_for(member["email"], member["password"])
    # Then the unknown scope is ignored and left out, and offline_access brings a refresh token
    assert tokens["scope"].split() == DEFAULT_SCOPES.split()
    assert tokens["refresh_token"]
    assert {"openid", "profile", "email", "offline_access"} <= set(rp.metadata["scopes_supported"])
    with _api(stack, tokens) as api:
        assert api.get("userinfo").json()["email"] == member["email"]


def test_an_admins_documents_read_token_is_refused_on_policy_user_and_log_routes(
    stack: dict[str, Any],
) -> None:
    # Given the admin signed in to an app that asked for documents:read only
    admin = stack["demo"]["users"]["admin"]
    tokens = RelyingParty(stack, "openid documents:read").tokens_for(admin["email"], admin["password"])
    assert tokens["scope"] == "openid documents:read"
    with _api(stack, tokens) as api:
        # Then policy, user and log administration are all refused, whatever the admin role says
        refused = {
            "policies": api.get("authz/policies").status_code,
            "users": api.get("users").status_code,
            "lockout": api.get(f"users/{stack['demo']['users']['member']['user_id']}/lockout").status_code,
            "logs": api.get("logs").status_code,
            "audit verify": api.get("audit/verify").status_code,
        }
    assert refused == dict.fromkeys(refused, 403)


def test_a_member_sees_their_own_trail(stack: dict[str, Any]) -> None:
    # Given the member signed in (user.logged_in and token.issued are written as user:<id>)
    member = stack["demo"]["users"]["member"]
    tokens = RelyingParty(stack).tokens_for(member["email"], member["password"])
    actor = f"user:{member['user_id']}"
    with _api(stack, tokens) as api:
        # When they read the audit trail without audit rights
        def own_sign_in() -> list[dict[str, Any]]:
            items = api.get("audit/events", params={"limit": 100}).json()["items"]
            return [item for item in items if item["type"] == "user.logged_in"]

        # Then their own sign-ins are there, and only their own events
        signed_in = wait_for(own_sign_in, timeout=90)
        assert {item["actor"] for item in signed_in} == {actor}
        everything = api.get("audit/events", params={"limit": 100}).json()["items"]
        assert {item["actor"] for item in everything} == {actor}
        assert (
            api.get(
                "audit/events", params={"actor": f"user:{stack['demo']['users']['admin']['user_id']}"}
            ).status_code
            == 403
        )


def test_a_token_for_another_resource_server_is_refused(stack: dict[str, Any], accounts: Any) -> None:
    # Given a service account of a fresh tenant (resource indicators, RFC 8707; ADR 0012)
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    # When it asks for a token for another resource server
    refused = accounts.token_response(
        tenant, ("auditor",), "audit:read", resource="https://api.other.example"
    )
    # Then none is minted (invalid_target), while Echo's own API as the resource gets one for it
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target")
    audience = f"urn:echo:api:{stack['stage']}"
    granted = accounts.token_response(tenant, ("auditor",), "audit:read", resource=audience)
    assert granted.status_code == 200, granted.text
    claims = json.loads(base64.urlsafe_b64decode(granted.json()["access_token"].split(".")[1] + "=="))
    assert claims["aud"] == audience
