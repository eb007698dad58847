"""Browser state: the pre-login transaction (CSRF token + pending authorization request) and the
session, each found through its cookie. Expired or dangling state reads as absent."""

import hmac
import secrets
from dataclasses import dataclass

from echo_shared.events import is_valid_tenant
from echo_shared.identity.grants import (
    AuthorizationRequest,
    LoginTransaction,
    Session,
    handle_digest,
    new_handle,
)
from echo_shared.identity.users import User

from login.logic import LoginService


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: Session
    user: User


def start_transaction(
    service: LoginService, *, tenant: str, request: AuthorizationRequest | None
) -> tuple[str, LoginTransaction]:
    """A fresh pre-login transaction; returns the cookie value (the only copy of the handle)."""
    if not is_valid_tenant(tenant):
        raise ValueError("invalid tenant")
    handle = new_handle()
    transaction = LoginTransaction(
        handle_hash=handle_digest(handle),
        csrf_token=secrets.token_urlsafe(32),
        tenant=tenant,
        request=request,
        expires_at=service.now() + service.login_ttl,
    )
    service.transactions.put_transaction(transaction)
    return handle, transaction


def current_transaction(service: LoginService, handle: str | None) -> LoginTransaction | None:
    if handle is None:
        return None
    transaction = service.transactions.get_transaction(handle_digest(handle))
    if transaction is None or transaction.expires_at <= service.now():
        return None
    return transaction


def csrf_matches(transaction: LoginTransaction | None, submitted: str | None) -> bool:
    """The form's token must equal the one stored for *this* browser's pre-login cookie."""
    if transaction is None or not submitted:
        return False
    return hmac.compare_digest(transaction.csrf_token.encode(), submitted.encode())


def current_session(service: LoginService, handle: str | None) -> SignedIn | None:
    if handle is None:
        return None
    session = service.sessions.get_session(handle_digest(handle))
    if session is None or session.expires_at <= service.now():
        return None
    user = service.users.get(session.tenant, session.user_id)
    if user is None or not user.is_active:
        return None
    return SignedIn(session, user)


def start_session(service: LoginService, user: User, *, replacing: str | None) -> tuple[str, Session]:
    """A new session handle on every sign-in (no fixation); the replaced one is deleted."""
    if replacing is not None:
        service.sessions.delete_session(handle_digest(replacing))
    handle = new_handle()
    now = service.now()
    session = Session(
        handle_hash=handle_digest(handle),
        tenant=user.tenant,
        user_id=user.user_id,
        auth_time=now,
        expires_at=now + service.session_ttl,
    )
    service.sessions.put_session(session)
    return handle, session
