"""The token endpoint's negative cases through the handler (RFC 9700 §4.x, oidcc-codereuse*)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from authlib.integrations.base_client.errors import OAuthError
from echo_shared.lazy import reset_cached_resources

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.flows import RelyingParty, demo_user
from tests.integration.identity.gateway import ISSUER


def signed_in_code(identity: IdentityWorld) -> tuple[RelyingParty, str]:
    rp = RelyingParty(identity)
    back = rp.sign_in(*demo_user(identity, "member"))
    assert back.status_code == 303
    return rp, back.headers["location"]


def test_code_reuse_is_refused_and_revokes_what_the_first_exchange_issued(identity: IdentityWorld) -> None:
    # Given a code exchanged once
    rp, location = signed_in_code(identity)
    token_endpoint = rp.metadata["token_endpoint"]
    first = rp.oauth.fetch_token(token_endpoint, authorization_response=location, code_verifier=rp.verifier)
    # When it is exchanged again
    with pytest.raises(OAuthError) as reuse:
        rp.oauth.fetch_token(token_endpoint, authorization_response=location, code_verifier=rp.verifier)
    # Then it is refused, and the first access token no longer reaches UserInfo
    assert reuse.value.error == "invalid_grant"
    rp.oauth.token = first
    assert rp.oauth.get(rp.metadata["userinfo_endpoint"]).status_code == 401
    with pytest.raises(OAuthError):
        rp.oauth.refresh_token(token_endpoint, refresh_token=first["refresh_token"])


def test_a_wrong_code_verifier_is_refused(identity: IdentityWorld) -> None:
    rp, location = signed_in_code(identity)
    with pytest.raises(OAuthError) as refused:
        rp.oauth.fetch_token(
            rp.metadata["token_endpoint"], authorization_response=location, code_verifier="x" * 64
        )
    assert refused.value.error == "invalid_grant"


def test_a_code_without_a_verifier_is_refused(identity: IdentityWorld) -> None:
    _, location = signed_in_code(identity)
    code = location.split("code=")[1].split("&")[0]
    with identity.gateway.client() as http:
        response = http.post(
            "token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": identity.demo["public_client"]["redirect_uri"],
                "client_id": identity.demo["public_client"]["client_id"],
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_expired_code_is_refused(identity: IdentityWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a code, and the token service's clock 61 seconds later
    rp, location = signed_in_code(identity)
    later = datetime.now(UTC) + timedelta(seconds=61)
    reset_cached_resources()
    monkeypatch.setattr("token_service.dependencies.utc_now", lambda: later)
    # Then the exchange fails
    with pytest.raises(OAuthError) as expired:
        rp.oauth.fetch_token(
            rp.metadata["token_endpoint"], authorization_response=location, code_verifier=rp.verifier
        )
    assert expired.value.error == "invalid_grant"
    assert "expired" in (expired.value.description or "")


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "unknown-client"}, None, 401, "invalid_client"),
        ({"grant_type": "password", "username": "a", "password": "b"}, None, 400, "unsupported_grant_type"),
        ({}, None, 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_id": "echo-demo-web"},
            None,
            400,
            "unauthorized_client",
        ),
    ],
)
def test_token_endpoint_errors_use_rfc6749_bodies(
    identity: IdentityWorld, data: dict[str, str], auth: tuple[str, str] | None, status: int, error: str
) -> None:
    with identity.gateway.client() as http:
        response = http.post("token", data=data)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def test_repeated_token_parameters_are_refused(identity: IdentityWorld) -> None:
    with identity.gateway.client() as http:
        response = http.post(
            f"{ISSUER}/token",
            content="grant_type=client_credentials&grant_type=authorization_code",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_userinfo_accepts_the_access_token_in_a_form_body_but_not_twice(identity: IdentityWorld) -> None:
    rp = RelyingParty(identity)
    tokens = rp.tokens_for(*demo_user(identity, "member"))
    with identity.gateway.client() as http:
        in_body = http.post("userinfo", data={"access_token": tokens["access_token"]})
        twice = http.post(
            "userinfo",
            data={"access_token": tokens["access_token"]},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert in_body.status_code == 200
    assert in_body.json()["email"] == demo_user(identity, "member")[0]
    assert twice.status_code == 400
