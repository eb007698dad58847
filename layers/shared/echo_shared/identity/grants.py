"""Short-lived grants: login transactions, sessions, authorization codes, refresh-token families and
the revoked-jti list. Opaque handles (cookies, codes, refresh tokens) are stored only as SHA-256
digests: they are 256-bit random, so a fast hash suffices and a table read leaks nothing usable.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self

HANDLE_BYTES = 32

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope  # annotations only: no pydantic import here


def new_handle() -> str:
    return secrets.token_urlsafe(HANDLE_BYTES)


def handle_digest(handle: str) -> str:
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()


def new_successor_salt() -> str:
    return secrets.token_urlsafe(16)


def successor_handle(presented: str, salt: str) -> str:
    """The refresh token that replaces `presented`, derived so that a concurrent refresh of the
    same token can return the very same successor without its plaintext being stored: computing
    it needs the presented token (only its digest is stored) and the rotation's salt."""
    digest = hmac.new(
        presented.encode("utf-8"), b"echo-refresh-successor:" + salt.encode("ascii"), hashlib.sha256
    )
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request, kept while the user signs in."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    prompt: str | None = None
    max_age: int | None = None
    login_hint: str | None = None
    # `prompt=consent`: ask a third-party client's user again, even for scopes already granted.
    consent_prompt: bool = False
    # RFC 8707: the resource the code may be exchanged for (bound to the code).
    resource: str | None = None

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in self.__dataclass_fields__})

    @classmethod
    def from_json(cls, text: str) -> Self:
        data: dict[str, Any] = json.loads(text)
        data["scope"] = tuple(data["scope"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class LoginTransaction:
    """Pre-login state bound to a cookie: the CSRF token and the pending authorization request."""

    handle_hash: str
    csrf_token: str
    tenant: str
    request: AuthorizationRequest | None
    expires_at: int


@dataclass(frozen=True, slots=True)
class Session:
    handle_hash: str
    tenant: str
    user_id: str
    auth_time: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code_hash: str
    client_id: str
    tenant: str
    user_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    code_challenge: str
    auth_time: int
    expires_at: int
    nonce: str | None = None
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What a code exchange issued, recorded atomically with the code's redemption."""

    access_jti: str
    access_exp: int
    family_id: str | None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    family_id: str
    expires_at: int
    rotated_at: int | None = None
    # Set with rotated_at: derives the successor (successor_handle) for the grace window.
    successor_salt: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    family_id: str
    tenant: str
    user_id: str
    client_id: str
    scope: tuple[str, ...]
    auth_time: int
    created_at: int
    expires_at: int
    revoked_at: int | None = None
    # Access tokens issued in this family that may still be live: jti -> exp.
    access_tokens: dict[str, int] = field(default_factory=dict)


class LoginTransactionStore(Protocol):
    def put_transaction(self, transaction: LoginTransaction) -> None: ...

    def get_transaction(self, handle_hash: str) -> LoginTransaction | None: ...

    def delete_transaction(self, handle_hash: str) -> None: ...


class SessionStore(Protocol):
    def put_session(self, session: Session) -> None: ...

    def get_session(self, handle_hash: str) -> Session | None: ...

    def delete_session(self, handle_hash: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredCode:
    """A code as stored: `issued` is set once it was redeemed (what that redemption issued)."""

    code: AuthorizationCode
    issued: IssuedTokens | None = None


class AuthorizationCodeStore(Protocol):
    def put_code(self, code: AuthorizationCode) -> None: ...

    def find_code(self, code_hash: str) -> StoredCode | None:
        """Read without consuming (consistent), so a request can be validated before redemption."""
        ...

    def redeem_code(
        self,
        code_hash: str,
        *,
        now: int,
        issued: IssuedTokens,
        family: "NewFamily | None" = None,
        events: Sequence["EventEnvelope"] = (),
    ) -> None:
        """Atomically: mark the code used and record `issued`, start the refresh `family` (when the
        exchange issues a refresh token) and write `events` to the outbox (ADR 0014). NotFound if
        unknown; CodeReplayed (with what the first redemption issued) if it was already used;
        nothing is written then. The code itself is the one `find_code` read (a code never changes
        but for its redemption)."""
        ...


@dataclass(frozen=True, slots=True)
class NewFamily:
    """A refresh family started by a code exchange, with its first refresh token."""

    family: RefreshFamily
    token: RefreshToken


class RefreshTokenStore(Protocol):
    def find(self, token_hash: str) -> tuple[RefreshToken, RefreshFamily] | None: ...

    def rotate(
        self,
        old_hash: str,
        new: RefreshToken,
        *,
        now: int,
        access_jti: str,
        access_exp: int,
        successor_salt: str,
        events: Sequence["EventEnvelope"] = (),
    ) -> None:
        """Atomically: mark `old_hash` rotated (with the salt its successor derives from), store
        `new`, record the access token in the family, write `events` to the outbox (ADR 0014).
        RefreshTokenReused if `old_hash` was already rotated; FamilyRevoked if the family was."""
        ...

    def record_access_token(self, family_id: str, *, now: int, access_jti: str, access_exp: int) -> None:
        """Add an access token to a live family (so revoking the family revokes it); FamilyRevoked
        if the family was revoked."""
        ...

    def revoke_family(
        self, family_id: str, *, now: int, events: Sequence["EventEnvelope"] = ()
    ) -> RefreshFamily | None:
        """Revoke (idempotently); returns the family so the caller can revoke its access tokens.
        `events` commit with the revocation (ADR 0014) and only with it: a family revoked before
        writes none, so a retry does not report the revocation twice."""
        ...


class RevocationList(Protocol):
    def revoke(self, jti: str, *, expires_at: int, events: Sequence["EventEnvelope"] = ()) -> None:
        """Record `jti` as revoked until `expires_at`, with `events` in the outbox in the same
        transaction (ADR 0014)."""
        ...

    def is_revoked(self, jti: str) -> bool: ...


def live_access_tokens(tokens: dict[str, int], now: int) -> dict[str, int]:
    return {jti: exp for jti, exp in tokens.items() if exp > now}
