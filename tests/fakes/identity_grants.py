"""One in-memory fake for every grant port (transactions, sessions, codes, refresh families, revoked
jtis), with the same atomicity semantics as the DynamoDB adapters."""

from collections.abc import Sequence
from dataclasses import replace

from echo_shared.events import EventEnvelope
from echo_shared.identity.errors import CodeReplayed, FamilyRevoked, NotFound, RefreshTokenReused
from echo_shared.identity.grants import (
    AuthorizationCode,
    IssuedTokens,
    LoginTransaction,
    NewFamily,
    RefreshFamily,
    RefreshToken,
    Session,
    StoredCode,
    live_access_tokens,
)

from tests.fakes.events import InMemoryEventPublisher


class InMemoryGrantStore:
    """One fake for every grant port, with the same atomicity semantics as the DynamoDB adapters."""

    def __init__(self, outbox: InMemoryEventPublisher | None = None) -> None:
        self._outbox = outbox
        self.transactions: dict[str, LoginTransaction] = {}
        self.sessions: dict[str, Session] = {}
        self.codes: dict[str, tuple[AuthorizationCode, IssuedTokens | None]] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.families: dict[str, RefreshFamily] = {}
        self.revoked: dict[str, int] = {}

    def put_transaction(self, transaction: LoginTransaction) -> None:
        self.transactions[transaction.handle_hash] = transaction

    def get_transaction(self, handle_hash: str) -> LoginTransaction | None:
        return self.transactions.get(handle_hash)

    def delete_transaction(self, handle_hash: str) -> None:
        self.transactions.pop(handle_hash, None)

    def put_session(self, session: Session) -> None:
        self.sessions[session.handle_hash] = session

    def get_session(self, handle_hash: str) -> Session | None:
        return self.sessions.get(handle_hash)

    def delete_session(self, handle_hash: str) -> None:
        self.sessions.pop(handle_hash, None)

    def put_code(self, code: AuthorizationCode) -> None:
        self.codes[code.code_hash] = (code, None)

    def find_code(self, code_hash: str) -> StoredCode | None:
        if code_hash not in self.codes:
            return None
        code, issued = self.codes[code_hash]
        return StoredCode(code, issued)

    def redeem_code(
        self,
        code_hash: str,
        *,
        now: int,
        issued: IssuedTokens,
        family: NewFamily | None = None,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        if code_hash not in self.codes:
            raise NotFound("unknown authorization code")
        code, previous = self.codes[code_hash]
        if previous is not None:
            raise CodeReplayed(previous.family_id, previous.access_jti, previous.access_exp)
        self.codes[code_hash] = (code, issued)
        if family is not None:
            self.families[family.family.family_id] = family.family
            self.refresh_tokens[family.token.token_hash] = family.token
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def find(self, token_hash: str) -> tuple[RefreshToken, RefreshFamily] | None:
        token = self.refresh_tokens.get(token_hash)
        if token is None or token.family_id not in self.families:
            return None
        return token, self.families[token.family_id]

    def rotate(
        self,
        old_hash: str,
        new: RefreshToken,
        *,
        now: int,
        access_jti: str,
        access_exp: int,
        successor_salt: str,
        events: Sequence[EventEnvelope] = (),
    ) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        old = self.refresh_tokens[old_hash]
        family = self.families[old.family_id]
        if old.rotated_at is not None:
            raise RefreshTokenReused(old.family_id)
        if family.revoked_at is not None:
            raise FamilyRevoked(old.family_id)
        self.refresh_tokens[old_hash] = replace(old, rotated_at=now, successor_salt=successor_salt)
        self.refresh_tokens[new.token_hash] = new
        self.record_access_token(family.family_id, now=now, access_jti=access_jti, access_exp=access_exp)
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def record_access_token(self, family_id: str, *, now: int, access_jti: str, access_exp: int) -> None:
        family = self.families[family_id]
        if family.revoked_at is not None:
            raise FamilyRevoked(family_id)
        tokens = {**live_access_tokens(family.access_tokens, now), access_jti: access_exp}
        self.families[family_id] = replace(family, access_tokens=tokens)

    def revoke_family(
        self, family_id: str, *, now: int, events: Sequence[EventEnvelope] = ()
    ) -> RefreshFamily | None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        family = self.families.get(family_id)
        if family is None:
            return None
        if family.revoked_at is None:
            family = replace(family, revoked_at=now)
            self.families[family_id] = family
            if self._outbox is not None:
                self._outbox.published.extend(events)
        return family

    def revoke(self, jti: str, *, expires_at: int, events: Sequence[EventEnvelope] = ()) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        self.revoked[jti] = expires_at
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def is_revoked(self, jti: str) -> bool:
        return jti in self.revoked
