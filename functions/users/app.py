"""The users API routes (behind the Lambda authorizer)."""

from datetime import UTC, datetime
from typing import Annotated

from echo_shared.authz.caller import Caller, caller_from_event
from echo_shared.identity.users import User
from echo_shared.identity.web import lambda_event, request_info
from echo_shared.timeutil import format_rfc3339
from echo_shared.web import register_error_handlers
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from users.dependencies import get_service
from users.logic import change_roles, delete_user, disable_user, list_users, lockout, me
from users.service import UsersService

USER_ID = r"^[A-Za-z0-9_-]{1,64}$"

app = FastAPI(title="Echo users", docs_url=None, redoc_url=None, openapi_url=None)
register_error_handlers(app)

Service = Annotated[UsersService, Depends(get_service)]


def current_caller(request: Request) -> Caller:
    """API Gateway only invokes these routes after the authorizer allowed the token."""
    return caller_from_event(lambda_event(request))


CurrentCaller = Annotated[Caller, Depends(current_caller)]
UserId = Annotated[str, Path(pattern=USER_ID)]


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
            created_at=_timestamp(user.created_at),
            updated_at=_timestamp(user.updated_at),
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


def _timestamp(epoch: int) -> str:
    return format_rfc3339(datetime.fromtimestamp(epoch, UTC))


@app.get("/users/me")
def get_me(service: Service, caller: CurrentCaller) -> UserView:
    return UserView.of(me(service, caller))


@app.get("/users")
def get_users(
    request: Request,
    service: Service,
    caller: CurrentCaller,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(pattern=USER_ID)] = None,
) -> UserList:
    page = list_users(
        service, caller, limit=limit, cursor=cursor, request_id=request_info(request).request_id
    )
    return UserList(items=[UserView.of(user) for user in page.users], next_cursor=page.next_cursor)


@app.post("/users/{user_id}/disable")
def post_disable(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> UserView:
    return UserView.of(disable_user(service, caller, user_id, request_info(request).request_id))


@app.put("/users/{user_id}/roles")
def put_roles(
    request: Request, service: Service, caller: CurrentCaller, user_id: UserId, body: RolesChange
) -> UserView:
    return UserView.of(change_roles(service, caller, user_id, body.roles, request_info(request).request_id))


@app.delete("/users/{user_id}", status_code=204)
def delete(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> Response:
    delete_user(service, caller, user_id, request_info(request).request_id)
    return Response(status_code=204)


@app.get("/users/{user_id}/lockout")
def get_lockout(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> LockoutView:
    state = lockout(service, caller, user_id, request_info(request).request_id)
    now = service.now()
    until = None if state.locked_until is None else _timestamp(state.locked_until)
    return LockoutView(
        user_id=state.user_id, locked=state.is_locked(now), failures=state.failures, locked_until=until
    )
