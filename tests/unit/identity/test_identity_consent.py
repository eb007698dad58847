"""Consent for third-party clients and `resource` at /authorize: the login app over in-memory fakes
(FastAPI's TestClient, the real pages and cookies), and the token service's side of consent."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from echo_shared.identity.consents import Consent, consent_still_given, scopes_to_consent
from echo_shared.identity.errors import InvalidGrant, InvalidTarget
from echo_shared.identity.web import RequestInfo
from fastapi.testclient import TestClient
from login.app import app
from login.dependencies import get_service
from token_service.logic.exchange import token_endpoint
from token_service.logic.introspection import introspect

from tests.unit.identity.fakes import (
    AUDIENCE,
    ISSUER,
    PASSWORD,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    SERVICE_CLIENT_ID,
    SERVICE_SECRET,
    TENANT,
    THIRD_PARTY_CLIENT_ID,
    FakeClock,
    LoginWorld,
    TokenWorld,
    login_world,
    public_client,
    third_party_client,
    token_world,
)

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CONSENT_FORM = f'action="{ISSUER}/consent"'
SCOPE = "openid email offline_access"
USER_ID = "usr_alice"
REQUEST = RequestInfo(request_id="req-1", source_ip="203.0.113.7")


def csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return dict(httpx.URL(location).params)


class Browser:
    """One browser (cookie jar) on the login app, signing in to a client of the fake world."""

    def __init__(self, world: LoginWorld) -> None:
        self.world = world
        self.http = TestClient(app, base_url="https://id.echo.test", follow_redirects=False)

    def authorize(
        self, client_id: str = THIRD_PARTY_CLIENT_ID, scope: str = SCOPE, **extra: str
    ) -> httpx.Response:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "st-1",
            "code_challenge": create_s256_code_challenge(generate_token(48)),
            "code_challenge_method": "S256",
            **extra,
        }
        response = self.http.get("/authorize", params=params)
        if response.status_code == 303 and response.headers["location"] == f"{ISSUER}/login":
            form = self.http.get("/login")
            response = self.http.post(
                "/login",
                data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": csrf(form.text)},
            )
        return response

    def answer(self, page: httpx.Response, decision: str) -> httpx.Response:
        return self.http.post("/consent", data={"csrf_token": csrf(page.text), "decision": decision})


@pytest.fixture
def world() -> LoginWorld:
    return login_world(FakeClock())


@pytest.fixture
def browser(world: LoginWorld) -> Iterator[Browser]:
    app.dependency_overrides[get_service] = lambda: world.service
    yield Browser(world)
    app.dependency_overrides.clear()


def is_consent_page(response: httpx.Response) -> bool:
    return response.status_code == 200 and CONSENT_FORM in response.text


def has_code(response: httpx.Response) -> bool:
    return response.status_code == 303 and "code" in query_of(response.headers["location"])


def test_a_first_party_client_is_never_asked_for_consent(browser: Browser) -> None:
    # When the user signs in to Echo's own app
    back = browser.authorize(PUBLIC_CLIENT_ID)
    # Then the code comes at once, and nothing is remembered as a consent
    assert has_code(back)
    assert browser.world.consents.list_consents(TENANT, USER_ID) == []


def test_a_third_party_client_gets_a_consent_page_with_its_name_and_plain_words(browser: Browser) -> None:
    # When the user signs in to a third-party app
    page = browser.authorize()
    # Then they are asked, with the app's name and each scope in plain words, on a framed-nowhere page
    assert is_consent_page(page)
    assert "Partner app" in page.text
    assert "See your email address" in page.text
    assert "Keep access while you are not using it" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert browser.world.grants.codes == {}


def test_approval_issues_the_code_and_is_remembered_so_the_next_request_is_silent(browser: Browser) -> None:
    # Given the user approves the third-party app
    back = browser.answer(browser.authorize(), "approve")
    assert has_code(back)
    assert query_of(back.headers["location"])["iss"] == ISSUER
    [code] = [code for code, _ in browser.world.grants.codes.values()]
    assert code.scope == ("openid", "email", "offline_access")
    consent = browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID)
    assert consent is not None
    assert consent.scopes == {"openid", "email", "offline_access"}
    # Then the same request, and one for fewer scopes, are answered without asking
    assert has_code(browser.authorize())
    assert has_code(browser.authorize(scope="openid"))
    # And consent.granted was audited with identifiers and scope names only
    [granted] = [e for e in browser.world.published.published if e.type == "consent.granted"]
    assert granted.actor == f"user:{USER_ID}"
    assert granted.resource == f"client/{THIRD_PARTY_CLIENT_ID}"
    assert granted.data == {
        "client_id": THIRD_PARTY_CLIENT_ID,
        "scope": "openid email offline_access",
        "granted": "email offline_access openid",
    }


def test_a_scope_not_yet_granted_asks_again_for_the_new_one(browser: Browser) -> None:
    # Given the user granted openid email
    browser.answer(browser.authorize(scope="openid email"), "approve")
    # When the app asks for documents:read as well
    page = browser.authorize(scope="openid email documents:read")
    # Then consent is asked again, showing what is new and what was allowed already
    assert is_consent_page(page)
    assert "Read your documents" in page.text
    assert "(already allowed)" in page.text
    assert has_code(browser.answer(page, "approve"))
    consent = browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID)
    assert consent is not None
    assert consent.scopes == {"openid", "email", "documents:read"}


def test_prompt_consent_asks_again_even_for_granted_scopes(browser: Browser) -> None:
    browser.answer(browser.authorize(), "approve")
    assert is_consent_page(browser.authorize(prompt="consent"))


def test_prompt_none_with_consent_needed_answers_consent_required(browser: Browser) -> None:
    # Given a signed-in user (a session from the first-party app) who never consented to the partner
    assert has_code(browser.authorize(PUBLIC_CLIENT_ID))
    # When the partner asks silently
    back = browser.authorize(prompt="none")
    # Then it is told consent is required (OIDC Core 3.1.2.6), with state and iss
    assert back.status_code == 303
    assert query_of(back.headers["location"]) | {"error_description": ""} == {
        "error": "consent_required",
        "error_description": "",
        "state": "st-1",
        "iss": ISSUER,
    }


def test_deny_goes_back_with_access_denied_and_remembers_nothing(browser: Browser) -> None:
    back = browser.answer(browser.authorize(), "deny")
    assert back.status_code == 303
    answer = query_of(back.headers["location"])
    assert back.headers["location"].startswith(REDIRECT_URI)
    assert (answer["error"], answer["state"], answer["iss"]) == ("access_denied", "st-1", ISSUER)
    assert browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID) is None
    assert browser.world.grants.codes == {}


def test_the_consent_form_needs_this_browsers_csrf_token(browser: Browser) -> None:
    page = browser.authorize()
    # A forged token, a missing one, or the token without this browser's cookie is refused
    for data in ({"csrf_token": "forged", "decision": "approve"}, {"decision": "approve"}):
        assert browser.http.post("/consent", data=data).status_code == 403
    stranger = TestClient(app, base_url="https://id.echo.test", follow_redirects=False)
    assert (
        stranger.post("/consent", data={"csrf_token": csrf(page.text), "decision": "approve"}).status_code
        == 403
    )
    assert browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID) is None
    # And the form is single use: once answered, replaying it is refused
    assert has_code(browser.answer(page, "approve"))
    assert browser.answer(page, "approve").status_code == 403


def test_revoking_lists_then_forgets_the_consent_and_the_next_request_asks_again(browser: Browser) -> None:
    # Given a consent
    browser.answer(browser.authorize(), "approve")
    # When the user opens their list of applications and revokes the partner
    listing = browser.http.get("/consents")
    assert listing.status_code == 200
    assert f'data-client-id="{THIRD_PARTY_CLIENT_ID}"' in listing.text
    after = browser.http.post(
        "/consents/revoke", data={"csrf_token": csrf(listing.text), "client_id": THIRD_PARTY_CLIENT_ID}
    )
    # Then it is gone from the list and from the store, audited, and the next request asks again
    assert after.status_code == 200
    assert THIRD_PARTY_CLIENT_ID not in after.text
    assert browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID) is None
    [revoked] = [e for e in browser.world.published.published if e.type == "consent.revoked"]
    assert revoked.data == {"client_id": THIRD_PARTY_CLIENT_ID, "scope": "email offline_access openid"}
    assert is_consent_page(browser.authorize())


def test_the_list_needs_a_session_and_revoking_needs_the_csrf_token(browser: Browser) -> None:
    assert browser.http.get("/consents").status_code == 401
    browser.answer(browser.authorize(), "approve")
    refused = browser.http.post(
        "/consents/revoke", data={"csrf_token": "forged", "client_id": THIRD_PARTY_CLIENT_ID}
    )
    assert refused.status_code == 403
    assert browser.world.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID) is not None


def test_a_foreign_resource_at_authorize_is_invalid_target_and_ours_is_bound_to_the_code(
    browser: Browser,
) -> None:
    # A resource other than Echo's API is refused back to the client (RFC 8707 §2), GET and POST
    refused = browser.authorize(PUBLIC_CLIENT_ID, resource="https://api.other.example")
    assert query_of(refused.headers["location"])["error"] == "invalid_target"
    posted = browser.http.post(
        "/authorize",
        data={
            "response_type": "code",
            "client_id": PUBLIC_CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": create_s256_code_challenge(generate_token(48)),
            "code_challenge_method": "S256",
            "resource": "urn:echo:api:prod",
        },
    )
    assert query_of(posted.headers["location"])["error"] == "invalid_target"
    # Echo's own audience is accepted and bound to the code
    assert has_code(browser.authorize(PUBLIC_CLIENT_ID, resource=AUDIENCE))
    [code] = [code for code, _ in browser.world.grants.codes.values()]
    assert code.resource == AUDIENCE


def test_which_scopes_need_consent() -> None:
    partner, own = third_party_client(), public_client()
    remembered = Consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID, frozenset({"openid", "email"}), 10, 10)
    assert scopes_to_consent(own, ("openid", "documents:read"), None, prompt=True) == ()
    assert scopes_to_consent(partner, ("openid",), None, prompt=False) == ("openid",)
    assert scopes_to_consent(partner, ("openid",), remembered, prompt=False) == ()
    assert scopes_to_consent(partner, ("openid",), remembered, prompt=True) == ("openid",)
    assert scopes_to_consent(partner, ("openid", "profile"), remembered, prompt=False) == ("profile",)
    # A grant rests on the consent only if it covers it and was not given anew since
    assert consent_still_given(partner, remembered, ("openid",), since=10)
    assert not consent_still_given(partner, remembered, ("openid",), since=9)
    assert not consent_still_given(partner, remembered, ("profile",), since=20)
    assert not consent_still_given(partner, None, ("openid",), since=20)
    assert consent_still_given(own, None, ("openid",), since=20)


# The token service's side: a revoked consent ends the third-party client's grants.


@pytest.fixture
def tokens() -> TokenWorld:
    return token_world(FakeClock())


def consent(
    tokens: TokenWorld, scopes: frozenset[str] = frozenset({"openid", "email", "offline_access"})
) -> None:
    now = tokens.clock.epoch
    tokens.consents.put_consent(Consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID, scopes, now, now))


VERIFIER = "v" * 43  # TokenWorld.put_code's default code_verifier


def basic() -> str:
    """The service client's credentials (introspection is for confidential clients)."""
    return "Basic " + base64.b64encode(f"{SERVICE_CLIENT_ID}:{SERVICE_SECRET}".encode()).decode()


