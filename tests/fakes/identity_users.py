"""An in-memory UserRepository with the DynamoDB adapter's semantics (one email claim per tenant;
a change's events reach the outbox only if the change is made)."""

from collections.abc import Sequence
from dataclasses import replace

from echo_shared.events import EventEnvelope
from echo_shared.identity.claims import Role
from echo_shared.identity.errors import EmailTaken, NotFound
from echo_shared.identity.users import User, UserPage, UserStatus

from tests.fakes.events import InMemoryEventPublisher


class InMemoryUserRepository:
    def __init__(self, outbox: InMemoryEventPublisher | None = None) -> None:
        self._users: dict[tuple[str, str], User] = {}
        self._emails: dict[tuple[str, str], str] = {}
        self._outbox = outbox

    def get(self, tenant: str, user_id: str) -> User | None:
        return self._users.get((tenant, user_id))

    def find_by_email(self, tenant: str, email: str) -> User | None:
        user_id = self._emails.get((tenant, email))
        return None if user_id is None else self._users.get((tenant, user_id))

    def create(self, user: User, *, events: Sequence[EventEnvelope] = ()) -> None:
        if (user.tenant, user.email) in self._emails:
            raise EmailTaken("an account with this email already exists")
        self._emails[(user.tenant, user.email)] = user.user_id
        self._users[(user.tenant, user.user_id)] = user
        self._commit(events)

    def update_password_hash(self, tenant: str, user_id: str, password_hash: str, *, now: int) -> None:
        user = self._require(tenant, user_id)
        self._users[(tenant, user_id)] = replace(user, password_hash=password_hash, updated_at=now)

    def set_status(
        self, tenant: str, user_id: str, status: UserStatus, *, now: int, events: Sequence[EventEnvelope] = ()
    ) -> User:
        user = replace(self._require(tenant, user_id), status=status, updated_at=now)
        self._users[(tenant, user_id)] = user
        self._commit(events)
        return user

    def set_roles(
        self,
        tenant: str,
        user_id: str,
        roles: tuple[Role, ...],
        *,
        now: int,
        events: Sequence[EventEnvelope] = (),
    ) -> User:
        user = replace(self._require(tenant, user_id), roles=roles, updated_at=now)
        self._users[(tenant, user_id)] = user
        self._commit(events)
        return user

    def mark_email_verified(
        self, tenant: str, user_id: str, *, now: int, events: Sequence[EventEnvelope] = ()
    ) -> User:
        user = replace(self._require(tenant, user_id), email_verified=True, updated_at=now)
        self._users[(tenant, user_id)] = user
        self._commit(events)
        return user

    def delete(self, tenant: str, user_id: str, *, events: Sequence[EventEnvelope] = ()) -> User:
        user = self._require(tenant, user_id)
        del self._users[(tenant, user_id)]
        del self._emails[(tenant, user.email)]
        self._commit(events)
        return user

    def list_users(self, tenant: str, *, limit: int, cursor: str | None) -> UserPage:
        ids = sorted(uid for (t, uid) in self._users if t == tenant and (cursor is None or uid > cursor))
        page = [self._users[(tenant, uid)] for uid in ids[:limit]]
        return UserPage(page, page[-1].user_id if len(ids) > limit else None)

    def _commit(self, events: Sequence[EventEnvelope]) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def _require(self, tenant: str, user_id: str) -> User:
        user = self._users.get((tenant, user_id))
        if user is None:
            raise NotFound("no such user")
        return user
