"""The token endpoint's grants, revocation and introspection over in-memory fakes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from echo_shared.identity.clients import AuthMethod, ClientType
from echo_shared.identity.errors import (
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    InvalidToken,
    TokenRejected,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from echo_shared.identity.grants import successor_handle
from echo_shared.identity.users import UserStatus
from echo_shared.identity.web import RequestInfo
from token_service.logic.exchange import REFRESH_GRACE_SECONDS, pkce_s256, token_endpoint
from token_service.logic.introspection import introspect, revoke, userinfo
from token_service.logic.issuance import at_hash

from tests.unit.identity.fakes import (
    AUDIENCE,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    SERVICE_CLIENT_ID,
    SERVICE_SECRET,
    FakeClock,
    TokenWorld,
    public_client,
    token_world,
)

REQUEST = RequestInfo(request_id="req-1", source_ip="203.0.113.7")
VERIFIER = "v" * 43


@pytest.fixture
def world() -> TokenWorld:
    return token_world(FakeClock())


def basic(client_id: str = SERVICE_CLIENT_ID, secret: str = SERVICE_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def claims_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def exchange(world: TokenWorld, code: str, **overrides: str) -> dict[str, Any]:
    params = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": PUBLIC_CLIENT_ID,
        "code_verifier": VERIFIER,
        **overrides,
    }
    return token_endpoint(world.service, params, None, REQUEST).body()


def refresh(world: TokenWorld, refresh_token: str) -> dict[str, Any]:
    params = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": PUBLIC_CLIENT_ID}
    return token_endpoint(world.service, params, None, REQUEST).body()


def test_no_refresh_token_without_offline_access_and_claims_only_per_scope(world: TokenWorld) -> None:
    # Given a code granted openid only
    body = exchange(world, world.put_code(scope=("openid",)))
    # Then there is no refresh token, and the ID token releases neither email nor roles
    assert "refresh_token" not in body
    id_claims = claims_of(body["id_token"])
    assert "email" not in id_claims
    assert "roles" not in id_claims
    assert world.grants.families == {}


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert (
        pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_code_exchange_issues_access_id_and_refresh_tokens(world: TokenWorld) -> None:
    # Given a fresh code bound to an S256 challenge
    code = world.put_code()
    # When the public client exchanges it with the verifier
    body = exchange(world, code)
    # Then it gets an RFC 9068 access token, an ID token for itself and a refresh token
    access = world.service.verifier.verify_access_token(body["access_token"])
    assert (access.sub, access.client_id, access.scope) == (
        "usr_alice",
        PUBLIC_CLIENT_ID,
        ("openid", "email", "offline_access"),
    )
    id_claims = claims_of(body["id_token"])
    assert id_claims["aud"] == PUBLIC_CLIENT_ID
    assert id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_claims["at_hash"] == at_hash(body["access_token"])
    assert id_claims["email"] == "alice@example.com"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"]
    assert world.event_types() == ["token.issued"]
    # And nothing secret reached the bus
    published = world.published.published[0].to_json()
    assert code not in published
    assert body["refresh_token"] not in published
    assert body["access_token"] not in published


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        ("w" * 43, InvalidGrant),  # wrong verifier
        (None, InvalidRequest),  # PKCE missing
        ("v" * 42, InvalidRequest),  # too short
        ("v" * 129, InvalidRequest),  # too long
        ("v" * 42 + "!", InvalidRequest),  # not unreserved characters
    ],
)
def test_pkce_is_required_and_must_match(
    world: TokenWorld, verifier: str | None, error: type[Exception]
) -> None:
    code = world.put_code()
    overrides = {} if verifier is None else {"code_verifier": verifier}
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    params |= {"client_id": PUBLIC_CLIENT_ID, **overrides}
    with pytest.raises(error):
        token_endpoint(world.service, params, None, REQUEST)


def test_a_plain_challenge_can_never_match(world: TokenWorld) -> None:
    # Given a code whose stored challenge equals the verifier (what `plain` would have stored)
    code = world.put_code(challenge=VERIFIER)
    # Then presenting the verifier fails: only S256 is ever computed
    with pytest.raises(InvalidGrant, match="code_verifier"):
        exchange(world, code)


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(world: TokenWorld) -> None:
    # Given a code already exchanged once
    code = world.put_code()
    first = exchange(world, code)
    # When it is presented again
    with pytest.raises(InvalidGrant, match="already used"):
        exchange(world, code)
    # Then the access token and the refresh token family from the first exchange are revoked
    with pytest.raises(TokenRejected, match="revoked"):
        world.service.verifier.verify_access_token(first["access_token"])
    with pytest.raises(InvalidGrant):
        refresh(world, first["refresh_token"])
    assert world.event_types() == ["token.issued", "token.reuse_detected"]


def test_code_expires_after_sixty_seconds(world: TokenWorld) -> None:
    code = world.put_code()
    world.clock.advance(60)
    with pytest.raises(InvalidGrant, match="expired"):
        exchange(world, code)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/callback?x=1",
        "http://127.0.0.1:8765/Callback",
        "http://localhost:8765/callback",
        "https://127.0.0.1:8765/callback",
    ],
)
def test_redirect_uri_must_match_the_authorization_request_exactly(
    world: TokenWorld, redirect_uri: str
) -> None:
    code = world.put_code()
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        exchange(world, code, redirect_uri=redirect_uri)


def test_unknown_codes_and_codes_of_other_clients_are_refused(world: TokenWorld) -> None:
    with pytest.raises(InvalidGrant):
        exchange(world, "not-a-code")
    code = world.put_code(client_id="another-client")
    with pytest.raises(InvalidGrant, match="another client"):
        exchange(world, code)


@pytest.mark.parametrize(
    "attempt",
    [
        {"client_id": "echo-other-web"},  # another (public) client holding the code
        {"code_verifier": "w" * 43},  # the right client without the verifier
        {"redirect_uri": "http://127.0.0.1:8765/elsewhere"},
    ],
)
def test_a_code_burning_attempt_leaves_the_code_to_its_rightful_client(
    world: TokenWorld, attempt: dict[str, str]
) -> None:
    # Given a code of the web client, and a party holding it without what binds it
    world.clients.put(public_client(client_id="echo-other-web"))
    code = world.put_code()
    # When that party presents it
    with pytest.raises(InvalidGrant):
        exchange(world, code, **attempt)
    # Then nothing was consumed or revoked: the rightful client still redeems it
    assert world.event_types() == []
    body = exchange(world, code)
    assert world.service.verifier.verify_access_token(body["access_token"]).sub == "usr_alice"


def test_a_replay_by_a_party_without_the_verifier_revokes_nothing(world: TokenWorld) -> None:
    # Given a redeemed code
    code = world.put_code()
    first = exchange(world, code)
    # When someone without the verifier presents it again
    with pytest.raises(InvalidGrant, match="code_verifier"):
        exchange(world, code, code_verifier="w" * 43)
    # Then the rightful client's tokens stay valid
    assert world.service.verifier.verify_access_token(first["access_token"]).sub == "usr_alice"
    assert world.event_types() == ["token.issued"]


def test_a_confidential_client_never_authenticates_with_none(world: TokenWorld) -> None:
    # Given a confidential client registered (wrongly) with `none`
    world.clients.put(
        public_client(
            client_id="confidential-none", client_type=ClientType.CONFIDENTIAL, auth_method=AuthMethod.NONE
        )
    )
    code = world.put_code(client_id="confidential-none")
    # Then neither a code exchange nor client credentials authenticate it
    with pytest.raises(InvalidClient):
        exchange(world, code, client_id="confidential-none")
    with pytest.raises(InvalidClient):
        token_endpoint(
            world.service,
            {"grant_type": "client_credentials", "client_id": "confidential-none"},
            None,
            REQUEST,
        )


def test_a_disabled_user_gets_no_tokens(world: TokenWorld) -> None:
    code = world.put_code()
    world.users.set_status("demo", "usr_alice", UserStatus.DISABLED, now=world.clock.epoch)
    with pytest.raises(InvalidGrant, match="no longer active"):
        exchange(world, code)


def test_refresh_rotates_the_refresh_token_every_time(world: TokenWorld) -> None:
    # Given tokens from a code exchange
    first = exchange(world, world.put_code())
    # When the refresh token is used
    world.clock.advance(60)
    second = refresh(world, first["refresh_token"])
    # Then a new refresh token replaces it, and the new one works in turn
    assert second["refresh_token"] != first["refresh_token"]
    third = refresh(world, second["refresh_token"])
    assert world.service.verifier.verify_access_token(third["access_token"]).sub == "usr_alice"
    assert world.event_types() == ["token.issued", "token.refreshed", "token.refreshed"]


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(world: TokenWorld) -> None:
    # Given a family rotated once (an attacker holds the first refresh token)
    first = exchange(world, world.put_code())
    second = refresh(world, first["refresh_token"])
    # When the old refresh token is presented again, after the grace window
    world.clock.advance(REFRESH_GRACE_SECONDS + 1)
    with pytest.raises(InvalidGrant, match="already used"):
        refresh(world, first["refresh_token"])
    # Then the current refresh token is dead too, and every live access token of the family is revoked
    with pytest.raises(InvalidGrant):
        refresh(world, second["refresh_token"])
    for body in (first, second):
        with pytest.raises(TokenRejected, match="revoked"):
            world.service.verifier.verify_access_token(body["access_token"])
    assert world.event_types()[-1] == "token.reuse_detected"


def test_a_second_refresh_within_the_grace_window_gets_the_same_successor(world: TokenWorld) -> None:
    # Given a refresh token refreshed once (one tab)
    first = exchange(world, world.put_code())
    second = refresh(world, first["refresh_token"])
    # When the same token is refreshed again within the grace window (another tab, a retry)
    world.clock.advance(REFRESH_GRACE_SECONDS)
    again = refresh(world, first["refresh_token"])
    # Then it succeeds with the same successor and its own access token, both in the family
    assert again["refresh_token"] == second["refresh_token"]
    assert again["access_token"] != second["access_token"]
    assert world.event_types() == ["token.issued", "token.refreshed", "token.refreshed"]
    assert [e.data["grace"] for e in world.published.published[1:]] == [False, True]
    # And the successor still rotates normally; a reuse after that revokes everything issued
    third = refresh(world, again["refresh_token"])
    world.clock.advance(REFRESH_GRACE_SECONDS + 1)
    with pytest.raises(InvalidGrant, match="already used"):
        refresh(world, second["refresh_token"])
    for body in (second, again, third):
        with pytest.raises(TokenRejected, match="revoked"):
            world.service.verifier.verify_access_token(body["access_token"])


def test_no_grace_once_the_successor_itself_was_rotated(world: TokenWorld) -> None:
    # Given a token whose successor was already refreshed (the client moved on)
    first = exchange(world, world.put_code())
    second = refresh(world, first["refresh_token"])
    refresh(world, second["refresh_token"])
    # When the first token comes back, even within its grace window
    with pytest.raises(InvalidGrant, match="already used"):
        refresh(world, first["refresh_token"])
    # Then it is a reuse: the family is revoked
    assert world.event_types()[-1] == "token.reuse_detected"


def test_the_successor_cannot_be_derived_without_the_presented_token() -> None:
    assert successor_handle("token-a", "salt") != successor_handle("token-b", "salt")
    assert successor_handle("token-a", "salt") != successor_handle("token-a", "other salt")
    assert len(successor_handle("token-a", "salt")) == 43  # 256 bits


def test_refresh_can_narrow_but_not_widen_the_scope(world: TokenWorld) -> None:
    first = exchange(world, world.put_code())
    params = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": PUBLIC_CLIENT_ID,
    }
    with pytest.raises(InvalidScope):
        token_endpoint(world.service, {**params, "scope": "openid audit:read"}, None, REQUEST)
    narrowed = token_endpoint(world.service, {**params, "scope": "openid"}, None, REQUEST).body()
    assert narrowed["scope"] == "openid"


def test_refresh_tokens_are_bound_to_their_client(world: TokenWorld) -> None:
    # Given tokens of the public client, and a second public client of the same tenant
    first = exchange(world, world.put_code())
    world.clients.put(public_client(client_id="other-web"))
    # When the other client presents the refresh token
    params = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": "other-web",
    }
    # Then it is refused
    with pytest.raises(InvalidGrant, match="another client"):
        token_endpoint(world.service, params, None, REQUEST)


def test_client_credentials_issue_a_client_token_with_its_scopes(world: TokenWorld) -> None:
    # Given the confidential service client authenticating with client_secret_basic
    params = {"grant_type": "client_credentials", "scope": "audit:read"}
    body = token_endpoint(world.service, params, basic(), REQUEST).body()
    # Then the token names the client as subject and carries its roles, and no refresh/ID token
    claims = world.service.verifier.verify_access_token(body["access_token"])
    assert claims.authorizer_context()["token_type"] == "client"
    assert (claims.sub, claims.roles, claims.scope) == (SERVICE_CLIENT_ID, ("auditor",), ("audit:read",))
    assert "refresh_token" not in body
    assert "id_token" not in body


@pytest.mark.parametrize("scope", ["documents:write", "openid", "audit:read bad\\scope"])
def test_client_credentials_refuse_scopes_the_client_does_not_have(world: TokenWorld, scope: str) -> None:
    with pytest.raises(InvalidScope):
        token_endpoint(world.service, {"grant_type": "client_credentials", "scope": scope}, basic(), REQUEST)


def test_a_resource_indicator_for_echos_api_is_honoured_and_any_other_refused(world: TokenWorld) -> None:
    # Given the one resource Echo issues tokens for (its API's audience, ADR 0012)
    params = {"grant_type": "client_credentials", "scope": "audit:read", "resource": AUDIENCE}
    body = token_endpoint(world.service, params, basic(), REQUEST).body()
    # Then the token is minted for it
    assert world.service.verifier.verify_access_token(body["access_token"]).aud == AUDIENCE
    # And a token for another resource server is refused (RFC 8707: invalid_target), not minted for ours
    for foreign in ("https://api.other.example", "urn:echo:api:prod", ""):
        with pytest.raises(InvalidTarget) as refused:
            token_endpoint(world.service, {**params, "resource": foreign}, basic(), REQUEST)
        assert (refused.value.status, refused.value.oauth_error) == (400, "invalid_target")


@pytest.mark.parametrize(
    ("params", "authorization"),
    [
        ({}, basic(secret="wrong-secret")),
        ({}, basic(client_id="nobody")),
        ({"client_id": SERVICE_CLIENT_ID, "client_secret": SERVICE_SECRET}, None),  # registered for basic
        ({"client_id": SERVICE_CLIENT_ID}, None),  # confidential client without a secret
        ({}, "Basic !!!"),
        ({}, None),
    ],
)
def test_client_authentication_failures(
    world: TokenWorld, params: dict[str, str], authorization: str | None
) -> None:
    with pytest.raises(InvalidClient):
        token_endpoint(world.service, {"grant_type": "client_credentials", **params}, authorization, REQUEST)


def test_grant_type_checks(world: TokenWorld) -> None:
    with pytest.raises(InvalidRequest):
        token_endpoint(world.service, {}, basic(), REQUEST)
    with pytest.raises(UnsupportedGrantType):
        token_endpoint(world.service, {"grant_type": "password"}, basic(), REQUEST)
    with pytest.raises(UnauthorizedClient):
        token_endpoint(
            world.service, {"grant_type": "client_credentials", "client_id": PUBLIC_CLIENT_ID}, None, REQUEST
        )


def test_revoking_a_refresh_token_revokes_its_family(world: TokenWorld) -> None:
    first = exchange(world, world.put_code())
    revoke(world.service, {"token": first["refresh_token"], "client_id": PUBLIC_CLIENT_ID}, None, REQUEST)
    with pytest.raises(InvalidGrant):
        refresh(world, first["refresh_token"])
    with pytest.raises(TokenRejected, match="revoked"):
        world.service.verifier.verify_access_token(first["access_token"])
    assert world.event_types()[-1] == "token.revoked"
    # A retry finds the family revoked and reports nothing again
    revoke(world.service, {"token": first["refresh_token"], "client_id": PUBLIC_CLIENT_ID}, None, REQUEST)
    assert world.event_types().count("token.revoked") == 1


def test_revocation_ignores_tokens_of_other_clients_and_unknown_tokens(world: TokenWorld) -> None:
    first = exchange(world, world.put_code())
    revoke(world.service, {"token": first["access_token"]}, basic(), REQUEST)
    revoke(world.service, {"token": "garbage", "client_id": PUBLIC_CLIENT_ID}, None, REQUEST)
    assert world.service.verifier.verify_access_token(first["access_token"]).sub == "usr_alice"


def test_introspection_is_for_confidential_clients_and_reports_live_tokens(world: TokenWorld) -> None:
    first = exchange(world, world.put_code())
    # A public client may not introspect
    with pytest.raises(InvalidClient):
        introspect(world.service, {"token": first["access_token"], "client_id": PUBLIC_CLIENT_ID}, None)
    # The confidential client sees the access token and the refresh token as active
    access = introspect(world.service, {"token": first["access_token"]}, basic())
    assert access["active"] is True
    assert access["sub"] == "usr_alice"
    refresh_info = introspect(world.service, {"token": first["refresh_token"]}, basic())
    assert refresh_info["active"] is True
    assert refresh_info["token_type"] == "refresh_token"
    # Once revoked, both are inactive; garbage is inactive, never an error
    revoke(world.service, {"token": first["refresh_token"], "client_id": PUBLIC_CLIENT_ID}, None, REQUEST)
    assert introspect(world.service, {"token": first["access_token"]}, basic()) == {"active": False}
    assert introspect(world.service, {"token": first["refresh_token"]}, basic()) == {"active": False}
    assert introspect(world.service, {"token": "a.b.c"}, basic()) == {"active": False}


def test_userinfo_needs_a_user_token_with_openid(world: TokenWorld) -> None:
    body = exchange(world, world.put_code())
    assert userinfo(world.service, f"Bearer {body['access_token']}", None)["email"] == "alice@example.com"
    client_token = token_endpoint(
        world.service, {"grant_type": "client_credentials"}, basic(), REQUEST
    ).body()
    with pytest.raises(InsufficientScope):
        userinfo(world.service, f"Bearer {client_token['access_token']}", None)
    with pytest.raises(InvalidToken):
        userinfo(world.service, "Bearer not.a.token", None)
    with pytest.raises(InvalidToken):
        userinfo(world.service, None, None)
