"""What the web app does: sign in and out, keep sessions alive, call Echo's APIs for the user.

Handler -> routes -> these functions -> ports (session store, OIDC client, HTTP transport).
"""

import contextlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from echo_shared.events import is_valid_tenant

from web.errors import ApiRefused, BackendUnavailable, BadInput, CsrfRejected, NotSignedIn, SignInFailed
from web.oidc import OidcClient, RefreshRejected, SignInRejected, pkce_pair
from web.sessions import (
    PendingLogin,
    SessionStore,
    SessionStoreUnavailable,
    WebSession,
    handle_digest,
    new_handle,
)
from web.settings import WebSettings
from web.transport import HttpTransport, UpstreamUnavailable

# Refresh a little before expiry, so a token never dies between the check and the API call.
REFRESH_MARGIN_SECONDS = 60
# Writing last-seen on every request would double the writes; a minute's precision is enough.
TOUCH_EVERY_SECONDS = 60
MAX_HANDLE_LENGTH = 128
ADMIN_ACTIONS = ("user:admin", "policy:admin", "log:read", "audit:verify")


@dataclass(frozen=True)
class WebService:
    settings: WebSettings
    store: SessionStore
    oidc: OidcClient
    transport: HttpTransport
    now: Callable[[], int]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What Cedar allows this user on their tenant, asked through /authz/batch with their token."""

    users: bool
    policies: bool
    logs: bool
    verify: bool

    @property
    def any_admin(self) -> bool:
        return self.users or self.policies or self.logs


def safe_return_to(settings: WebSettings, value: str | None) -> str:
    """Only a path of this app (no scheme, host or `//`) may be returned to after sign-in."""
    default = settings.base_path + "documents"
    if not value or len(value) > 512 or not value.startswith(settings.base_path) or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return default
    return value


def start_sign_in(service: WebService, tenant: str, return_to: str | None) -> tuple[str, str]:
    """A pending sign-in (state, nonce, PKCE verifier) bound to a new browser handle; the URL to go to."""
    if not is_valid_tenant(tenant):
        raise BadInput("Enter your organisation's Echo tenant id.")
    verifier, challenge = pkce_pair()
    handle = new_handle()
    pending = PendingLogin(
        handle_hash=handle_digest(handle),
        tenant=tenant,
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=verifier,
        return_to=safe_return_to(service.settings, return_to),
        expires_at=service.now() + service.settings.login_ttl_seconds,
    )
    _store(lambda: service.store.put_pending(pending))
    return handle, service.oidc.authorization_url(
        client_id=service.settings.client_id(tenant),
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=challenge,
    )


def finish_sign_in(
    service: WebService, login_handle: str | None, params: Mapping[str, str]
) -> tuple[str, WebSession, str]:
    """Redeem the pending sign-in once: state must match, the code is exchanged, the ID token verified."""
    if not login_handle or len(login_handle) > MAX_HANDLE_LENGTH:
        raise SignInFailed("This sign-in has expired. Start again.")
    pending = _store(lambda: service.store.take_pending(handle_digest(login_handle)))
    if pending is None:
        raise SignInFailed("This sign-in has expired or was already used. Start again.")
    state = params.get("state", "")
    if not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise SignInFailed("The sign-in answer does not belong to this browser. Start again.")
    if params.get("error"):
        raise SignInFailed("The identity service did not sign you in. Start again.")
    code = params.get("code", "")
    if not code or len(code) > 512:
        raise SignInFailed("The sign-in answer has no code. Start again.")
    try:
        client_id = service.settings.client_id(pending.tenant)
        tokens = service.oidc.exchange_code(client_id, code, pending.code_verifier)
        assert tokens.id_token is not None
        identity = service.oidc.verify_id_token(
            tokens.id_token, client_id=client_id, nonce=pending.nonce, access_token=tokens.access_token
        )
        if identity.tenant != pending.tenant:
            raise SignInRejected("id_token_tenant")
    except SignInRejected as exc:
        raise SignInFailed(
            f"The identity service's answer was refused ({exc.reason}). Start again."
        ) from None
    except UpstreamUnavailable as exc:
        raise BackendUnavailable("The identity service is unreachable, retry later.") from exc
    now = service.now()
    handle = new_handle()
    session = WebSession(
        handle_hash=handle_digest(handle),
        tenant=identity.tenant,
        user_id=identity.subject,
        email=identity.email,
        csrf_token=secrets.token_urlsafe(32),
        access_token=tokens.access_token,
        access_expires_at=now + tokens.expires_in,
        refresh_token=tokens.refresh_token,
        id_token=tokens.id_token,
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=now + service.settings.session_absolute_seconds,
    )
    _save(service, session)
    return handle, session, pending.return_to


def current_session(service: WebService, handle: str | None) -> WebSession:
    """The live session of this cookie (idle and absolute timeouts enforced), its tokens fresh."""
    if not handle or len(handle) > MAX_HANDLE_LENGTH:
        raise NotSignedIn("Sign in to continue.")
    session = _store(lambda: service.store.get_session(handle_digest(handle)))
    now = service.now()
    if session is None or session.expires_at(service.settings.session_idle_seconds) <= now:
        raise NotSignedIn("Your session has ended. Sign in again.")
    changed = session
    if now - session.last_seen_at >= TOUCH_EVERY_SECONDS:
        changed = replace(changed, last_seen_at=now)
    if session.access_expires_at - REFRESH_MARGIN_SECONDS <= now:
        changed = _refreshed(service, changed)
    if changed is not session:
        _save(service, changed)
    return changed


def require_csrf(session: WebSession, token: str | None, origin: str | None, settings: WebSettings) -> None:
    """Same-origin (when the browser says where it comes from) and the session's own CSRF token."""
    if origin is not None and origin != settings.origin:
        raise CsrfRejected("This request comes from another site.")
    if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise CsrfRejected("This form has expired or lacks its security token. Reload the page.")


