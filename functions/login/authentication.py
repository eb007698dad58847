"""Sign-in and registration, with brute-force defense.

Every failure gives the same message and costs the same argon2 verification whether or not the
account exists (a dummy hash stands in for unknown users), so neither the answer nor its timing
tells an attacker which emails have accounts. Counters per account (keyed by the normalized
email, known or not) and per source IP lock out with exponential backoff.
"""

from dataclasses import replace

from echo_shared.authz.caller import user_actor
from echo_shared.events import Outcome
from echo_shared.identity.attempts import ACCOUNT_POLICY, IP_POLICY, AttemptCounter, account_key, ip_key
from echo_shared.identity.claims import Role
from echo_shared.identity.errors import EmailTaken, InvalidInput
from echo_shared.identity.events import ANONYMOUS, IdentityEvent
from echo_shared.identity.passwords import MAX_PASSWORD_LENGTH, check_password_policy
from echo_shared.identity.users import User, UserStatus, new_user_id, normalize_email
from echo_shared.identity.web import RequestInfo

from login.service import LoginService

SIGN_IN_FAILED = "Incorrect email or password."
LOCKED_OUT = "Too many attempts. Wait a moment, then try again."
DEFAULT_ROLE = Role.MEMBER


class SignInFailed(Exception):
    """The one message every failed sign-in gets."""


class TemporarilyLocked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("temporarily locked")
        self.retry_after = retry_after


class RegistrationRefused(Exception):
    """A message safe to show on the registration page."""


def sign_in(service: LoginService, *, tenant: str, email: str, password: str, request: RequestInfo) -> User:
    now = service.now()
    _refuse_if_locked(service.attempts.get(ip_key(request.source_ip)), now)
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        normalized = None
    account = account_key(tenant, normalized or email.strip().lower()[:254])
    _refuse_if_locked(service.attempts.get(account), now)
    user = None if normalized is None else service.users.find_by_email(tenant, normalized)
    if user is None:
        service.hasher.verify_dummy(password)
        matches, rehash = False, None
    else:
        matches, rehash = service.hasher.verify(password, user.password_hash)
    if user is not None and matches and user.is_active:
        service.attempts.reset(account)
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
        service, tenant=tenant, user=user, account=account, reason=reason, request=request, now=now
    )
    raise SignInFailed(SIGN_IN_FAILED)


def _refuse_if_locked(counter: AttemptCounter | None, now: int) -> None:
    if counter is not None and counter.is_locked(now):
        raise TemporarilyLocked(retry_after=counter.locked_until - now)


def _record_failure(
    service: LoginService,
    *,
    tenant: str,
    user: User | None,
    account: str,
    reason: str,
    request: RequestInfo,
    now: int,
) -> None:
    actor = ANONYMOUS if user is None else user_actor(user.user_id)
    resource = "user/unknown" if user is None else f"user/{user.user_id}"
    counter = service.attempts.record_failure(account, now=now, policy=ACCOUNT_POLICY)
    service.attempts.record_failure(ip_key(request.source_ip), now=now, policy=IP_POLICY)
    service.events.emit(
        IdentityEvent.USER_LOGIN_FAILED,
        tenant=tenant,
        actor=actor,
        resource=resource,
        request_id=request.request_id,
        outcome=Outcome.FAILURE,
        data={"reason": reason, "failures": counter.failures},
    )
    if counter.is_locked(now):
        service.events.emit(
            IdentityEvent.USER_LOCKED_OUT,
            tenant=tenant,
            actor=actor,
            resource=resource,
            request_id=request.request_id,
            outcome=Outcome.DENIED,
            data={"failures": counter.failures, "locked_seconds": counter.locked_until - now},
        )


def register(service: LoginService, *, tenant: str, email: str, password: str, request: RequestInfo) -> User:
    now = service.now()
    _refuse_if_locked(service.attempts.get(ip_key(request.source_ip)), now)
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
    try:
        service.users.create(user)
    except EmailTaken:
        # Registration necessarily tells whether an email is taken; the IP counter slows harvesting.
        service.attempts.record_failure(ip_key(request.source_ip), now=now, policy=IP_POLICY)
        raise RegistrationRefused("An account with this email already exists. Sign in instead.") from None
    service.events.emit(
        IdentityEvent.USER_REGISTERED,
        tenant=tenant,
        actor=user_actor(user.user_id),
        resource=f"user/{user.user_id}",
        request_id=request.request_id,
        data={"roles": list(user.role_names)},
    )
    return replace(user, password_hash="")
