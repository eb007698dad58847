"""Request and response models of the users API."""

from datetime import UTC, datetime

from echo_shared.identity.users import User
from echo_shared.timeutil import format_rfc3339
from pydantic import BaseModel, ConfigDict, Field

USER_ID = r"^[A-Za-z0-9_-]{1,64}$"


class UserView(BaseModel):
    id: str
    tenant: str
    email: str
    roles: list[str]
    status: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, user: User) -> "UserView":
        return cls(
            id=user.user_id,
            tenant=user.tenant,
            email=user.email,
            roles=list(user.role_names),
            status=user.status.value,
            created_at=timestamp(user.created_at),
            updated_at=timestamp(user.updated_at),
        )


class UserList(BaseModel):
    items: list[UserView]
    next_cursor: str | None


class RolesChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1, max_length=8)


class LockoutView(BaseModel):
    user_id: str
    locked: bool
    failures: int
    locked_until: str | None


def timestamp(epoch: int) -> str:
    return format_rfc3339(datetime.fromtimestamp(epoch, UTC))