def exchange(
    tokens: TokenWorld, code: str, client_id: str = PUBLIC_CLIENT_ID, **extra: str
) -> dict[str, Any]:
    params = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": VERIFIER,
        **extra,
    }
    return token_endpoint(tokens.service, params, None, REQUEST).body()


def refresh(tokens: TokenWorld, refresh_token: str, client_id: str = PUBLIC_CLIENT_ID) -> dict[str, Any]:
    params = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return token_endpoint(tokens.service, params, None, REQUEST).body()


def partner_exchange(tokens: TokenWorld, code: str, **extra: str) -> dict[str, Any]:
    return exchange(tokens, code, client_id=THIRD_PARTY_CLIENT_ID, **extra)


def partner_refresh(tokens: TokenWorld, refresh_token: str) -> dict[str, Any]:
    return refresh(tokens, refresh_token, client_id=THIRD_PARTY_CLIENT_ID)


def test_revoking_consent_ends_the_partners_refresh_family(tokens: TokenWorld) -> None:
    # Given a third-party client holding a refresh token under the user's consent
    consent(tokens)
    body = partner_exchange(tokens, tokens.put_code(client_id=THIRD_PARTY_CLIENT_ID))
    latest = partner_refresh(tokens, body["refresh_token"])["refresh_token"]
    [family_id] = tokens.grants.families
    # When the user revokes the consent
    _forget_consent(tokens)
    tokens.clock.advance(5)
    # Then introspection says inactive, the next refresh is refused, and the family is revoked
    # together with the access tokens it issued
    assert introspect(tokens.service, {"token": latest}, basic()) == {"active": False}
    with pytest.raises(InvalidGrant):
        partner_refresh(tokens, latest)
    family = tokens.grants.families[family_id]
    assert family.revoked_at is not None
    assert family.access_tokens
    assert set(family.access_tokens) <= set(tokens.grants.revoked)


