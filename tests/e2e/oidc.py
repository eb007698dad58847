"""A relying party for e2e tests: Authlib's OAuth2Client plus a browser (httpx with a cookie jar)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


# What many RP libraries (and oauth2-proxy, Grafana) ask for by default.
DEFAULT_SCOPES = "openid profile email offline_access"
# A first-party admin tool asks for the admin scopes explicitly; an admin's roles alone open nothing.
ADMIN_TOOL_SCOPES = (
    f"{DEFAULT_SCOPES} audit:read logs:read users:admin authz:admin documents:read documents:write"
)


class RelyingParty:
    """A demo public client as an app using Authlib would be, plus a browser with a cookie jar:
    `public_client` (Echo's own, first-party) or `third_party_client` (its users consent)."""

    def __init__(
        self,
        stack: dict[str, Any],
        scope: str = DEFAULT_SCOPES,
        tenant: str = "demo",
        client: str = "public_client",
    ) -> None:
        public = stack[tenant][client]
        self.browser = httpx.Client(timeout=30)
        self.oauth = OAuth2Client(
            client_id=public["client_id"],
            token_endpoint_auth_method="none",
            redirect_uri=public["redirect_uri"],
            scope=scope,
            code_challenge_method="S256",
            timeout=30,
        )
        self.metadata = self.browser.get(stack["issuer"] + "/.well-known/openid-configuration").json()

    def authorize(self, **extra: str) -> httpx.Response:
        """A fresh authorization request from this browser (`extra`: prompt, resource, ...)."""
        self.verifier, self.nonce = generate_token(48), generate_token(16)
        url, _ = self.oauth.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=self.verifier, nonce=self.nonce, **extra
        )
        return self.browser.get(url)

    def sign_in(self, email: str, password: str, **extra: str) -> httpx.Response:
        to_login = self.authorize(**extra)
        assert to_login.status_code in (302, 303), to_login.text
        form = self.browser.get(to_login.headers["location"])
        assert form.status_code == 200, form.text
        match = _CSRF.search(form.text)
        assert match is not None, "no CSRF token on the login page"
        action = str(form.url).split("?", 1)[0]
        return self.browser.post(
            action, data={"email": email, "password": password, "csrf_token": match.group(1)}
        )

    def tokens_for(self, email: str, password: str, **extra: str) -> dict[str, Any]:
        back = self.sign_in(email, password, **extra)
        assert back.status_code in (302, 303), back.text
        return self.redeem(back)

    def redeem(self, back: httpx.Response, **extra: str) -> dict[str, Any]:
        """Exchange the code of a redirect back from /authorize, /login or /consent."""
        return dict(
            self.oauth.fetch_token(
                self.metadata["token_endpoint"],
                authorization_response=back.headers["location"],
                code_verifier=self.verifier,
                **extra,
            )
        )
