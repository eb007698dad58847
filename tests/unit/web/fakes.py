"""In-memory fakes for the web app's ports, speaking the production formats (JWS ES256, JWKS, JSON)."""

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jws
from joserfc.jwk import ECKey
from web.sessions import PendingLogin, WebSession
from web.transport import HttpResponse

ISSUER = "https://id.echo.test/v1"
WEB_URL = "https://app.echo.test/v1/app/"


class Clock:
    def __init__(self, now: int = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class MemorySessionStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.pending: dict[str, PendingLogin] = {}
        self.sessions: dict[str, tuple[WebSession, int]] = {}

    def put_pending(self, pending: PendingLogin) -> None:
        self.pending[pending.handle_hash] = pending

    def take_pending(self, handle_hash: str) -> PendingLogin | None:
        pending = self.pending.pop(handle_hash, None)
        return pending if pending and pending.expires_at > self._clock() else None

    def put_session(self, session: WebSession, *, expires_at: int) -> None:
        self.sessions[session.handle_hash] = (session, expires_at)

    def get_session(self, handle_hash: str) -> WebSession | None:
        found = self.sessions.get(handle_hash)
        return found[0] if found and found[1] > self._clock() else None

    def delete_session(self, handle_hash: str) -> None:
        self.sessions.pop(handle_hash, None)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass
class FakeIdentity:
    """The identity service's /token, /jwks.json and /revoke, plus the APIs, as an HTTP transport."""

    clock: Clock
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", parameters={"kid": "k1"}))
    secret: str = "s3cret"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, Mapping[str, str], bytes | None]] = field(default_factory=list)
    api: Callable[[str, str, Mapping[str, str], bytes | None], HttpResponse] | None = None
    claims_override: dict[str, Any] = field(default_factory=dict)
    token_counter: int = 0

    def authorize(self, authorization_url: str, *, code: str = "code-1") -> dict[str, str]:
        """What the hosted login does once the user signs in: a code bound to the request."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        tenant = query["client_id"].removeprefix("echo-web-")
        self.codes[code] = {"challenge": query["code_challenge"], "nonce": query["nonce"], "tenant": tenant}
        return {"code": code, "state": query["state"]}

    def id_token(self, claims: dict[str, Any], *, alg: str = "ES256", kid: str = "k1") -> str:
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.key, algorithms=[alg])

    def claims(
        self, *, client_id: str, nonce: str, access_token: str, tenant: str = "demo"
    ) -> dict[str, Any]:
        now = self.clock()
        return {
            "iss": ISSUER,
            "sub": "usr_1",
            "aud": client_id,
            "azp": client_id,
            "exp": now + 900,
            "iat": now,
            "tenant": tenant,
            "email": "ann@demo.test",
            "nonce": nonce,
            "at_hash": at_hash(access_token),
            **self.claims_override,
        }

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse:
        self.calls.append((method, url, headers, body))
        path = urlsplit(url).path
        if url == f"{ISSUER}/jwks.json":
            return HttpResponse(200, json.dumps({"keys": [self.key.as_dict(private=False)]}).encode())
        if url == f"{ISSUER}/token":
            return self._token(headers, parse_qs((body or b"").decode()))
        if url == f"{ISSUER}/revoke":
            return HttpResponse(200, b"")
        if self.api is not None:
            return self.api(method, url, headers, body)
        return HttpResponse(404, json.dumps({"error": {"code": "not_found", "message": path}}).encode())

    def _token(self, headers: Mapping[str, str], form: dict[str, list[str]]) -> HttpResponse:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if scheme != "Basic" or secret != self.secret:
            return HttpResponse(401, b'{"error": "invalid_client"}')
        self.token_counter += 1
        access = f"at-{self.token_counter}"
        if form["grant_type"] == ["authorization_code"]:
            grant = self.codes.pop(form["code"][0], None)
            if grant is None or grant["challenge"] != s256(form["code_verifier"][0]):
                return HttpResponse(400, b'{"error": "invalid_grant"}')
            refresh = f"rt-{self.token_counter}"
            self.refresh_tokens.add(refresh)
            claims = self.claims(
                client_id=client_id, nonce=grant["nonce"], access_token=access, tenant=grant["tenant"]
            )
            body = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 900,
                "refresh_token": refresh,
                "id_token": self.id_token(claims),
            }
            return HttpResponse(200, json.dumps(body).encode())
        old = form["refresh_token"][0]
        if old not in self.refresh_tokens:
            return HttpResponse(400, b'{"error": "invalid_grant"}')
        self.refresh_tokens.discard(old)
        refresh = f"rt-{self.token_counter}"
        self.refresh_tokens.add(refresh)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 900, "refresh_token": refresh}
        return HttpResponse(200, json.dumps(body).encode())
