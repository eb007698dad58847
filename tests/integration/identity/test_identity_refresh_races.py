"""Refresh-token rotation under truly parallel refreshes, with the grants in DynamoDB Local (real
conditional transactions; moto does not serialize concurrent writes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from echo_shared.identity.errors import InvalidGrant, TokenRejected
from echo_shared.identity.grants import AuthorizationCode, handle_digest, new_handle
from echo_shared.identity.web import RequestInfo
from token_service.logic.exchange import REFRESH_GRACE_SECONDS, pkce_s256, token_endpoint

from tests.integration.identity.dynamodb_local import token_world_on_dynamodb
from tests.unit.identity.fakes import PUBLIC_CLIENT_ID, REDIRECT_URI, TENANT, TokenWorld

VERIFIER = "v" * 43
REQUEST = RequestInfo(request_id="req-race", source_ip="192.0.2.9")
TABS = 6


@pytest.fixture
def world(ddb_identity_table: str, ddb_outbox_table: str) -> TokenWorld:
    """The token service over the fakes, except its grants and the outbox their rotations write
    to: those are in DynamoDB Local."""
    return token_world_on_dynamodb(ddb_identity_table, ddb_outbox_table)


def _signed_in(world: TokenWorld) -> dict[str, Any]:
    code = new_handle()
    now = world.clock.epoch
    world.service.codes.put_code(  # type: ignore[attr-defined]
        AuthorizationCode(handle_digest(code), PUBLIC_CLIENT_ID, TENANT, "usr_alice", REDIRECT_URI,
                          ("openid", "offline_access"), pkce_s256(VERIFIER), now, now + 60)
    )  # fmt: skip
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "client_id": PUBLIC_CLIENT_ID, "code_verifier": VERIFIER}  # fmt: skip
    return token_endpoint(world.service, params, None, REQUEST).body()


def _refresh_in_parallel(world: TokenWorld, refresh_token: str, tabs: int) -> list[dict[str, Any] | str]:
    barrier = Barrier(tabs)
    params = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": PUBLIC_CLIENT_ID}

    def tab(_: int) -> dict[str, Any] | str:
        barrier.wait()
        try:
            return token_endpoint(world.service, params, None, REQUEST).body()
        except InvalidGrant as refused:
            return str(refused)

    with ThreadPoolExecutor(max_workers=tabs) as pool:
        return list(pool.map(tab, range(tabs)))


def test_parallel_refreshes_of_one_token_all_get_the_same_successor(world: TokenWorld) -> None:
    # Given a signed-in client with a refresh token
    tokens = _signed_in(world)
    # When six tabs refresh it at the same instant
    results = _refresh_in_parallel(world, tokens["refresh_token"], TABS)
    # Then all succeed, with one and the same successor, and each its own live access token
    assert all(isinstance(r, dict) for r in results), results
    bodies = [r for r in results if isinstance(r, dict)]
    assert len({b["refresh_token"] for b in bodies}) == 1
    assert len({b["access_token"] for b in bodies}) == TABS
    for body in bodies:
        assert world.service.verifier.verify_access_token(body["access_token"]).sub == "usr_alice"
    # And the successor rotates on; a reuse of the first token after the window revokes everything
    successor = bodies[0]["refresh_token"]
    next_tokens = token_endpoint(
        world.service,
        {"grant_type": "refresh_token", "refresh_token": successor, "client_id": PUBLIC_CLIENT_ID},
        None,
        REQUEST,
    ).body()
    world.clock.advance(REFRESH_GRACE_SECONDS + 1)
    (late,) = _refresh_in_parallel(world, tokens["refresh_token"], 1)
    assert late == "the refresh token was already used"
    for body in (*bodies, next_tokens):
        with pytest.raises(TokenRejected, match="revoked"):
            world.service.verifier.verify_access_token(body["access_token"])
