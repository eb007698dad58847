"""The authorization endpoint and the hosted pages against RFC 9700 / OIDC negative cases."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, csrf_token, demo_user, query_of
from tests.integration.identity.gateway import ISSUER

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def authorize_params(identity: IdentityWorld, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": identity.demo["public_client"]["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/",
        REDIRECT_URI + "?next=/admin",
        REDIRECT_URI + "#frag",
        "http://127.0.0.1:8765/Callback",
        "http://127.0.0.1:8766/callback",
        "http://evil.example/callback",
        "http://127.0.0.1:8765/callback/../evil",
        None,
    ],
)
def test_redirect_uri_mutations_are_shown_a_page_never_redirected(
    identity: IdentityWorld, redirect_uri: str | None
) -> None:
    # Given an authorization request whose redirect URI is not exactly a registered one
    with identity.gateway.client() as browser:
        response = browser.get(
            "authorize?" + urlencode(authorize_params(identity, redirect_uri=redirect_uri))
        )
    # Then the user sees our error page: no redirect to an unverified address
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("client_id", ["unknown-client", "", None])
def test_unknown_clients_are_shown_a_page(identity: IdentityWorld, client_id: str | None) -> None:
    with identity.gateway.client() as browser:
        response = browser.get("authorize?" + urlencode(authorize_params(identity, client_id=client_id)))
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "admin:everything"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ],
)
def test_protocol_errors_go_back_to_the_client_with_state_and_iss(
    identity: IdentityWorld, overrides: dict[str, str | None], error: str
) -> None:
    with identity.gateway.client() as browser:
        response = browser.get("authorize?" + urlencode(authorize_params(identity, **overrides)))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["error"] == error
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_prompt_none_without_a_session_answers_login_required(identity: IdentityWorld) -> None:
    with identity.gateway.client() as browser:
        response = browser.get("authorize?" + urlencode(authorize_params(identity, prompt="none")))
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_a_session_answers_silently_unless_prompt_login_asks_for_a_fresh_sign_in(
    identity: IdentityWorld,
) -> None:
    # Given a signed-in browser
    rp = RelyingParty(identity)
    assert rp.sign_in(*demo_user(identity, "member")).status_code == 303
    # When the RP asks again within max_age, the session answers with a code at once
    url, _, _ = rp.authorization_url(max_age="3600")
    assert "code=" in rp.browser.get(url).headers["location"]
    # When it asks with prompt=login, the browser goes to the sign-in page instead
    url, _, _ = rp.authorization_url(prompt="login")
    assert rp.browser.get(url).headers["location"] == f"{ISSUER}/login"


def test_the_login_form_needs_the_csrf_token_of_its_own_pre_login_cookie(identity: IdentityWorld) -> None:
    # Given two browsers that each opened the sign-in page
    email, password = demo_user(identity, "member")
    first, second = RelyingParty(identity), RelyingParty(identity)
    for rp in (first, second):
        rp.browser.get(rp.authorization_url()[0])
    first_token = csrf_token(first.browser.get("login").text)
    second_token = csrf_token(second.browser.get("login").text)
    # When one posts the other's token (a cross-site form post carries the attacker's token)
    forged = first.browser.post(
        f"{ISSUER}/login", data={"email": email, "password": password, "csrf_token": second_token}
    )
    # Then it is refused; without any pre-login cookie too; with its own token it works
    assert forged.status_code == 403
    with identity.gateway.client() as cookieless:
        bare = cookieless.post(
            f"{ISSUER}/login", data={"email": email, "password": password, "csrf_token": first_token}
        )
    assert bare.status_code == 403
    ok = first.browser.post(
        f"{ISSUER}/login", data={"email": email, "password": password, "csrf_token": first_token}
    )
    assert ok.status_code == 303


def test_cookies_are_host_prefixed_secure_httponly_and_lax(identity: IdentityWorld) -> None:
    rp = RelyingParty(identity)
    response = rp.browser.get(rp.authorization_url()[0])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-echo_login=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert attribute.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()


def test_wrong_password_unknown_user_and_lockout_look_the_same_to_the_caller(identity: IdentityWorld) -> None:
    # Given the member's email and an email nobody has
    email, _ = demo_user(identity, "member")
    replies = {}
    for who in (email, "nobody@demo.echo.test"):
        rp = RelyingParty(identity)
        replies[who] = rp.sign_in(who, "definitely-not-the-password")
    # Then both get the same status and message
    assert {reply.status_code for reply in replies.values()} == {401}
    assert all("Incorrect email or password." in reply.text for reply in replies.values())
    # When the member's account keeps failing, it locks: even the right password is refused for now
    rp = RelyingParty(identity)
    for _ in range(4):
        rp.sign_in(email, "still-not-the-password")
    locked = rp.sign_in(email, identity.demo["users"]["member"]["password"])
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    events = [event["type"] for event in identity.published_events()]
    assert events.count("user.login_failed") == 6
    assert events.count("user.locked_out") == 1


def test_registration_creates_a_guest_and_continues_the_authorization(identity: IdentityWorld) -> None:
    # Given a browser on the sign-in page of the demo client (which allows registration)
    rp = RelyingParty(identity)
    rp.browser.get(rp.authorization_url()[0])
    page = rp.browser.get("login")
    assert f"{ISSUER}/register" in page.text
    form = rp.browser.get("register")
    # When a weak password is tried, the page explains; a good one registers and signs in
    weak = rp.browser.post(
        f"{ISSUER}/register",
        data={
            "email": "New.User@Example.com",
            "password": "password1234",
            "csrf_token": csrf_token(form.text),
        },
    )
    assert weak.status_code == 400
    assert "breaches" in weak.text
    done = rp.browser.post(
        f"{ISSUER}/register",
        data={
            "email": "New.User@Example.com",
            "password": "violet tram under bridge",
            "csrf_token": csrf_token(form.text),
        },
    )
    # Then the browser returns to the client with a code, and the account uses the normalized email
    assert done.status_code == 303
    assert "code=" in done.headers["location"]
    item = identity.dynamodb.get_item(
        TableName=identity.tables["IDENTITY_TABLE"],
        Key={"pk": {"S": "TENANT#demo"}, "sk": {"S": "EMAIL#new.user@example.com"}},
    )
    assert "Item" in item
    registered, notification = identity.published_events()
    assert registered["type"] == "user.registered"
    assert registered["data"]["roles"] == ["guest"]
    assert notification["type"] == "notification.email_verification"


def test_rp_initiated_logout_ends_the_session_and_returns_to_a_registered_uri(
    identity: IdentityWorld,
) -> None:
    # Given a signed-in member
    rp = RelyingParty(identity)
    tokens = rp.tokens_for(*demo_user(identity, "member"))
    post_logout = identity.demo["public_client"]["post_logout_redirect_uri"]
    # When the RP sends the browser to the end-session endpoint with its id_token_hint
    query = urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": post_logout, "state": "bye"}
    )
    confirm = rp.browser.get(f"logout?{query}")
    assert confirm.status_code == 200
    done = rp.browser.post(
        f"{ISSUER}/logout",
        data={
            "csrf_token": csrf_token(confirm.text),
            "client_id": identity.demo["public_client"]["client_id"],
            "post_logout_redirect_uri": post_logout,
            "state": "bye",
        },
    )
    # Then it lands on the registered URI with the state, and the session is gone
    assert done.status_code == 303
    assert done.headers["location"] == f"{post_logout}?state=bye"
    silent = rp.browser.get(rp.authorization_url(prompt="none")[0])
    assert query_of(silent.headers["location"])["error"] == "login_required"
    assert "user.logged_out" in [e["type"] for e in identity.published_events()]


def test_an_unregistered_post_logout_uri_is_not_followed(identity: IdentityWorld) -> None:
    rp = RelyingParty(identity)
    rp.tokens_for(*demo_user(identity, "member"))
    query = urlencode(
        {
            "client_id": identity.demo["public_client"]["client_id"],
            "post_logout_redirect_uri": "https://evil.example/",
        }
    )
    page = rp.browser.get(f"logout?{query}")
    assert "evil.example" not in page.text
