"""Sign-in and registration, with brute-force defense.

Every failure gives the same message and costs the same argon2 verification whether or not the
account exists (a dummy hash stands in for unknown users), so neither the answer nor its timing
tells an attacker which emails have accounts. Each attempt is counted before its password is
checked, against three budgets (account + source, account, source; echo_shared.identity.attempts),
so parallel guesses cannot check more passwords than the budgets hold.
"""

from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial

from echo_shared.authz.caller import user_actor
from echo_shared.events import Outcome
from echo_shared.identity.attempts import (
    ACCOUNT_POLICY,
    ACCOUNT_SOURCE_POLICY,
    SOURCE_POLICY,
    AttemptBudgetSpent,
    AttemptCounter,
    AttemptPolicy,
    account_key,
    account_source_key,
    source_key,
)
from echo_shared.identity.claims import Role
from echo_shared.identity.errors import EmailTaken, InvalidInput
from echo_shared.identity.events import ANONYMOUS, IdentityEvent
from echo_shared.identity.passwords import MAX_PASSWORD_LENGTH, check_password_policy
from echo_shared.identity.users import User, UserStatus, new_user_id, normalize_email
from echo_shared.identity.web import RequestInfo

from login.logic import LoginService
from login.logic.email_verification import send_verification

SIGN_IN_FAILED = "Incorrect email or password."
LOCKED_OUT = "Too many attempts. Wait a moment, then try again."
# A self-registered user is a guest until an admin promotes them (baseline.guest-* in Cedar).
DEFAULT_ROLE = Role.GUEST


class SignInFailed(Exception):
    """The one message every failed sign-in gets."""


class TemporarilyLocked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("temporarily locked")
        self.retry_after = retry_after


class RegistrationRefused(Exception):
    """A message safe to show on the registration page."""


@dataclass(frozen=True, slots=True)
class _Reserved:
    """The units one sign-in attempt took; the account+source one is what a success resets."""

    account_source: AttemptCounter
    account: AttemptCounter
    source: AttemptCounter


def sign_in(service: LoginService, *, tenant: str, email: str, password: str, request: RequestInfo) -> User:
    now = service.now()
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        normalized = None
    reserved = _reserve_attempt(
        service, tenant=tenant, email=normalized or email.strip().lower()[:254], request=request, now=now
    )
    user = None if normalized is None else service.users.find_by_email(tenant, normalized)
    if user is None:
        service.hasher.verify_dummy(password)
        matches, rehash = False, None
    else:
        matches, rehash = service.hasher.verify(password, user.password_hash)
    if user is not None and matches and user.is_active:
        # A success clears only its own key; the wider budgets get their unit back (they count
        # failures), so a stranger's failures elsewhere are neither wiped nor charged to this user.
        service.attempts.reset(reserved.account_source.key)
        service.attempts.release(reserved.account)
        service.attempts.release(reserved.source)
        if rehash is not None:
            service.users.update_password_hash(tenant, user.user_id, rehash, now=now)
        service.events.emit(
            IdentityEvent.USER_LOGGED_IN,
            tenant=tenant,
            actor=user_actor(user.user_id),
            resource=f"user/{user.user_id}",
            request_id=request.request_id,
        )
        return user
    reason = "unknown_user" if user is None else "disabled" if matches else "wrong_password"
    _record_failure(
        service, tenant=tenant, user=user, reserved=reserved, reason=reason, request=request, now=now
    )
    raise SignInFailed(SIGN_IN_FAILED)


def _reserve_attempt(
    service: LoginService, *, tenant: str, email: str, request: RequestInfo, now: int
) -> _Reserved:
    """One unit of each budget, or TemporarilyLocked with nothing taken."""
    budgets: tuple[tuple[str, AttemptPolicy], ...] = (
        (source_key(request.source_ip), SOURCE_POLICY),
        (account_source_key(tenant, email, request.source_ip), ACCOUNT_SOURCE_POLICY),
        (account_key(tenant, email), ACCOUNT_POLICY),
    )
    taken: list[AttemptCounter] = []
    for key, policy in budgets:
        try:
            taken.append(service.attempts.reserve(key, now=now, policy=policy))
        except AttemptBudgetSpent as spent:
            for counter in taken:
                service.attempts.release(counter)
            raise TemporarilyLocked(retry_after=max(spent.counter.window_ends_at - now, 1)) from None
    source, account_source, account = taken
    return _Reserved(account_source=account_source, account=account, source=source)


def _refuse_if_locked(counter: AttemptCounter | None, now: int) -> None:
    if counter is not None and counter.is_locked(now):
        raise TemporarilyLocked(retry_after=max(counter.window_ends_at - now, 1))


def _record_failure(
    service: LoginService,
    *,
    tenant: str,
    user: User | None,
    reserved: _Reserved,
    reason: str,
    request: RequestInfo,
    now: int,
) -> None:
    """The attempt was counted already; a failure only keeps its units and tells the bus."""
    actor = ANONYMOUS if user is None else user_actor(user.user_id)
    resource = "user/unknown" if user is None else f"user/{user.user_id}"
    emit = partial(
        service.events.emit, tenant=tenant, actor=actor, resource=resource, request_id=request.request_id
    )
    emit(
        IdentityEvent.USER_LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        data={"reason": reason, "failures": reserved.account.attempts},
    )
    for scope, counter in (("account_source", reserved.account_source), ("account", reserved.account)):
        if counter.exhausted():
            emit(
                IdentityEvent.USER_LOCKED_OUT,
                outcome=Outcome.DENIED,
                data={
                    "scope": scope,
                    "failures": counter.attempts,
                    "locked_seconds": counter.window_ends_at - now,
                },
            )


def register(service: LoginService, *, tenant: str, email: str, password: str, request: RequestInfo) -> User:
    now = service.now()
    _refuse_if_locked(service.attempts.get(source_key(request.source_ip)), now)
    try:
        normalized = normalize_email(email)
        check_password_policy(password[: MAX_PASSWORD_LENGTH + 1], email=normalized)
    except InvalidInput as exc:
        raise RegistrationRefused(str(exc)) from None
    user = User(
        tenant=tenant,
        user_id=new_user_id(),
        email=normalized,
        password_hash=service.hasher.hash(password),
        roles=(DEFAULT_ROLE,),
        status=UserStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    registered = service.events.build(
        IdentityEvent.USER_REGISTERED,
        tenant=tenant,
        actor=user_actor(user.user_id),
        resource=f"user/{user.user_id}",
        request_id=request.request_id,
        data={"roles": list(user.role_names)},
    )
    try:
        service.users.create(user, events=[registered])
    except EmailTaken:
        # Registration necessarily tells whether an email is taken; the IP counter slows harvesting.
        # A spent budget is already locked: the next request is refused anyway.
        with suppress(AttemptBudgetSpent):
            service.attempts.reserve(source_key(request.source_ip), now=now, policy=SOURCE_POLICY)
        raise RegistrationRefused("An account with this email already exists. Sign in instead.") from None
    send_verification(service, user, request_id=request.request_id)
    return replace(user, password_hash="")
