"""The gateway's cache of authorizer results (docs/authorizer-cache.md) on the deployed stack.

A cached Allow is keyed by the exact `Authorization` header, so it never answers for another token;
a revoked access token keeps working until its cached result expires, and not one request longer
than the TTL.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from stacks.identity import AUTHORIZER_CACHE_SECONDS

PROTECTED = "audit/verify"


def _client_credentials_token(stack: dict[str, Any]) -> str:
    confidential = stack["demo"]["confidential_client"]
    response = httpx.post(
        stack["api_url"] + "token",
        auth=(confidential["client_id"], confidential["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _status(stack: dict[str, Any], token: str) -> int:
    response = httpx.get(
        stack["api_url"] + PROTECTED, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def _tampered(token: str) -> str:
    # Same shape (the authorizer's identity regex still matches), another signature.
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def test_a_cached_allow_never_serves_another_token(stack: dict[str, Any]) -> None:
    # Given a token whose Allow the gateway has just cached
    token = _client_credentials_token(stack)
    assert _status(stack, token) == 200
    assert _status(stack, token) == 200
    # When a token differing only in its signature is presented within the TTL
    # Then it is judged on its own and refused
    assert _status(stack, _tampered(token)) == 401
    # And a second valid token of the same client gets its own decision
    assert _status(stack, _client_credentials_token(stack)) == 200


@pytest.mark.clock
def test_a_revoked_token_is_refused_once_the_cache_ttl_has_passed(stack: dict[str, Any]) -> None:
    confidential = stack["demo"]["confidential_client"]
    # Given an access token accepted (and so cached) by the gateway
    token = _client_credentials_token(stack)
    assert _status(stack, token) == 200
    cached_at = time.monotonic()
    # When its client revokes it (RFC 7009)
    revoked = httpx.post(
        stack["api_url"] + "revoke",
        auth=(confidential["client_id"], confidential["client_secret"]),
        data={"token": token, "token_type_hint": "access_token"},
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    # Then within the TTL the cached Allow still answers (the documented revocation window)
    if time.monotonic() - cached_at < AUTHORIZER_CACHE_SECONDS - 5:
        assert _status(stack, token) == 200
    # And once the TTL has passed the authorizer runs again and refuses it
    time.sleep(max(0.0, AUTHORIZER_CACHE_SECONDS + 1 - (time.monotonic() - cached_at)))
    assert _status(stack, token) == 401