def test_consent_given_again_does_not_revive_a_family_started_before_the_revocation(
    tokens: TokenWorld,
) -> None:
    consent(tokens)
    body = partner_exchange(tokens, tokens.put_code(client_id=THIRD_PARTY_CLIENT_ID))
    _forget_consent(tokens)
    tokens.clock.advance(60)
    consent(tokens)  # the user allows the app again, later
    with pytest.raises(InvalidGrant):
        partner_refresh(tokens, body["refresh_token"])
    active = introspect(tokens.service, {"token": body["refresh_token"]}, basic())
    assert active == {"active": False}


def test_a_code_of_a_partner_without_consent_is_refused(tokens: TokenWorld) -> None:
    with pytest.raises(InvalidGrant):
        partner_exchange(tokens, tokens.put_code(client_id=THIRD_PARTY_CLIENT_ID))


def test_first_party_refreshes_need_no_consent(tokens: TokenWorld) -> None:
    body = exchange(tokens, tokens.put_code())
    assert refresh(tokens, body["refresh_token"])["access_token"]


def test_the_token_request_must_name_the_resource_bound_to_the_code(tokens: TokenWorld) -> None:
    # Given a code bound to a resource (as /authorize binds it)
    bound = tokens.put_code(resource="urn:echo:api:elsewhere")
    # Then a token request naming another resource is refused before the code is consumed
    with pytest.raises(InvalidTarget):
        exchange(tokens, bound, resource=AUDIENCE)
    [(_, issued)] = [entry for entry in tokens.grants.codes.values()]
    assert issued is None
    # And a code bound to Echo's API is exchanged with or without naming it again
    assert exchange(tokens, tokens.put_code(resource=AUDIENCE), resource=AUDIENCE)["access_token"]
    assert exchange(tokens, tokens.put_code(resource=AUDIENCE), code_verifier=VERIFIER)["access_token"]


def _forget_consent(tokens: TokenWorld) -> None:
    """The stored consent deleted as the consents page does (the revocation itself is tested in
    the login flow tests)."""
    stored = tokens.consents.get_consent(TENANT, USER_ID, THIRD_PARTY_CLIENT_ID)
    assert stored is not None
    assert tokens.consents.delete_consent(stored)
