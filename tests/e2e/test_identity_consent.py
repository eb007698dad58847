"""Consent for third-party clients and `resource` at /authorize, on the deployed stack through API
Gateway (issue 7's evidence: consent appears for a third-party client and not for a first-party one)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.oidc import RelyingParty, query_of

pytestmark = pytest.mark.e2e

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PARTNER = "third_party_client"
PARTNER_SCOPES = "openid email offline_access"


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def _is_consent_page(stack: dict[str, Any], response: httpx.Response) -> bool:
    return response.status_code == 200 and f'action="{stack["issuer"]}/consent"' in response.text


def _has_code(response: httpx.Response) -> bool:
    return response.status_code in (302, 303) and "code" in query_of(response.headers["location"])


def _revoke(stack: dict[str, Any], rp: RelyingParty) -> httpx.Response:
    """Revoke the partner from this browser's list of applications, if it is listed."""
    listing = rp.browser.get(stack["issuer"] + "/consents")
    assert listing.status_code == 200, listing.text
    client_id = stack["demo"][PARTNER]["client_id"]
    if f'data-client-id="{client_id}"' not in listing.text:
        return listing
    return rp.browser.post(
        stack["issuer"] + "/consents/revoke", data={"csrf_token": _csrf(listing.text), "client_id": client_id}
    )


def _partner_signed_in(stack: dict[str, Any], member: dict[str, Any]) -> tuple[RelyingParty, httpx.Response]:
    """The member signs in to the partner app in a fresh browser, after forgetting any consent an
    earlier run left (consents outlive test runs on the deployed stack)."""
    rp = RelyingParty(stack, PARTNER_SCOPES, client=PARTNER)
    first = rp.sign_in(member["email"], member["password"])
    if _has_code(first):
        revoked = _revoke(stack, rp)
        assert revoked.status_code == 200, revoked.text
        first = rp.authorize()
    return rp, first


def test_consent_appears_for_a_third_party_client_and_not_for_a_first_party_one(
    stack: dict[str, Any],
) -> None:
    member = stack["demo"]["users"]["member"]
    # Given Echo's own app: signing in answers with a code at once (tokens_for asserts the redirect)
    own = RelyingParty(stack).tokens_for(member["email"], member["password"])
    # When the member signs in to the partner app
    rp, page = _partner_signed_in(stack, member)
    # Then they are asked, with the app's name and what it may do, in plain words
    assert _is_consent_page(stack, page), page.text
    assert "Partner app" in page.text
    assert "See your email address" in page.text
    # When they allow it, the app gets tokens for the scopes asked
    back = rp.browser.post(
        stack["issuer"] + "/consent", data={"csrf_token": _csrf(page.text), "decision": "approve"}
    )
    assert _has_code(back), back.text
    tokens = rp.redeem(back)
    assert tokens["scope"] == PARTNER_SCOPES
    assert tokens["refresh_token"]
    # And the next request from the same browser is answered silently, fewer scopes too
    assert _has_code(rp.authorize())
    assert _has_code(rp.authorize(scope="openid"))
    # When the member revokes the app
    revoked = _revoke(stack, rp)
    assert revoked.status_code == 200
    assert f'data-client-id="{stack["demo"][PARTNER]["client_id"]}"' not in revoked.text
    # Then its refresh token is refused, and the next request asks for consent again
    refused = httpx.post(
        stack["issuer"] + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": stack["demo"][PARTNER]["client_id"],
        },
        timeout=30,
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert _is_consent_page(stack, rp.authorize())
    # And the member's own trail shows the consent given and withdrawn, naming the app
    with httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {own['access_token']}"}, timeout=30
    ) as api:

        def consent_events() -> list[dict[str, Any]] | None:
            items = api.get("audit/events", params={"limit": 100}).json()["items"]
            found = [item for item in items if item["type"] in ("consent.granted", "consent.revoked")]
            return (
                found if {item["type"] for item in found} == {"consent.granted", "consent.revoked"} else None
            )

        events = wait_for(consent_events, timeout=90)
    assert {item["resource"] for item in events} == {f"client/{stack['demo'][PARTNER]['client_id']}"}


def test_denying_consent_and_prompt_none_go_back_to_the_app_with_their_errors(stack: dict[str, Any]) -> None:
    member = stack["demo"]["users"]["member"]
    rp, page = _partner_signed_in(stack, member)
    assert _is_consent_page(stack, page), page.text
    # A silent request while consent is needed: consent_required (OIDC Core 3.1.2.6)
    silent = rp.authorize(prompt="none")
    assert query_of(silent.headers["location"])["error"] == "consent_required"
    # Deny: access_denied, with the state and the issuer
    page = rp.authorize()
    denied = rp.browser.post(
        stack["issuer"] + "/consent", data={"csrf_token": _csrf(page.text), "decision": "deny"}
    )
    answer = query_of(denied.headers["location"])
    assert answer["error"] == "access_denied"
    assert answer["iss"] == stack["issuer"]
    assert answer["state"]
    # And a forged consent form is refused
    forged = rp.browser.post(
        stack["issuer"] + "/consent", data={"csrf_token": "forged", "decision": "approve"}
    )
    assert forged.status_code == 403


def test_resource_at_authorize_is_refused_for_another_server_and_bound_for_ours(
    stack: dict[str, Any],
) -> None:
    member = stack["demo"]["users"]["member"]
    audience = f"urn:echo:api:{stack['stage']}"
    rp = RelyingParty(stack, "openid email")
    # A resource other than Echo's API: invalid_target back to the client (RFC 8707 §2), GET and POST
    refused = rp.authorize(resource="https://api.other.example")
    assert refused.status_code in (302, 303), refused.text
    assert query_of(refused.headers["location"])["error"] == "invalid_target"
    posted = rp.browser.post(
        rp.metadata["authorization_endpoint"],
        data={
            "response_type": "code",
            "client_id": stack["demo"]["public_client"]["client_id"],
            "redirect_uri": stack["demo"]["public_client"]["redirect_uri"],
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "resource": "urn:echo:api:elsewhere",
        },
    )
    assert query_of(posted.headers["location"])["error"] == "invalid_target"
    # Echo's own API: the code is bound to it and the token is minted for it
    back = rp.sign_in(member["email"], member["password"], resource=audience)
    assert _has_code(back), back.text
    tokens = rp.redeem(back, resource=audience)
    with httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30
    ) as api:
        assert api.get("userinfo").status_code == 200
