"""Builds and signs access tokens (RFC 9068) and ID tokens (OIDC Core §2)."""

import base64
import hashlib
import secrets
from dataclasses import dataclass

from echo_shared.identity.claims import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    PrincipalType,
    access_token_claims,
)
from echo_shared.identity.signing import JwtSigner
from echo_shared.identity.users import User


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: left half of SHA-256 of the ASCII access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    signer: JwtSigner
    issuer: str
    audience: str
    access_token_ttl: int
    id_token_ttl: int

    def access_token(
        self,
        *,
        subject: str,
        client_id: str,
        tenant: str,
        roles: tuple[str, ...],
        scope: tuple[str, ...],
        principal_type: PrincipalType,
        now: int,
        jti: str | None = None,
        expires_at: int | None = None,
    ) -> AccessToken:
        jti = jti or new_jti()
        expires_at = expires_at or now + self.access_token_ttl
        claims = access_token_claims(
            issuer=self.issuer,
            audience=self.audience,
            subject=subject,
            client_id=client_id,
            tenant=tenant,
            roles=roles,
            scope=scope,
            principal_type=principal_type,
            jti=jti,
            issued_at=now,
            expires_at=expires_at,
        )
        return AccessToken(self.signer.sign(claims, typ=ACCESS_TOKEN_TYPE), jti, expires_at)

    def access_token_expiry(self, now: int) -> int:
        return now + self.access_token_ttl

    def id_token(
        self,
        *,
        user: User,
        client_id: str,
        auth_time: int,
        nonce: str | None,
        access_token: str,
        now: int,
        scope: tuple[str, ...],
    ) -> str:
        claims: dict[str, object] = {
            "iss": self.issuer,
            "sub": user.user_id,
            "aud": client_id,
            "azp": client_id,
            "exp": now + self.id_token_ttl,
            "iat": now,
            "auth_time": auth_time,
            "tenant": user.tenant,
            "at_hash": at_hash(access_token),
            **released_claims(user, scope),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return self.signer.sign(claims, typ=ID_TOKEN_TYPE)


def released_claims(user: User, scope: tuple[str, ...]) -> dict[str, object]:
    """Claims about the user released only for the scopes granted (OIDC Core 5.4): `email` with
    `email`; `roles` (Echo's profile of the user) with `profile`."""
    claims: dict[str, object] = {}
    if "email" in scope:
        claims |= {"email": user.email, "email_verified": user.email_verified}
    if "profile" in scope:
        claims["roles"] = list(user.role_names)
    return claims
