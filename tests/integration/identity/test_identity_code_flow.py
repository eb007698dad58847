"""The whole authorization-code flow, driven by Authlib's OAuth2Client as a relying party would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from authlib.integrations.base_client.errors import OAuthError
from echo_shared.lazy import reset_cached_resources
from joserfc import jwt
from joserfc.jwk import KeySet
from token_service.logic.exchange import REFRESH_GRACE_SECONDS

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, demo_user, query_of, service_client
from tests.integration.identity.gateway import ISSUER


def test_code_flow_with_pkce_userinfo_refresh_reuse_revoke_and_introspect(
    identity: IdentityWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo public client and the demo member
    rp = RelyingParty(identity)
    email, password = demo_user(identity, "member")
    # When the member signs in through the hosted page
    back = rp.sign_in(email, password)
    # Then the browser is sent back with a code, the RP's state and our issuer (RFC 9207)
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(identity.demo["public_client"]["redirect_uri"] + "?")
    params = query_of(location)
    assert params["iss"] == ISSUER
    assert params["state"]
    assert params["code"]

    # When the RP exchanges the code with its PKCE verifier
    tokens = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"], authorization_response=location, code_verifier=rp.verifier
    )
    # Then the ID token verifies against /jwks.json with a standard JOSE library
    keys = KeySet.import_key_set(rp.browser.get(rp.metadata["jwks_uri"]).json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": identity.demo["public_client"]["client_id"]},
        nonce={"essential": True, "value": rp.nonce},
        sub={"essential": True, "value": identity.demo["users"]["member"]["user_id"]},
    ).validate(id_token.claims)
    assert id_token.header["typ"] == "JWT"
    assert jwt.decode(tokens["access_token"], keys, algorithms=["ES256"]).header["typ"] == "at+jwt"

    # And /userinfo answers GET and POST with the bearer token
    info = rp.oauth.get(rp.metadata["userinfo_endpoint"])
    assert info.status_code == 200
    assert info.json()["email"] == email
    assert rp.oauth.post(rp.metadata["userinfo_endpoint"]).json()["sub"] == id_token.claims["sub"]

    # When the RP refreshes, the refresh token rotates
    first_refresh = tokens["refresh_token"]
    refreshed = rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    assert rp.oauth.get(rp.metadata["userinfo_endpoint"]).status_code == 200

    # When the rotated-out refresh token is replayed after the grace window
    later = datetime.now(UTC) + timedelta(seconds=REFRESH_GRACE_SECONDS + 1)
    reset_cached_resources()
    monkeypatch.setattr("token_service.dependencies.utc_now", lambda: later)
    with pytest.raises(OAuthError) as replay:
        rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=first_refresh)
    # Then it is refused and the whole family dies: the latest refresh and access tokens too
    assert replay.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
    rp.oauth.token = refreshed
    dead = rp.oauth.get(rp.metadata["userinfo_endpoint"])
    assert dead.status_code == 401
    assert dead.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in dead.headers["www-authenticate"]

    # When the member comes back (single sign-on: the session skips the form) for a new grant
    url, verifier, _ = rp.authorization_url()
    silent = rp.browser.get(url)
    assert silent.status_code == 303
    fresh = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"],
        authorization_response=silent.headers["location"],
        code_verifier=verifier,
    )
    service = service_client(identity)
    # Then a confidential client sees both tokens as active
    introspected = service.introspect_token(
        rp.metadata["introspection_endpoint"], token=fresh["access_token"]
    )
    assert introspected.json()["active"] is True
    assert introspected.json()["sub"] == id_token.claims["sub"]
    # When the RP revokes its refresh token (RFC 7009)
    revoked = rp.oauth.revoke_token(rp.metadata["revocation_endpoint"], token=fresh["refresh_token"])
    assert revoked.status_code == 200
    # Then introspection reports the refresh token and the access tokens of its family inactive
    for token in (fresh["refresh_token"], fresh["access_token"]):
        assert service.introspect_token(rp.metadata["introspection_endpoint"], token=token).json() == {
            "active": False
        }

    # And every step is on the bus, with nothing secret in any event
    events = identity.published_events()
    assert [e["type"] for e in events] == [
        "user.logged_in",
        "token.issued",
        "token.refreshed",
        "token.reuse_detected",
        "token.issued",
        "token.revoked",
    ]
    published = json.dumps(events)
    for secret in (
        password,
        location,
        tokens["access_token"],
        first_refresh,
        fresh["refresh_token"],
        params["code"],
    ):
        assert secret not in published


def test_client_credentials_issue_a_service_token(identity: IdentityWorld) -> None:
    # Given the demo confidential client
    service = service_client(identity)
    # When it asks for a token with its own scope
    token = service.fetch_token(f"{ISSUER}/token", grant_type="client_credentials", scope="audit:read")
    # Then it gets a short-lived bearer token for itself, and no refresh token
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "audit:read"
    assert "refresh_token" not in token
    introspected = service.introspect_token(f"{ISSUER}/introspect", token=token["access_token"]).json()
    assert introspected["principal_type"] == "client"
    assert introspected["sub"] == identity.demo["confidential_client"]["client_id"]


def test_a_bad_client_secret_is_refused_with_rfc6749_body(identity: IdentityWorld) -> None:
    with identity.gateway.client() as http:
        response = http.post(
            "token",
            data={"grant_type": "client_credentials"},
            auth=(identity.demo["confidential_client"]["client_id"], "wrong-secret"),
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert set(response.json()) == {"error", "error_description"}
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"
