"""Users API logic: everything is scoped to the caller's tenant, and administration is Cedar's
decision (`user:admin` on the tenant: the admin role *and* a token granted `users:admin`)."""

from dataclasses import dataclass

from echo_shared.authz.caller import Caller, DecidesChecks, decide_on_tenant
from echo_shared.identity.attempts import AttemptStore, account_key
from echo_shared.identity.claims import Role
from echo_shared.identity.consents import ConsentStore
from echo_shared.identity.errors import Conflict, Forbidden, InvalidInput, NotFound
from echo_shared.identity.events import IdentityEvent, IdentityEvents
from echo_shared.identity.users import User, UserPage, UserRepository, UserStatus, parse_roles
from echo_shared.timeutil import Clock

USER_ADMIN = "user:admin"


@dataclass(frozen=True, slots=True)
class UsersService:
    """The users API's collaborators, as ports (DynamoDB/outbox in dependencies.py, fakes in tests)."""

    users: UserRepository
    attempts: AttemptStore
    events: IdentityEvents
    clock: Clock
    authz: DecidesChecks
    consents: ConsentStore

    def now(self) -> int:
        return int(self.clock().timestamp())


@dataclass(frozen=True, slots=True)
class Lockout:
    user_id: str
    failures: int
    locked_until: int | None

    def is_locked(self, now: int) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _require_admin(service: UsersService, caller: Caller, request_id: str) -> None:
    if not decide_on_tenant(service.authz, caller, USER_ADMIN, request_id=request_id):
        raise Forbidden("administering users needs the admin role and a token granted users:admin")


def me(service: UsersService, caller: Caller) -> User:
    caller.require_user()
    user = service.users.get(caller.tenant, caller.subject)
    if user is None or not user.is_active:
        raise NotFound("no such user")
    return user


def list_users(
    service: UsersService, caller: Caller, *, limit: int, cursor: str | None, request_id: str
) -> UserPage:
    _require_admin(service, caller, request_id)
    return service.users.list_users(caller.tenant, limit=limit, cursor=cursor)


def _other_user(service: UsersService, caller: Caller, user_id: str, request_id: str) -> User:
    _require_admin(service, caller, request_id)
    if user_id == caller.subject:
        raise Conflict("admins cannot disable, delete or change the roles of their own account")
    user = service.users.get(caller.tenant, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def disable_user(service: UsersService, caller: Caller, user_id: str, request_id: str) -> User:
    _other_user(service, caller, user_id, request_id)
    disabled = service.events.build(
        IdentityEvent.USER_DISABLED,
        tenant=caller.tenant,
        actor=caller.actor,
        resource=f"user/{user_id}",
        request_id=request_id,
    )
    return service.users.set_status(
        caller.tenant, user_id, UserStatus.DISABLED, now=service.now(), events=[disabled]
    )


def requested_roles(values: list[str]) -> tuple[Role, ...]:
    """The roles an admin asks for: known ones, at least one; `guest` only alone (the guest forbids
    would otherwise silently cancel the other roles' permits)."""
    roles = parse_roles(values)
    if not roles:
        raise InvalidInput("at least one role is required")
    if Role.GUEST in roles and len(roles) > 1:
        raise InvalidInput("guest cannot be combined with another role")
    return roles


def change_roles(
    service: UsersService, caller: Caller, user_id: str, values: list[str], request_id: str
) -> User:
    """Promote or demote a user of the caller's tenant. Cedar decides (`user:admin`); the new roles
    take effect with the user's next token (the token service reads them at every issuance)."""
    user = _other_user(service, caller, user_id, request_id)
    roles = requested_roles(values)
    changed = service.events.build(
        IdentityEvent.USER_ROLES_CHANGED,
        tenant=caller.tenant,
        actor=caller.actor,
        resource=f"user/{user_id}",
        request_id=request_id,
        data={"roles": [role.value for role in roles], "previous_roles": list(user.role_names)},
    )
    return service.users.set_roles(caller.tenant, user_id, roles, now=service.now(), events=[changed])


def delete_user(service: UsersService, caller: Caller, user_id: str, request_id: str) -> None:
    """Removes the user's personal data (profile, email claim, lockout counter, consents). The audit
    chain keeps only `user/<id>` references, so it still verifies and holds nothing personal."""
    _other_user(service, caller, user_id, request_id)
    event = service.events.build(
        IdentityEvent.USER_DELETED,
        tenant=caller.tenant,
        actor=caller.actor,
        resource=f"user/{user_id}",
        request_id=request_id,
    )
    deleted = service.users.delete(caller.tenant, user_id, events=[event])
    service.attempts.reset(account_key(caller.tenant, deleted.email))
    service.consents.delete_user_consents(caller.tenant, user_id)


def lockout(service: UsersService, caller: Caller, user_id: str, request_id: str) -> Lockout:
    _require_admin(service, caller, request_id)
    user = service.users.get(caller.tenant, user_id)
    if user is None:
        raise NotFound("no such user")
    counter = service.attempts.get(account_key(caller.tenant, user.email))
    if counter is None:
        return Lockout(user_id, 0, None)
    return Lockout(user_id, counter.failures, counter.locked_until or None)
