"""Users: belong to one tenant, are found by normalized email, carry roles as data."""

import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from echo_shared.identity.claims import Role
from echo_shared.identity.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope  # annotations only: no pydantic import here


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class User:
    tenant: str
    user_id: str
    email: str
    password_hash: str
    roles: tuple[Role, ...]
    status: UserStatus = UserStatus.ACTIVE
    created_at: int = 0
    updated_at: int = 0
    email_verified: bool = False

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.value for role in self.roles)


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    next_cursor: str | None = field(default=None)


def new_user_id() -> str:
    return f"usr_{secrets.token_hex(12)}"


def parse_roles(values: Iterable[str]) -> tuple[Role, ...]:
    try:
        roles = {Role(value) for value in values}
    except ValueError:
        raise InvalidInput("unknown role") from None
    return tuple(sorted(roles))


def normalize_email(raw: str) -> str:
    """NFKC, trimmed, lower-cased; one `@`, no whitespace or controls, RFC 5321 lengths.

    Emails are identifiers here, so the whole address is case-folded: `Alice@Example.COM` and
    `alice@example.com` are one account. No provider-specific rewriting (dots, plus tags).
    """
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or email.count("@") != 1:
        raise InvalidInput("enter a valid email address")
    local, domain = email.split("@")
    if not local or not domain or len(local) > MAX_LOCAL_PART_LENGTH:
        raise InvalidInput("enter a valid email address")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in email):
        raise InvalidInput("enter a valid email address")
    labels = domain.split(".")
    if len(labels) < 2 or any(not label or label.startswith("-") or label.endswith("-") for label in labels):
        raise InvalidInput("enter a valid email address")
    return email


class UserRepository(Protocol):
    def get(self, tenant: str, user_id: str) -> User | None: ...

    def find_by_email(self, tenant: str, email: str) -> User | None:
        """`email` must already be normalized."""
        ...

    def create(self, user: User, *, events: Sequence["EventEnvelope"] = ()) -> None:
        """Raises EmailTaken if the tenant already has a user with this email (atomic).

        Every state change takes the `events` that report it: they are written with the change,
        in one transaction (the outbox, ADR 0014), or neither is."""
        ...

    def update_password_hash(self, tenant: str, user_id: str, password_hash: str, *, now: int) -> None: ...

    def set_status(
        self,
        tenant: str,
        user_id: str,
        status: UserStatus,
        *,
        now: int,
        events: Sequence["EventEnvelope"] = (),
    ) -> User:
        """Raises NotFound."""
        ...

    def set_roles(
        self,
        tenant: str,
        user_id: str,
        roles: tuple[Role, ...],
        *,
        now: int,
        events: Sequence["EventEnvelope"] = (),
    ) -> User:
        """Replace the user's roles; raises NotFound."""
        ...

    def mark_email_verified(
        self, tenant: str, user_id: str, *, now: int, events: Sequence["EventEnvelope"] = ()
    ) -> User:
        """Record that the user proved they receive mail at their email; raises NotFound."""
        ...

    def delete(self, tenant: str, user_id: str, *, events: Sequence["EventEnvelope"] = ()) -> User:
        """Removes the user and its email claim (personal data); raises NotFound."""
        ...

    def list_users(self, tenant: str, *, limit: int, cursor: str | None) -> UserPage: ...
