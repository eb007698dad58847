"""A relying party (Authlib's OAuth2Client) and a browser (an httpx client with a cookie jar),
both talking to the API Gateway emulator: the helpers every flow test composes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.integration.identity.conftest import IdentityWorld
from tests.integration.identity.gateway import ISSUER

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class RelyingParty:
    """A demo public client, as an app using Authlib would be."""

    identity: IdentityWorld
    scope: str = "openid email offline_access audit:read"
    # The demo tenant's client this app is: `public_client` (first-party) or `third_party_client`.
    client: str = "public_client"
    browser: httpx.Client = field(init=False)
    oauth: OAuth2Client = field(init=False)
    metadata: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        public = self.identity.demo[self.client]
        self.browser = self.identity.gateway.client()
        self.oauth = OAuth2Client(
            client_id=public["client_id"],
            token_endpoint_auth_method="none",
            redirect_uri=public["redirect_uri"],
            scope=self.scope,
            code_challenge_method="S256",
            transport=httpx.MockTransport(self.identity.gateway.handle),
        )
        self.metadata = self.browser.get(".well-known/openid-configuration").json()

    def authorization_url(self, **extra: str) -> tuple[str, str, str]:
        """(url, code_verifier, nonce) for a fresh authorization request."""
        verifier, nonce = generate_token(48), generate_token(16)
        url, _ = self.oauth.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
        )
        return url, verifier, nonce

    def sign_in(self, email: str, password: str) -> httpx.Response:
        """Start at /authorize, fill the hosted form, return the final response (the redirect back)."""
        url, self.verifier, self.nonce = self.authorization_url()
        to_login = self.browser.get(url)
        assert to_login.status_code == 303, to_login.text
        form = self.browser.get(to_login.headers["location"])
        assert form.status_code == 200
        return self.browser.post(
            f"{ISSUER}/login",
            data={"email": email, "password": password, "csrf_token": csrf_token(form.text)},
        )

    def tokens_for(self, email: str, password: str) -> dict[str, Any]:
        back = self.sign_in(email, password)
        assert back.status_code == 303, back.text
        return dict(
            self.oauth.fetch_token(
                self.metadata["token_endpoint"],
                authorization_response=back.headers["location"],
                code_verifier=self.verifier,
            )
        )


def demo_user(identity: IdentityWorld, name: str) -> tuple[str, str]:
    user = identity.demo["users"][name]
    return user["email"], user["password"]


def service_client(identity: IdentityWorld) -> OAuth2Client:
    confidential = identity.demo["confidential_client"]
    return OAuth2Client(
        client_id=confidential["client_id"],
        client_secret=confidential["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        transport=httpx.MockTransport(identity.gateway.handle),
    )


def registered_guest(identity: IdentityWorld, email: str) -> tuple[RelyingParty, dict[str, Any]]:
    """A browser that registered `email` through the demo client, and the tokens it got."""
    rp = RelyingParty(identity, scope="openid email offline_access")
    url, rp.verifier, rp.nonce = rp.authorization_url()
    rp.browser.get(url)
    form = rp.browser.get("register")
    done = rp.browser.post(
        f"{ISSUER}/register",
        data={"email": email, "password": "violet tram under bridge", "csrf_token": csrf_token(form.text)},
    )
    assert done.status_code == 303, done.text
    token = rp.oauth.fetch_token(
        rp.metadata["token_endpoint"],
        authorization_response=done.headers["location"],
        code_verifier=rp.verifier,
    )
    return rp, dict(token)
