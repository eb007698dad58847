"""Identity on the deployed stack: a real relying-party library through API Gateway, and JWT attacks
against the Lambda authorizer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from echo_shared.identity.dynamodb import DynamoSigningKeyRepository
from echo_shared.identity.keys import current_key
from echo_shared.identity.kms import KmsKeyVault
from echo_shared.identity.signing import JwtSigner
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.conftest import wait_for
from tests.e2e.oidc import RelyingParty, query_of


@pytest.fixture
def rp(stack: dict[str, Any]) -> RelyingParty:
    return RelyingParty(stack)


def test_code_flow_with_pkce_through_the_gateway(
    stack: dict[str, Any], rp: RelyingParty, audit_api: Any
) -> None:
    issuer = stack["issuer"]
    member = stack["demo"]["users"]["member"]
    # When the demo member signs in on the hosted page
    back = rp.sign_in(member["email"], member["password"])
    # Then the browser returns to the RP with a code, its state and our issuer (RFC 9207)
    assert back.status_code in (302, 303), back.text
    location = back.headers["location"]
    params = query_of(location)
    assert location.startswith(stack["demo"]["public_client"]["redirect_uri"] + "?")
    assert params["iss"] == issuer
    assert params["code"]
    assert params["state"]

    # When the RP exchanges the code with its PKCE verifier
    tokens = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"], authorization_response=location, code_verifier=rp.verifier
    )
    # Then the ID token verifies against the published JWKS
    keys = KeySet.import_key_set(rp.browser.get(rp.metadata["jwks_uri"]).json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": stack["demo"]["public_client"]["client_id"]},
        nonce={"essential": True, "value": rp.nonce},
    ).validate(id_token.claims)
    assert jwt.decode(tokens["access_token"], keys, algorithms=["ES256"]).header["typ"] == "at+jwt"

    # And the access token works at /userinfo and through the authorizer on /users/me
    assert rp.oauth.get(rp.metadata["userinfo_endpoint"]).json()["email"] == member["email"]
    me = rp.oauth.get(stack["api_url"] + "users/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == member["email"]

    # When the refresh token is rotated, its successor rotated in turn (so no grace window applies:
    # tests/e2e/test_identity_races.py covers the window), then the first one is replayed
    first_refresh = tokens["refresh_token"]
    rotated = rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh
    refreshed = rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=rotated["refresh_token"])
    with pytest.raises(OAuthError) as replay:
        rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=first_refresh)
    # Then the whole family is revoked
    assert replay.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])

    # When the member comes back (the session signs in silently) and a confidential client introspects
    verifier = generate_token(48)
    url, _ = rp.oauth.create_authorization_url(rp.metadata["authorization_endpoint"], code_verifier=verifier)
    silent = rp.browser.get(url)
    assert silent.status_code in (302, 303), silent.text
    fresh = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"],
        authorization_response=silent.headers["location"],
        code_verifier=verifier,
    )
    confidential = stack["demo"]["confidential_client"]
    service = OAuth2Client(
        client_id=confidential["client_id"],
        client_secret=confidential["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        timeout=30,
    )
    assert service.introspect_token(
        rp.metadata["introspection_endpoint"], token=fresh["access_token"]
    ).json()["active"]
    assert (
        rp.oauth.revoke_token(rp.metadata["revocation_endpoint"], token=fresh["refresh_token"]).status_code
        == 200
    )
    inactive = service.introspect_token(rp.metadata["introspection_endpoint"], token=fresh["refresh_token"])
    assert inactive.json() == {"active": False}

    # And the audit trail of the demo tenant shows the identity events, with no secret in them
    def identity_events() -> list[dict[str, Any]]:
        response = httpx.get(
            stack["api_url"] + "audit/events",
            headers={"Authorization": f"Bearer {_admin_token(stack)}"},
            params={"limit": 100},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["request_id"]]

    wanted = {"user.logged_in", "token.issued", "token.refreshed", "token.reuse_detected", "token.revoked"}
    events = wait_for(lambda: (found := identity_events()) and wanted <= {e["type"] for e in found} and found)
    text = json.dumps(events)
    for secret in (member["password"], first_refresh, tokens["access_token"], params["code"]):
        assert secret not in text


def _admin_token(stack: dict[str, Any]) -> str:
    confidential = stack["demo"]["confidential_client"]
    response = httpx.post(
        stack["api_url"] + "token",
        auth=(confidential["client_id"], confidential["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _b64(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def forge(stack: dict[str, Any]) -> Callable[..., str]:
    """Sign arbitrary claims with the real current KMS key (what only a key holder could do)."""
    keys = DynamoSigningKeyRepository(stack["tables"]["signing_keys"])
    signer = JwtSigner(KmsKeyVault(stage=stack["stage"]), lambda: current_key(keys.list_keys()))
    good = _admin_token(stack)
    claims = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=="))

    def sign(typ: str = "at+jwt", **overrides: Any) -> str:
        return signer.sign({**claims, **overrides, "jti": generate_token(16)}, typ=typ)

    return sign


def _status(stack: dict[str, Any], token: str) -> int:
    response = httpx.get(
        stack["api_url"] + "audit/verify", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def test_a_correctly_signed_token_passes_the_authorizer(
    stack: dict[str, Any], forge: Callable[..., str]
) -> None:
    assert _status(stack, forge()) == 200


@pytest.mark.parametrize(
    ("attack", "overrides"),
    [
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("wrong audience", {"aud": "someone-else"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("not yet valid", {"nbf": int(time.time()) + 3600}),
        ("missing tenant", {"tenant": None}),
    ],
)
def test_signed_tokens_with_bad_claims_are_refused(
    stack: dict[str, Any], forge: Callable[..., str], attack: str, overrides: dict[str, Any]
) -> None:
    assert _status(stack, forge(**overrides)) == 401, attack


def test_an_id_token_is_not_an_access_token(stack: dict[str, Any], forge: Callable[..., str]) -> None:
    assert _status(stack, forge(typ="JWT")) == 401


def test_unsigned_confused_and_injected_tokens_are_refused(stack: dict[str, Any]) -> None:
    good = _admin_token(stack)
    header_b64, payload_b64, signature_b64 = good.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    jwks = httpx.get(stack["issuer"] + "/jwks.json", timeout=30).json()
    public_key_bytes = json.dumps(jwks["keys"][0]).encode()

    def hs256(key: bytes) -> str:
        hs_header = _b64({**header, "alg": "HS256"})
        signing_input = f"{hs_header}.{payload_b64}".encode()
        return f"{hs_header}.{payload_b64}.{_b64(hmac.new(key, signing_input, hashlib.sha256).digest())}"

    attacks = {
        "alg none": f"{_b64({**header, 'alg': 'none'})}.{payload_b64}.",
        "alg None": f"{_b64({**header, 'alg': 'None'})}.{payload_b64}.",
        "alg none with signature": f"{_b64({**header, 'alg': 'none'})}.{payload_b64}.{signature_b64}",
        "HS256 keyed with our public JWK": hs256(public_key_bytes),
        "unknown kid": f"{_b64({**header, 'kid': 'not-ours'})}.{payload_b64}.{signature_b64}",
        "injected kid path": f"{_b64({**header, 'kid': '../../etc/passwd'})}.{payload_b64}.{signature_b64}",
        "jku header": f"{_b64({**header, 'jku': 'https://evil.example/jwks'})}.{payload_b64}.{signature_b64}",
        "x5u header": f"{_b64({**header, 'x5u': 'https://evil.example/cert'})}.{payload_b64}.{signature_b64}",
        "embedded jwk": f"{_b64({**header, 'jwk': jwks['keys'][0]})}.{payload_b64}.{signature_b64}",
        "tampered payload": f"{header_b64}.{_b64({'sub': 'admin', 'tenant': 'other'})}.{signature_b64}",
        "truncated": f"{header_b64}.{payload_b64}",
        "bad base64": f"{header_b64}.!!!.{signature_b64}",
    }
    for name, token in attacks.items():
        assert _status(stack, token) == 401, name


def test_rotate_now_promotes_a_new_key_and_earlier_tokens_still_verify(
    stack: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    # Given a token signed by the current key
    keys = DynamoSigningKeyRepository(stack["tables"]["signing_keys"])
    before = _admin_token(stack)
    old = current_key(keys.list_keys())
    assert old is not None
    # When an operator rotates now (the incident path; the hourly schedule runs the same function)
    response = aws("lambda").invoke(
        FunctionName=stack["functions"]["key_rotation"],
        Payload=json.dumps({"action": "rotate_now", "compromised": False}),
    )
    assert "FunctionError" not in response, response["Payload"].read()
    report = json.loads(response["Payload"].read())
    # Then a new key is current, the old one stays published as previous, and its tokens still verify
    new = current_key(keys.list_keys())
    assert new is not None
    assert new.kid != old.kid
    assert report["activated"] == [new.kid]
    assert report["demoted"] == [old.kid]
    states = {key.kid: key.state.value for key in keys.list_keys()}
    assert states[old.kid] == "previous"
    assert _status(stack, before) == 200
