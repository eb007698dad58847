"""The app as a confidential OpenID Connect client of Echo's identity service.

Authorization code with PKCE (S256), `state` and `nonce` checked, client_secret_basic at the token
endpoint, ID tokens verified against the issuer's JWKS (header pinned to ES256 + kid, signature,
iss, aud, azp, exp, iat, nonce, at_hash). Every call goes to the issuer's own endpoints over HTTP.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry
from joserfc.util import urlsafe_b64decode

from web.transport import HttpTransport

SIGNING_ALGORITHM = "ES256"
ID_TOKEN_TYPES = frozenset({"jwt", "application/jwt"})
ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
JWKS_TTL_SECONDS = 300
JWKS_REFETCH_SECONDS = 30
LEEWAY_SECONDS = 60
_COMPACT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class SignInRejected(Exception):
    """The identity service's answer cannot be trusted or used (reason is a short code, no token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefreshRejected(Exception):
    """The refresh token no longer works: the user must sign in again."""


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    expires_in: int
    refresh_token: str | None
    id_token: str | None


@dataclass(frozen=True, slots=True)
class IdentityClaims:
    subject: str
    tenant: str
    email: str


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


class Jwks:
    """The issuer's published keys, cached; an unknown `kid` refetches (at most every 30 s)."""

    def __init__(self, url: str, transport: HttpTransport, now: Callable[[], int]) -> None:
        self._url = url
        self._transport = transport
        self._now = now
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: int | None = None

    def key_for(self, kid: str) -> dict[str, Any] | None:
        now = self._now()
        stale = self._fetched_at is None or now - self._fetched_at > JWKS_TTL_SECONDS
        if stale or (kid not in self._keys and now - (self._fetched_at or 0) > JWKS_REFETCH_SECONDS):
            self._fetch(now)
        return self._keys.get(kid)

    def _fetch(self, now: int) -> None:
        response = self._transport.send("GET", self._url, headers={"Accept": "application/json"})
        document = response.json()
        if (
            response.status != 200
            or not isinstance(document, dict)
            or not isinstance(document.get("keys"), list)
        ):
            raise SignInRejected("jwks_unavailable")
        self._keys = {
            key["kid"]: key
            for key in document["keys"]
            if isinstance(key, dict) and isinstance(key.get("kid"), str) and key.get("kty") == "EC"
        }
        self._fetched_at = now


class OidcClient:
    def __init__(
        self,
        *,
        issuer: str,
        client_secret: Callable[[], str],
        redirect_uri: str,
        scope: str,
        transport: HttpTransport,
        now: Callable[[], int],
    ) -> None:
        self.issuer = issuer
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self._transport = transport
        self._now = now
        self.jwks = Jwks(f"{issuer}/jwks.json", transport, now)

    def authorization_url(self, *, client_id: str, state: str, nonce: str, code_challenge: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
            quote_via=quote,
        )
        return f"{self.issuer}/authorize?{query}"

    def logout_url(self, *, client_id: str, id_token: str, post_logout_redirect_uri: str) -> str:
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": client_id,
                "post_logout_redirect_uri": post_logout_redirect_uri,
            },
            quote_via=quote,
        )
        return f"{self.issuer}/logout?{query}"

    def exchange_code(self, client_id: str, code: str, code_verifier: str) -> TokenSet:
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        status, answer = self._token_request(client_id, body)
        if status != 200:
            raise SignInRejected(f"token_{answer.get('error', 'error')}"[:64])
        tokens = _token_set(answer)
        if tokens.id_token is None:
            raise SignInRejected("no_id_token")
        return tokens

    def refresh(self, client_id: str, refresh_token: str) -> TokenSet:
        status, answer = self._token_request(
            client_id, {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        if status != 200:
            raise RefreshRejected(str(answer.get("error", "error")))
        try:
            return _token_set(answer)
        except SignInRejected as exc:
            raise RefreshRejected(exc.reason) from None

    def revoke(self, client_id: str, refresh_token: str) -> None:
        self._post(client_id, "/revoke", {"token": refresh_token, "token_type_hint": "refresh_token"})

    def verify_id_token(
        self, id_token: str, *, client_id: str, nonce: str, access_token: str
    ) -> IdentityClaims:
        claims = self._verified_payload(id_token)
        registry = JWTClaimsRegistry(
            now=self._now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInRejected(f"id_token_{exc.error}") from None
        azp = claims.get("azp")
        if azp is not None and azp != client_id:
            raise SignInRejected("id_token_azp")
        found_nonce = claims.get("nonce")
        if not isinstance(found_nonce, str) or not hmac.compare_digest(found_nonce, nonce):
            raise SignInRejected("id_token_nonce")
        at_hash = claims.get("at_hash")
        if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, _half_hash(access_token)):
            raise SignInRejected("id_token_at_hash")
        tenant, email = claims.get("tenant"), claims.get("email")
        if not isinstance(tenant, str) or not tenant:
            raise SignInRejected("id_token_tenant")
        return IdentityClaims(
            subject=str(claims["sub"]), tenant=tenant, email=email if isinstance(email, str) else ""
        )

    def _verified_payload(self, token: str) -> dict[str, Any]:
        if len(token) > 8192 or not _COMPACT.fullmatch(token):
            raise SignInRejected("id_token_malformed")
        try:
            header = json.loads(urlsafe_b64decode(token.split(".", 1)[0].encode("ascii")))
        except ValueError:
            raise SignInRejected("id_token_malformed") from None
        if not isinstance(header, dict) or not set(header) <= ALLOWED_HEADER:
            raise SignInRejected("id_token_header")
        typ = header.get("typ")
        if (
            header.get("alg") != SIGNING_ALGORITHM
            or not isinstance(typ, str)
            or typ.lower() not in ID_TOKEN_TYPES
        ):
            raise SignInRejected("id_token_header")
        kid = header.get("kid")
        key = self.jwks.key_for(kid) if isinstance(kid, str) else None
        if key is None:
            raise SignInRejected("id_token_unknown_kid")
        try:
            verified = jws.deserialize_compact(token, ECKey.import_key(key), algorithms=[SIGNING_ALGORITHM])
            payload = json.loads(verified.payload or b"")
        except (JoseError, ValueError):
            raise SignInRejected("id_token_signature") from None
        if not isinstance(payload, dict):
            raise SignInRejected("id_token_malformed")
        return payload

    def _token_request(self, client_id: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, answer = self._post(client_id, "/token", body)
        return status, answer if isinstance(answer, dict) else {}

    def _post(self, client_id: str, path: str, body: dict[str, str]) -> tuple[int, Any]:
        credentials = f"{quote(client_id, safe='')}:{quote(self._secret(), safe='')}"
        headers = {
            **_FORM,
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode("ascii"),
        }
        response = self._transport.send(
            "POST", f"{self.issuer}{path}", headers=headers, body=urlencode(body).encode("ascii")
        )
        return response.status, response.json()


def _token_set(answer: dict[str, Any]) -> TokenSet:
    access_token, expires_in = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(access_token, str) or not isinstance(expires_in, int) or expires_in <= 0:
        raise SignInRejected("token_response_malformed")
    if str(answer.get("token_type", "")).lower() != "bearer":
        raise SignInRejected("token_type")
    refresh_token, id_token = answer.get("refresh_token"), answer.get("id_token")
    return TokenSet(
        access_token=access_token,
        expires_in=expires_in,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        id_token=id_token if isinstance(id_token, str) else None,
    )
