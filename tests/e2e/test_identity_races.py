"""Races and abuse on the deployed stack, with truly parallel requests through the gateway (issue 7):
parallel wrong guesses, a code-burning attempt, parallel refreshes of one token."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token

from tests.e2e.oidc import _CSRF, RelyingParty, query_of

pytestmark = pytest.mark.e2e

GUESSES = 10
ACCOUNT_SOURCE_LIMIT = 5  # echo_shared.identity.attempts.ACCOUNT_SOURCE_POLICY
REFRESH_GRACE_SECONDS = 30  # token_service.logic.exchange.REFRESH_GRACE_SECONDS
TABS = 4


def _login_form(stack: dict[str, Any]) -> tuple[httpx.Client, str, str]:
    """A browser on the sign-in page: (browser, form action, CSRF token)."""
    rp = RelyingParty(stack)
    url, _ = rp.oauth.create_authorization_url(
        rp.metadata["authorization_endpoint"], code_verifier=generate_token(48)
    )
    to_login = rp.browser.get(url)
    assert to_login.status_code in (302, 303), to_login.text
    form = rp.browser.get(to_login.headers["location"])
    match = _CSRF.search(form.text)
    assert form.status_code == 200, form.text
    assert match is not None, form.text
    return rp.browser, str(form.url).split("?", 1)[0], match.group(1)


def test_parallel_wrong_guesses_never_pass_the_budget(stack: dict[str, Any]) -> None:
    # Given ten browsers on the sign-in page, all guessing for one (unknown, so nobody is locked out
    # by this test) account, which is budgeted exactly like a real one
    email = f"race-{generate_token(8).lower()}@demo.echo.test"
    browsers = [_login_form(stack) for _ in range(GUESSES)]
    barrier = Barrier(GUESSES)

    def guess(browser: tuple[httpx.Client, str, str]) -> int:
        client, action, csrf = browser
        barrier.wait()
        return client.post(
            action, data={"email": email, "password": "wrong guess " * 2, "csrf_token": csrf}
        ).status_code

    # When they all submit at the same instant
    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        statuses = list(pool.map(guess, browsers))
    # Then exactly the account+source budget's worth was checked; the rest were refused unchecked
    assert sorted(statuses) == [401] * ACCOUNT_SOURCE_LIMIT + [429] * (GUESSES - ACCOUNT_SOURCE_LIMIT), (
        statuses
    )


def _signed_in_code(stack: dict[str, Any]) -> tuple[RelyingParty, str]:
    rp = RelyingParty(stack)
    member = stack["demo"]["users"]["member"]
    back = rp.sign_in(member["email"], member["password"])
    assert back.status_code in (302, 303), back.text
    return rp, query_of(back.headers["location"])["code"]


def _redeem(stack: dict[str, Any], code: str, verifier: str, **overrides: str) -> httpx.Response:
    public = stack["demo"]["public_client"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": public["redirect_uri"],
            "client_id": public["client_id"], "code_verifier": verifier, **overrides}  # fmt: skip
    return httpx.post(stack["api_url"] + "token", data=data, timeout=30)


def test_a_code_burning_attempt_does_not_burn_the_code(stack: dict[str, Any]) -> None:
    # Given a member's code, intercepted by a party with another client and no verifier
    rp, code = _signed_in_code(stack)
    attempts = [
        _redeem(
            stack, code, generate_token(48), client_id=stack["other_tenant"]["public_client"]["client_id"]
        ),
        _redeem(stack, code, generate_token(48)),
        _redeem(stack, code, rp.verifier, redirect_uri="http://127.0.0.1:8765/elsewhere"),
    ]
    # Then each attempt is refused
    assert [(r.status_code, r.json()["error"]) for r in attempts] == [(400, "invalid_grant")] * 3
    # And the rightful client still redeems the code
    rightful = _redeem(stack, code, rp.verifier)
    assert rightful.status_code == 200, rightful.text
    assert rightful.json()["access_token"]


def _refresh(stack: dict[str, Any], refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": stack["demo"]["public_client"]["client_id"]}  # fmt: skip
    return httpx.post(stack["api_url"] + "token", data=data, timeout=30)


@pytest.mark.clock
def test_parallel_refreshes_get_the_same_successor_and_a_late_reuse_revokes_the_family(
    stack: dict[str, Any],
) -> None:
    # Given a signed-in app with a refresh token
    member = stack["demo"]["users"]["member"]
    tokens = RelyingParty(stack).tokens_for(member["email"], member["password"])
    barrier = Barrier(TABS)

    def tab(_: int) -> httpx.Response:
        barrier.wait()
        return _refresh(stack, tokens["refresh_token"])

    # When four tabs refresh it at the same instant
    with ThreadPoolExecutor(max_workers=TABS) as pool:
        responses = list(pool.map(tab, range(TABS)))
    # Then all succeed, with one and the same successor
    assert [r.status_code for r in responses] == [200] * TABS, [r.text for r in responses]
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 1
    # When the first token comes back after the grace window (the deployed clock cannot be driven)
    time.sleep(REFRESH_GRACE_SECONDS + 2)
    late = _refresh(stack, tokens["refresh_token"])
    # Then it is a reuse: refused, and the whole family is revoked, successor and access tokens too
    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")
    assert _refresh(stack, successors.pop()).status_code == 400
    confidential = stack["demo"]["confidential_client"]
    for response in responses:
        introspected = httpx.post(
            stack["api_url"] + "introspect",
            auth=(confidential["client_id"], confidential["client_secret"]),
            data={"token": response.json()["access_token"]},
            timeout=30,
        )
        assert introspected.json() == {"active": False}
