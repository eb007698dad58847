"""Access-token verification, shared by the authorizer, /userinfo and /introspect.

Everything the header may carry is pinned before any key is looked up: exactly `alg`, `typ` and
`kid`; `alg` must be ES256 (so `none`, HS*, RS* and friends never reach a key); `typ` must be
`at+jwt` (RFC 9068 §4), so an ID token cannot be replayed as an access token. Key-carrying headers
(`jku`, `x5u`, `jwk`, `x5c`) and `crit` are refused: keys come only from our own JWKS.
"""

import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry
from joserfc.util import urlsafe_b64decode

from echo_shared.identity.claims import ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, SIGNING_ALGORITHM, AccessClaims
from echo_shared.identity.errors import TokenRejected
from echo_shared.timeutil import Clock

MAX_TOKEN_LENGTH = 8192
MAX_LEEWAY_SECONDS = 60
ALLOWED_HEADER_PARAMETERS = frozenset({"alg", "typ", "kid"})
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
# RFC 6750 §2.1 b64token; the scheme name is case-insensitive (RFC 9110 §11.1).
_BEARER = re.compile(r"^(?i:bearer) ([A-Za-z0-9._~+/-]+=*)$")
_ACCESS_TYPES = frozenset({ACCESS_TOKEN_TYPE, f"application/{ACCESS_TOKEN_TYPE}"})
_ID_TYPES = frozenset({ID_TOKEN_TYPE.lower(), f"application/{ID_TOKEN_TYPE.lower()}"})


class PublicKeys(Protocol):
    def key_for(self, kid: str) -> dict[str, Any] | None: ...


class RevocationCheck(Protocol):
    def is_revoked(self, jti: str) -> bool: ...


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1)."""
    if not authorization:
        raise TokenRejected("missing_token")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise TokenRejected("not_a_bearer_token")
    return match.group(1)


@dataclass(frozen=True, slots=True)
class TokenVerifier:
    issuer: str
    audience: str
    keys: PublicKeys
    clock: Clock
    revocations: RevocationCheck | None = None
    leeway_seconds: int = MAX_LEEWAY_SECONDS

    def __post_init__(self) -> None:
        if not 0 <= self.leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be within 0..{MAX_LEEWAY_SECONDS} seconds")

    def verify_access_token(self, token: str) -> AccessClaims:
        claims = self._verified_claims(token, types=_ACCESS_TYPES)
        registry = JWTClaimsRegistry(
            now=self._now,
            leeway=self.leeway_seconds,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )
        _validate(registry, claims)
        access = AccessClaims.from_verified(claims)
        if self.revocations is not None and self.revocations.is_revoked(access.jti):
            raise TokenRejected("revoked")
        return access

    def verify_id_token_hint(self, token: str, *, client_id: str | None = None) -> dict[str, Any]:
        """An `id_token_hint` (RP-initiated logout): our signature and issuer; expiry is not checked."""
        claims = self._verified_claims(token, types=_ID_TYPES)
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, **({"value": client_id} if client_id else {})},
            sub={"essential": True},
        )
        claims_without_times = {k: v for k, v in claims.items() if k not in ("exp", "nbf", "iat")}
        _validate(registry, claims_without_times)
        return claims

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def _verified_claims(self, token: str, *, types: frozenset[str]) -> dict[str, Any]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
            raise TokenRejected("malformed")
        header = _json_segment(token.split(".", 1)[0], what="header")
        _check_header(header, types)
        jwk = self.keys.key_for(header["kid"])
        if jwk is None:
            raise TokenRejected("unknown_kid")
        try:
            verified = jws.deserialize_compact(token, ECKey.import_key(jwk), algorithms=[SIGNING_ALGORITHM])
        except JoseError:
            raise TokenRejected("bad_signature") from None
        try:
            claims = json.loads(verified.payload or b"")
        except (UnicodeDecodeError, ValueError):
            raise TokenRejected("malformed") from None
        if not isinstance(claims, dict):
            raise TokenRejected("malformed")
        return claims


def _json_segment(segment: str, *, what: str) -> dict[str, Any]:
    try:
        decoded = json.loads(urlsafe_b64decode(segment.encode("ascii")))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise TokenRejected(f"malformed_{what}") from None
    if not isinstance(decoded, dict):
        raise TokenRejected(f"malformed_{what}")
    return decoded


def _check_header(header: dict[str, Any], types: frozenset[str]) -> None:
    if not set(header) <= ALLOWED_HEADER_PARAMETERS:
        raise TokenRejected("header_parameter_not_allowed")
    if header.get("alg") != SIGNING_ALGORITHM:
        raise TokenRejected("alg_not_allowed")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in types:
        raise TokenRejected("wrong_typ")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 128:
        raise TokenRejected("missing_kid")


def _validate(registry: JWTClaimsRegistry, claims: dict[str, Any]) -> None:
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise TokenRejected(f"claims_{exc.error}") from None
