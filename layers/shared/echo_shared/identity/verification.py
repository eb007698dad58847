"""Access-token verification, shared by the authorizer, /userinfo and /introspect.

Everything the header may carry is pinned before any key is looked up: exactly `alg`, `typ` and
`kid`; `alg` must be ES256 (so `none`, HS*, RS* and friends never reach a key); `typ` must be
`at+jwt` (RFC 9068 §4), so an ID token cannot be replayed as an access token. Key-carrying headers
(`jku`, `x5u`, `jwk`, `x5c`) and `crit` are refused: keys come only from our own JWKS.

ES256 (RFC 7518 §3.4) and the registered claims (RFC 7519 §4.1) are checked here on `cryptography`
alone: a JOSE library's import was a third of the authorizer's cold start (ADR 0015). The claim
rules are joserfc's `JWTClaimsRegistry` rules, with its error codes as rejection reasons.
"""

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256

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
P256_COORDINATE_BYTES = 32
_ACCESS_REQUIRED = frozenset({"iss", "aud", "exp", "iat", "sub", "jti"})
_ID_HINT_REQUIRED = frozenset({"iss", "aud", "sub"})
_STRING_CLAIMS = frozenset({"iss", "sub", "jti"})
_TIME_CLAIMS = frozenset({"exp", "nbf", "iat"})


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
        _validate_claims(
            claims,
            required=_ACCESS_REQUIRED,
            expected={"iss": self.issuer, "aud": self.audience},
            now=self._now(),
            leeway=self.leeway_seconds,
        )
        access = AccessClaims.from_verified(claims)
        if self.revocations is not None and self.revocations.is_revoked(access.jti):
            raise TokenRejected("revoked")
        return access

    def verify_id_token_hint(self, token: str, *, client_id: str | None = None) -> dict[str, Any]:
        """An `id_token_hint` (RP-initiated logout): our signature and issuer; expiry is not checked."""
        claims = self._verified_claims(token, types=_ID_TYPES)
        claims_without_times = {k: v for k, v in claims.items() if k not in _TIME_CLAIMS}
        _validate_claims(
            claims_without_times,
            required=_ID_HINT_REQUIRED,
            expected={"iss": self.issuer, **({"aud": client_id} if client_id else {})},
            now=self._now(),
            leeway=0,
        )
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
        signing_input, _, signature = token.rpartition(".")
        payload = _verified_payload(signing_input, signature, jwk)
        try:
            claims = json.loads(payload)
        except (UnicodeDecodeError, ValueError):
            raise TokenRejected("malformed") from None
        if not isinstance(claims, dict):
            raise TokenRejected("malformed")
        return claims


def _b64url_decode(segment: str) -> bytes:
    """Canonical unpadded base64url only (RFC 7515 §2): a segment whose unused trailing bits are
    set decodes to the same bytes as the canonical one, so accepting it would let anyone mint other
    strings for one token (a token's cache key, revocation lists keyed by string)."""
    decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") != segment:
        raise ValueError("not canonical base64url")
    return decoded


def _public_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """A published P-256 JWK (our own JWKS) as a public key; anything else is not ours."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("published keys must be EC P-256")
    x, y = (_b64url_decode(jwk[name]) for name in ("x", "y"))
    if len(x) != P256_COORDINATE_BYTES or len(y) != P256_COORDINATE_BYTES:
        raise ValueError("P-256 coordinates are 32 bytes")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def _verified_payload(signing_input: str, signature_segment: str, jwk: Mapping[str, Any]) -> bytes:
    """The payload of `header.payload` if `signature_segment` is its ES256 signature by `jwk`."""
    try:
        signature = _b64url_decode(signature_segment)
        payload = _b64url_decode(signing_input.split(".", 1)[1])
    except (binascii.Error, ValueError):
        raise TokenRejected("bad_signature") from None
    # JWS carries the raw r||s pair (RFC 7518 §3.4), cryptography verifies DER.
    if len(signature) != 2 * P256_COORDINATE_BYTES:
        raise TokenRejected("bad_signature")
    r = int.from_bytes(signature[:P256_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[P256_COORDINATE_BYTES:], "big")
    try:
        _public_key(jwk).verify(encode_dss_signature(r, s), signing_input.encode("ascii"), ec.ECDSA(SHA256()))
    except InvalidSignature:
        raise TokenRejected("bad_signature") from None
    return payload


def _json_segment(segment: str, *, what: str) -> dict[str, Any]:
    try:
        decoded = json.loads(_b64url_decode(segment))
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


def _validate_claims(
    claims: Mapping[str, Any], *, required: frozenset[str], expected: Mapping[str, str], now: int, leeway: int
) -> None:
    """RFC 7519 §4.1 checks, in claim order: `required` present and not blank, `iss`/`sub`/`jti`
    strings, `aud` a string or a list of strings, `expected` values matched (an `aud` list matches
    when it holds the value), `exp`/`nbf`/`iat` finite NumericDates, not expired or in the future
    beyond `leeway`. Raises TokenRejected("claims_<code>") with joserfc's codes."""
    if any(claims.get(name) is None for name in required):
        raise TokenRejected("claims_missing_claim")
    for name, value in claims.items():
        if name in _STRING_CLAIMS and not isinstance(value, str):
            raise TokenRejected("claims_invalid_claim")
        if name == "aud" and not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise TokenRejected("claims_invalid_claim")
        if name in _TIME_CLAIMS:
            _check_time(name, value, now=now, leeway=leeway)
        if name in required and value in (None, "", [], {}):
            raise TokenRejected("claims_invalid_claim")
        if name in expected and not _matches(value, expected[name]):
            raise TokenRejected("claims_invalid_claim")


def _numeric_date(value: object) -> TypeGuard[int | float]:
    # NaN compares false with everything (it would never expire); bools are ints to Python.
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    )


def _check_time(name: str, value: object, *, now: int, leeway: int) -> None:
    if not _numeric_date(value):
        raise TokenRejected("claims_invalid_claim")
    if name == "exp" and value <= now - leeway:
        raise TokenRejected("claims_expired_token")
    if name in ("nbf", "iat") and value > now + leeway:
        raise TokenRejected("claims_invalid_claim")


def _matches(value: object, wanted: str) -> bool:
    return value == wanted or (isinstance(value, list) and wanted in value)
