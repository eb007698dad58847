"""Scopes bound user tokens: standard scopes, unknown ones ignored, claims per scope, refresh tokens
only with offline_access, /authorize by POST (through the API Gateway emulator, real handlers)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, csrf_token, demo_user, query_of
from tests.integration.identity.gateway import ISSUER


def payload(token: str) -> dict[str, Any]:
    """The claims of a JWT the token endpoint just returned (its signature is checked elsewhere)."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_an_rp_with_the_default_scopes_signs_in_and_gets_what_each_scope_releases(
    identity: IdentityWorld,
) -> None:
    # Given an RP library's default scopes plus one Echo does not know
    rp = RelyingParty(identity, scope="openid profile email offline_access unknown:thing")
    # When the member signs in
    tokens = rp.tokens_for(*demo_user(identity, "member"))
    # Then the unknown scope is ignored and left out of the granted scope; a refresh token comes
    # with offline_access; the ID token carries email and roles (email and profile were granted)
    assert tokens["scope"].split() == ["openid", "profile", "email", "offline_access"]
    assert tokens["refresh_token"]
    claims = payload(tokens["id_token"])
    assert claims["email"] == identity.demo["users"]["member"]["email"]
    assert claims["roles"] == ["member"]
    access = payload(tokens["access_token"])
    assert access["scope"] == "openid profile email offline_access"


def test_no_email_claim_without_email_and_no_refresh_token_without_offline_access(
    identity: IdentityWorld,
) -> None:
    # Given an RP asking for openid only
    rp = RelyingParty(identity, scope="openid")
    tokens = rp.tokens_for(*demo_user(identity, "member"))
    # Then neither the ID token nor userinfo release the email, and no refresh token is issued
    assert "refresh_token" not in tokens
    claims = payload(tokens["id_token"])
    assert "email" not in claims
    assert "roles" not in claims
    with identity.gateway.client(headers={"Authorization": f"Bearer {tokens['access_token']}"}) as api:
        info = api.get("userinfo").json()
    assert set(info) == {"sub", "tenant"}


def test_only_unknown_scopes_is_invalid_scope(identity: IdentityWorld) -> None:
    rp = RelyingParty(identity, scope="unknown:thing")
    url, _, _ = rp.authorization_url()
    response = rp.browser.get(url)
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_scope"


def test_discovery_advertises_the_standard_scopes(identity: IdentityWorld) -> None:
    metadata = RelyingParty(identity).metadata
    assert {"openid", "profile", "email", "offline_access"} <= set(metadata["scopes_supported"])


def test_authorize_accepts_post(identity: IdentityWorld) -> None:
    # Given the same authorization request sent form-encoded in a POST body (OIDC Core 3.1.2.1)
    rp = RelyingParty(identity, scope="openid email")
    url, verifier, _ = rp.authorization_url()
    params = dict(parse_qsl(urlsplit(url).query))
    to_login = rp.browser.post(f"{ISSUER}/authorize", data=params)
    # Then it leads to the same hosted sign-in, and on to a code and tokens
    assert to_login.status_code == 303, to_login.text
    form = rp.browser.get(to_login.headers["location"])
    email, password = demo_user(identity, "member")
    back = rp.browser.post(
        f"{ISSUER}/login", data={"email": email, "password": password, "csrf_token": csrf_token(form.text)}
    )
    assert back.status_code == 303
    tokens = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
    )
    assert tokens["scope"] == "openid email"
