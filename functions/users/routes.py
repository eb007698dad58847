"""The users API's routes (behind the Lambda authorizer): compose dependencies, call logic, shape
the response."""

from typing import Annotated

from echo_shared.identity.web import request_info
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from users.dependencies import CurrentCaller, Service
from users.logic import change_roles, delete_user, disable_user, list_users, lockout, me
from users.schemas import USER_ID, LockoutView, RolesChange, UserList, UserView, timestamp

UserId = Annotated[str, Path(pattern=USER_ID)]

router = APIRouter()


@router.get("/users/me")
def get_me(service: Service, caller: CurrentCaller) -> UserView:
    return UserView.of(me(service, caller))


@router.get("/users")
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


@router.post("/users/{user_id}/disable")
def post_disable(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> UserView:
    return UserView.of(disable_user(service, caller, user_id, request_info(request).request_id))


@router.put("/users/{user_id}/roles")
def put_roles(
    request: Request, service: Service, caller: CurrentCaller, user_id: UserId, body: RolesChange
) -> UserView:
    return UserView.of(change_roles(service, caller, user_id, body.roles, request_info(request).request_id))


@router.delete("/users/{user_id}", status_code=204)
def delete(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> Response:
    delete_user(service, caller, user_id, request_info(request).request_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/lockout")
def get_lockout(request: Request, service: Service, caller: CurrentCaller, user_id: UserId) -> LockoutView:
    state = lockout(service, caller, user_id, request_info(request).request_id)
    now = service.now()
    until = None if state.locked_until is None else timestamp(state.locked_until)
    return LockoutView(
        user_id=state.user_id, locked=state.is_locked(now), failures=state.failures, locked_until=until
    )
