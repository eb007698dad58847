"""The users API behind the Lambda authorizer: who may call what, and what the authorizer refuses."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, demo_user, registered_guest, service_client
from tests.integration.identity.gateway import ISSUER


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(identity: IdentityWorld, name: str, scope: str = "openid email users:admin") -> dict[str, str]:
    return dict(RelyingParty(identity, scope=scope).tokens_for(*demo_user(identity, name)))


def test_a_member_reads_their_profile_but_no_admin_route(identity: IdentityWorld) -> None:
    tokens = signed_in(identity, "member")
    with identity.gateway.client(headers=bearer(tokens["access_token"])) as api:
        me = api.get("users/me")
        assert me.status_code == 200
        assert me.json()["email"] == identity.demo["users"]["member"]["email"]
        assert me.json()["roles"] == ["member"]
        forbidden = api.get("users")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"


def test_an_admins_token_without_users_admin_administers_nobody(identity: IdentityWorld) -> None:
    # Given the admin signed in to a documents app: granted documents:read, not users:admin
    tokens = signed_in(identity, "admin", scope="openid documents:read")
    member_id = identity.demo["users"]["member"]["user_id"]
    with identity.gateway.client(headers=bearer(tokens["access_token"])) as api:
        # Then every user-administration route refuses it, whatever the admin role says
        refused = [
            api.get("users").status_code,
            api.get(f"users/{member_id}/lockout").status_code,
            api.post(f"users/{member_id}/disable").status_code,
            api.delete(f"users/{member_id}").status_code,
        ]
        # But the admin's own profile is still theirs
        assert api.get("users/me").status_code == 200
    assert refused == [403, 403, 403, 403]
    decisions = [e for e in identity.published_events() if e["type"] == "authz.decision"]
    assert {e["data"]["decision"] for e in decisions} == {"deny"}
    assert {e["actor"] for e in decisions} == {f"user:{identity.demo['users']['admin']['user_id']}"}


def test_an_admin_lists_disables_inspects_and_deletes_users(identity: IdentityWorld) -> None:
    # Given the admin signed in, and the member with a few failed sign-ins
    admin = signed_in(identity, "admin")
    member_id = identity.demo["users"]["member"]["user_id"]
    member_email, member_password = demo_user(identity, "member")
    RelyingParty(identity).sign_in(member_email, "not-the-password")
    with identity.gateway.client(headers=bearer(admin["access_token"])) as api:
        # When the admin lists the tenant's users
        listed = api.get("users", params={"limit": 1})
        first_page = listed.json()
        assert listed.status_code == 200
        assert len(first_page["items"]) == 1
        second_page = api.get("users", params={"limit": 1, "cursor": first_page["next_cursor"]}).json()
        ids = {first_page["items"][0]["id"], second_page["items"][0]["id"]}
        assert ids == {member_id, identity.demo["users"]["admin"]["user_id"]}
        # And reads the member's lockout state
        lockout = api.get(f"users/{member_id}/lockout").json()
        assert lockout == {"user_id": member_id, "locked": False, "failures": 1, "locked_until": None}
        # And disables the member: the member can no longer sign in
        disabled = api.post(f"users/{member_id}/disable")
        assert disabled.json()["status"] == "disabled"
        assert RelyingParty(identity).sign_in(member_email, member_password).status_code == 401
        # And deletes the member: personal data is gone
        assert api.delete(f"users/{member_id}").status_code == 204
        assert api.get(f"users/{member_id}/lockout").status_code == 404
        # But cannot disable or delete their own account
        assert api.delete(f"users/{identity.demo['users']['admin']['user_id']}").status_code == 409
    items = identity.dynamodb.scan(TableName=identity.tables["IDENTITY_TABLE"])["Items"]
    assert member_email not in json.dumps(items)
    events = [e["type"] for e in identity.published_events()]
    assert {"user.disabled", "user.deleted"} <= set(events)


def _claims(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_registered_guest_is_promoted_by_an_admin_and_the_next_token_says_so(
    identity: IdentityWorld,
) -> None:
    # Given a self-registered user: a guest
    rp, guest_tokens = registered_guest(identity, "gus@example.com")
    assert _claims(guest_tokens["access_token"])["roles"] == ["guest"]
    with identity.gateway.client(headers=bearer(guest_tokens["access_token"])) as api:
        me = api.get("users/me").json()
        # And a guest cannot promote themselves
        assert api.put(f"users/{me['id']}/roles", json={"roles": ["admin"]}).status_code == 403
    assert me["roles"] == ["guest"]
    admin = signed_in(identity, "admin")
    with identity.gateway.client(headers=bearer(admin["access_token"])) as api:
        # When the admin promotes the guest to member
        promoted = api.put(f"users/{me['id']}/roles", json={"roles": ["member"]})
    # Then the user is a member, and their next token (a refresh) carries the new role
    assert promoted.status_code == 200
    assert promoted.json()["roles"] == ["member"]
    refreshed = rp.oauth.refresh_token(
        rp.metadata["token_endpoint"], refresh_token=guest_tokens["refresh_token"]
    )
    assert _claims(refreshed["access_token"])["roles"] == ["member"]
    changed = [e for e in identity.published_events() if e["type"] == "user.roles_changed"]
    assert [(e["actor"], e["resource"], e["data"]) for e in changed] == [
        (
            f"user:{identity.demo['users']['admin']['user_id']}",
            f"user/{me['id']}",
            {"roles": ["member"], "previous_roles": ["guest"]},
        )
    ]
    assert "gus@example.com" not in json.dumps(changed)


def test_role_changes_answer_typed_errors(identity: IdentityWorld) -> None:
    member_id = identity.demo["users"]["member"]["user_id"]
    admin_id = identity.demo["users"]["admin"]["user_id"]
    member = signed_in(identity, "member")
    admin = signed_in(identity, "admin")
    with identity.gateway.client(headers=bearer(member["access_token"])) as api:
        by_member = api.put(f"users/{admin_id}/roles", json={"roles": ["guest"]})
    with identity.gateway.client(headers=bearer(admin["access_token"])) as api:
        unknown_role = api.put(f"users/{member_id}/roles", json={"roles": ["superuser"]})
        mixed = api.put(f"users/{member_id}/roles", json={"roles": ["guest", "member"]})
        no_roles = api.put(f"users/{member_id}/roles", json={"roles": []})
        unknown_user = api.put("users/usr_nobody/roles", json={"roles": ["member"]})
        themselves = api.put(f"users/{admin_id}/roles", json={"roles": ["member"]})
    assert (by_member.status_code, by_member.json()["error"]["code"]) == (403, "forbidden")
    assert (unknown_role.status_code, unknown_role.json()["error"]["code"]) == (400, "invalid_input")
    assert (mixed.status_code, mixed.json()["error"]["code"]) == (400, "invalid_input")
    assert no_roles.status_code == 422
    assert (unknown_user.status_code, unknown_user.json()["error"]["code"]) == (404, "not_found")
    assert (themselves.status_code, themselves.json()["error"]["code"]) == (409, "conflict")


def test_service_tokens_pass_the_authorizer_but_are_not_users(identity: IdentityWorld) -> None:
    token = service_client(identity).fetch_token(f"{ISSUER}/token", grant_type="client_credentials")
    with identity.gateway.client(headers=bearer(token["access_token"])) as api:
        response = api.get("users/me")
    assert response.status_code == 403


def _b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: None,  # no Authorization header
        lambda t: "Basic dXNlcjpwYXNz",
        lambda t: "Bearer not-a-jwt",
        lambda t: f"Bearer {_b64({'alg': 'none', 'typ': 'at+jwt'})}.{t.split('.')[1]}.",
        lambda t: (
            f"Bearer {_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'x'})}.{t.split('.')[1]}.{_b64(b'sig')}"
        ),
        lambda t: f"Bearer {t[:-6]}AAAAAA",  # tampered signature
        lambda t: (
            f"Bearer {t.split('.')[0]}.{_b64({'sub': 'usr_demo_admin', 'roles': ['admin']})}.{t.split('.')[2]}"
        ),
    ],
)
def test_the_authorizer_refuses_forged_tokens_with_401(identity: IdentityWorld, forge: object) -> None:
    tokens = signed_in(identity, "member")
    assert callable(forge)
    header = forge(tokens["access_token"])
    with identity.gateway.client() as api:
        response = api.get("users/me", headers={} if header is None else {"Authorization": header})
    assert response.status_code == 401


def test_the_authorizer_refuses_an_id_token_and_a_revoked_access_token(identity: IdentityWorld) -> None:
    rp = RelyingParty(identity)
    tokens = rp.tokens_for(*demo_user(identity, "member"))
    with identity.gateway.client() as api:
        assert api.get("users/me", headers=bearer(tokens["id_token"])).status_code == 401
        assert api.get("users/me", headers=bearer(tokens["access_token"])).status_code == 200
        rp.oauth.revoke_token(rp.metadata["revocation_endpoint"], token=tokens["access_token"])
        assert api.get("users/me", headers=bearer(tokens["access_token"])).status_code == 401


def test_the_authorizer_allows_the_whole_stage_with_the_contract_context(
    identity: IdentityWorld, lambda_context: Any, aws_fixture_event: Callable[[str], dict[str, Any]]
) -> None:
    from authorizer.handler import lambda_handler

    # Given an admin's access token and API Gateway's TOKEN and REQUEST authorizer events
    tokens = signed_in(identity, "admin")
    token_event = aws_fixture_event("apiGatewayAuthorizerTokenEvent.json")
    token_event |= {
        "authorizationToken": f"Bearer {tokens['access_token']}",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/GET/users/me",
    }
    request_event = aws_fixture_event("apiGatewayAuthorizerRequestEvent.json")
    request_event["headers"]["Authorization"] = f"Bearer {tokens['access_token']}"
    request_event["methodArn"] = "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/DELETE/users/x"
    for event in (token_event, request_event):
        # When the authorizer runs
        result = lambda_handler(event, lambda_context)
        # Then it allows every method of the stage (one cached decision serves every route)
        assert result["policyDocument"]["Statement"] == [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/*",
            }
        ]
        # And passes exactly the contract's context, all strings
        context = result["context"]
        assert set(context) == {"sub", "tenant", "roles", "scope", "client_id", "token_type", "jti"}
        assert context["sub"] == result["principalId"] == identity.demo["users"]["admin"]["user_id"]
        assert (context["tenant"], context["roles"], context["token_type"]) == ("demo", "admin", "user")
        assert context["scope"] == "openid email users:admin"
        assert all(isinstance(value, str) for value in context.values())


def test_the_authorizer_raises_unauthorized_for_a_malformed_method_arn(
    identity: IdentityWorld, lambda_context: Any
) -> None:
    from authorizer.handler import lambda_handler

    tokens = signed_in(identity, "member")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        lambda_handler(
            {
                "type": "TOKEN",
                "authorizationToken": f"Bearer {tokens['access_token']}",
                "methodArn": "arn:aws:s3:::x",
            },
            lambda_context,
        )