def sign_out(service: WebService, session: WebSession) -> str:
    """End the app session, revoke the refresh token, and hand over to the identity's logout."""
    _store(lambda: service.store.delete_session(session.handle_hash))
    if session.refresh_token:
        # The session is gone either way; an unrevoked refresh token's family expires on its own.
        with contextlib.suppress(UpstreamUnavailable):
            service.oidc.revoke(service.settings.client_id(session.tenant), session.refresh_token)
    return service.oidc.logout_url(
        client_id=service.settings.client_id(session.tenant),
        id_token=session.id_token,
        post_logout_redirect_uri=service.settings.post_logout_redirect_uri,
    )


def call_api(
    service: WebService,
    session: WebSession,
    method: str,
    path: str,
    *,
    query: Mapping[str, str | None] | None = None,
    body: Any = None,
) -> Any:
    """Call an Echo API through the gateway with the user's access token; typed errors pass through."""
    query_string = urlencode({k: v for k, v in (query or {}).items() if v not in (None, "")}, quote_via=quote)
    url = service.settings.api_url + path.lstrip("/") + (f"?{query_string}" if query_string else "")
    headers = {"Authorization": f"Bearer {session.access_token}", "Accept": "application/json"}
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body).encode("utf-8")
    try:
        response = service.transport.send(method, url, headers=headers, body=payload)
    except UpstreamUnavailable as exc:
        raise BackendUnavailable("An Echo service is unreachable, retry later.") from exc
    answer = response.json()
    if 200 <= response.status < 300:
        return answer
    if response.status == 401:
        raise NotSignedIn("Your sign-in is no longer valid. Sign in again.")
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "error")), str(error.get("message", ""))
    elif isinstance(answer, dict) and isinstance(answer.get("message"), str):
        code, message = "error", answer["message"]
    else:
        code, message = "error", ""
    raise ApiRefused(
        response.status, code[:64], message[:500] or f"The request was refused ({response.status})."
    )


def capabilities(service: WebService, session: WebSession) -> Capabilities:
    """Ask Cedar (never the roles) which administration this user may do on their tenant."""
    requests = [
        {
            "principal": {"type": "User", "id": session.user_id},
            "action": action,
            "resource": {"type": "Tenant", "id": session.tenant},
        }
        for action in ADMIN_ACTIONS
    ]
    try:
        answer = call_api(service, session, "POST", "authz/batch", body={"requests": requests})
    except ApiRefused:
        return Capabilities(users=False, policies=False, logs=False, verify=False)
    decisions = answer.get("decisions") if isinstance(answer, dict) else None
    if not isinstance(decisions, list) or len(decisions) != len(ADMIN_ACTIONS):
        return Capabilities(users=False, policies=False, logs=False, verify=False)
    allowed = [isinstance(d, dict) and d.get("decision") == "allow" for d in decisions]
    return Capabilities(users=allowed[0], policies=allowed[1], logs=allowed[2], verify=allowed[3])


def _refreshed(service: WebService, session: WebSession) -> WebSession:
    if not session.refresh_token:
        raise NotSignedIn("Your sign-in has expired. Sign in again.")
    try:
        tokens = service.oidc.refresh(service.settings.client_id(session.tenant), session.refresh_token)
    except RefreshRejected:
        _store(lambda: service.store.delete_session(session.handle_hash))
        raise NotSignedIn("Your sign-in has expired. Sign in again.") from None
    except UpstreamUnavailable as exc:
        raise BackendUnavailable("The identity service is unreachable, retry later.") from exc
    return session.with_tokens(
        tokens.access_token, service.now() + tokens.expires_in, tokens.refresh_token or session.refresh_token
    )


def _save(service: WebService, session: WebSession) -> None:
    expires_at = session.expires_at(service.settings.session_idle_seconds)
    _store(lambda: service.store.put_session(session, expires_at=expires_at))


def _store[T](action: Callable[[], T]) -> T:
    try:
        return action()
    except SessionStoreUnavailable as exc:
        raise BackendUnavailable("Sessions are unavailable right now, retry later.") from exc
