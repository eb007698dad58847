"""Server-side state of the browser: pending sign-ins and signed-in sessions.

The browser holds only a random handle; the store keys records by the handle's SHA-256, so a leak
of the table does not give usable cookies. Tokens live here and never reach the browser.
"""

import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from echo_shared.dynamodb import bind_table
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

HANDLE_BYTES = 32


class SessionStoreUnavailable(Exception):
    """The session table cannot be reached."""


def new_handle() -> str:
    return secrets.token_urlsafe(HANDLE_BYTES)


def handle_digest(handle: str) -> str:
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """One authorization request in flight: what the callback must see again."""

    handle_hash: str
    tenant: str
    state: str
    nonce: str
    code_verifier: str
    return_to: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class WebSession:
    handle_hash: str
    tenant: str
    user_id: str
    email: str
    csrf_token: str
    access_token: str
    access_expires_at: int
    refresh_token: str | None
    id_token: str
    created_at: int
    last_seen_at: int
    absolute_expires_at: int

    def expires_at(self, idle_seconds: int) -> int:
        return min(self.absolute_expires_at, self.last_seen_at + idle_seconds)

    def with_tokens(
        self, access_token: str, access_expires_at: int, refresh_token: str | None
    ) -> "WebSession":
        return replace(
            self, access_token=access_token, access_expires_at=access_expires_at, refresh_token=refresh_token
        )


class SessionStore(Protocol):
    def put_pending(self, pending: PendingLogin) -> None: ...

    def take_pending(self, handle_hash: str) -> PendingLogin | None:
        """Read and delete in one step: a pending sign-in is redeemed at most once."""
        ...

    def put_session(self, session: WebSession, *, expires_at: int) -> None: ...

    def get_session(self, handle_hash: str) -> WebSession | None: ...

    def delete_session(self, handle_hash: str) -> None: ...


class _Record(Model):
    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    expires_at = NumberAttribute()
    state = UnicodeAttribute(null=True)
    nonce = UnicodeAttribute(null=True)
    code_verifier = UnicodeAttribute(null=True)
    return_to = UnicodeAttribute(null=True)
    tenant = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    csrf_token = UnicodeAttribute(null=True)
    access_token = UnicodeAttribute(null=True)
    access_expires_at = NumberAttribute(null=True)
    refresh_token = UnicodeAttribute(null=True)
    id_token = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    last_seen_at = NumberAttribute(null=True)
    absolute_expires_at = NumberAttribute(null=True)


_LOGIN = "LOGIN#"
_SESSION = "SESSION#"


class DynamoSessionStore:
    def __init__(self, table_name: str, *, clock_seconds: "ClockSeconds") -> None:
        self._model = bind_table(_Record, table_name)
        self._now = clock_seconds

    def put_pending(self, pending: PendingLogin) -> None:
        record = self._model(
            _LOGIN + pending.handle_hash,
            kind="login",
            expires_at=pending.expires_at,
            tenant=pending.tenant,
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            return_to=pending.return_to,
        )
        self._save(record)

    def take_pending(self, handle_hash: str) -> PendingLogin | None:
        try:
            record = self._model.get(_LOGIN + handle_hash, consistent_read=True)
            record.delete(condition=self._model.pk.exists())
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise SessionStoreUnavailable("the session store is unavailable") from exc
        if record.expires_at <= self._now():
            return None
        return PendingLogin(
            handle_hash=handle_hash,
            tenant=record.tenant or "",
            state=record.state or "",
            nonce=record.nonce or "",
            code_verifier=record.code_verifier or "",
            return_to=record.return_to or "",
            expires_at=int(record.expires_at),
        )

    def put_session(self, session: WebSession, *, expires_at: int) -> None:
        record = self._model(
            _SESSION + session.handle_hash,
            kind="session",
            expires_at=expires_at,
            tenant=session.tenant,
            user_id=session.user_id,
            email=session.email,
            csrf_token=session.csrf_token,
            access_token=session.access_token,
            access_expires_at=session.access_expires_at,
            refresh_token=session.refresh_token,
            id_token=session.id_token,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            absolute_expires_at=session.absolute_expires_at,
        )
        self._save(record)

    def get_session(self, handle_hash: str) -> WebSession | None:
        try:
            record = self._model.get(_SESSION + handle_hash, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise SessionStoreUnavailable("the session store is unavailable") from exc
        # DynamoDB's TTL deletes late (up to days): expiry is enforced on read.
        if record.expires_at <= self._now():
            return None
        return WebSession(
            handle_hash=handle_hash,
            tenant=record.tenant or "",
            user_id=record.user_id or "",
            email=record.email or "",
            csrf_token=record.csrf_token or "",
            access_token=record.access_token or "",
            access_expires_at=int(record.access_expires_at or 0),
            refresh_token=record.refresh_token,
            id_token=record.id_token or "",
            created_at=int(record.created_at or 0),
            last_seen_at=int(record.last_seen_at or 0),
            absolute_expires_at=int(record.absolute_expires_at or 0),
        )

    def delete_session(self, handle_hash: str) -> None:
        try:
            self._model(_SESSION + handle_hash).delete()
        except PynamoDBException as exc:
            raise SessionStoreUnavailable("the session store is unavailable") from exc

    def _save(self, record: _Record) -> None:
        try:
            record.save()
        except PynamoDBException as exc:
            raise SessionStoreUnavailable("the session store is unavailable") from exc


class ClockSeconds(Protocol):
    def __call__(self) -> int: ...
