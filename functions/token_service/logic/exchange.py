"""The token endpoint's grants: authorization_code (+PKCE), refresh_token (rotation with reuse
detection), client_credentials. Each returns a TokenResponse or raises an OAuthError."""

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from echo_shared.authz.caller import client_actor, user_actor
from echo_shared.events import EventEnvelope, Outcome
from echo_shared.identity.claims import PrincipalType, format_scope, parse_scope
from echo_shared.identity.clients import GrantType, OAuthClient
from echo_shared.identity.consents import consent_still_given
from echo_shared.identity.errors import (
    CodeReplayed,
    FamilyRevoked,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    NotFound,
    RefreshTokenReused,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from echo_shared.identity.events import IdentityEvent
from echo_shared.identity.grants import (
    AuthorizationCode,
    IssuedTokens,
    NewFamily,
    RefreshFamily,
    RefreshToken,
    handle_digest,
    live_access_tokens,
    new_handle,
    new_successor_salt,
    successor_handle,
)
from echo_shared.identity.users import User
from echo_shared.identity.web import RequestInfo
from pydantic import JsonValue

from token_service.logic import TokenService
from token_service.logic.client_auth import authenticate_client, read_client_credentials
from token_service.logic.issuance import AccessToken, new_jti

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
# RFC 7636 §4.1: 43..128 unreserved characters.
_CODE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
MAX_HANDLE_LENGTH = 512
# Two refreshes of one token this close together (two tabs, a retry) get the same successor.
REFRESH_GRACE_SECONDS = 30


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: tuple[str, ...]
    id_token: str | None = None
    refresh_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": format_scope(self.scope),
        }
        if self.id_token is not None:
            body["id_token"] = self.id_token
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


def token_endpoint(
    service: TokenService, params: dict[str, str], authorization: str | None, request: RequestInfo
) -> TokenResponse:
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    try:
        grant = GrantType(grant_type)
    except ValueError:
        raise UnsupportedGrantType("this grant type is not supported") from None
    client = authenticate_client(
        read_client_credentials(params, authorization), service.clients, service.client_secrets
    )
    if not client.allows_grant(grant):
        raise UnauthorizedClient("the client may not use this grant type")
    _check_resource(service, params)
    match grant:
        case GrantType.AUTHORIZATION_CODE:
            return exchange_code(service, client, params, request)
        case GrantType.REFRESH_TOKEN:
            return refresh(service, client, params, request)
        case GrantType.CLIENT_CREDENTIALS:
            return client_credentials(service, client, params, request)


def _check_resource(service: TokenService, params: dict[str, str]) -> None:
    """Resource indicators (RFC 8707): Echo's API is one resource server (ADR 0012), so the only
    resource a token can be minted for is its audience; any other is refused, never ignored."""
    resource = params.get("resource")
    if resource is not None and resource != service.issuer.audience:
        raise InvalidTarget("tokens are issued for this server's API only")


def pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise InvalidRequest(f"{name} is required")
    if len(value) > MAX_HANDLE_LENGTH:
        raise InvalidRequest(f"{name} is too long")
    return value


def exchange_code(
    service: TokenService, client: OAuthClient, params: dict[str, str], request: RequestInfo
) -> TokenResponse:
    code = _required(params, "code")
    redirect_uri = _required(params, "redirect_uri")
    verifier = params.get("code_verifier")
    if not verifier or not _CODE_VERIFIER.fullmatch(verifier):
        raise InvalidRequest("a code_verifier of 43-128 unreserved characters is required (PKCE)")
    now = service.now()
    code_hash = handle_digest(code)
    # Validate against the stored code BEFORE consuming it: a party holding someone else's code
    # (without that client's credentials, redirect URI and verifier) cannot burn it.
    found = service.codes.find_code(code_hash)
    if found is None:
        raise InvalidGrant("the authorization code is invalid")
    _check_code_request(found.code, client, redirect_uri, verifier)
    resource = params.get("resource")
    if resource is not None and found.code.resource is not None and resource != found.code.resource:
        # RFC 8707 §2.2: the token request may only name the resource the code was issued for.
        raise InvalidTarget("the resource differs from the one of the authorization request")
    if found.issued is not None:
        _revoke_replayed_code(
            service,
            CodeReplayed(
                found.issued.family_id, found.issued.access_jti or None, found.issued.access_exp or None
            ),
            client,
            request,
            now,
        )
        raise InvalidGrant("the authorization code was already used")
    if found.code.expires_at <= now:
        raise InvalidGrant("the authorization code expired")
    if not consented(service, client, found.code.tenant, found.code.user_id, found.code.scope, since=now):
        raise InvalidGrant("the user withdrew their consent to this application")
    # The ids of what this exchange will issue are recorded with the redemption itself, so that
    # a replay, however soon, finds them and revokes them.
    issued = IssuedTokens(
        access_jti=new_jti(),
        access_exp=service.issuer.access_token_expiry(now),
        # Only a client allowed refresh tokens gets one, and only when `offline_access` was granted.
        family_id=secrets.token_urlsafe(16) if client.allows_grant(GrantType.REFRESH_TOKEN) else None,
    )
    stored = found.code
    user = _active_user(service, stored.tenant, stored.user_id)
    access, id_token = _user_tokens(
        service, client, user, stored.scope, auth_time=stored.auth_time, nonce=stored.nonce, now=now,
        jti=issued.access_jti, expires_at=issued.access_exp,
    )  # fmt: skip
    refresh_token = None
    family = None
    if issued.family_id is not None and OFFLINE_ACCESS in stored.scope:
        refresh_token = new_handle()
        expires_at = now + service.refresh_token_ttl
        family = NewFamily(
            RefreshFamily(
                family_id=issued.family_id,
                tenant=user.tenant,
                user_id=user.user_id,
                client_id=client.client_id,
                scope=stored.scope,
                auth_time=stored.auth_time,
                created_at=now,
                expires_at=expires_at,
                access_tokens={access.jti: access.expires_at},
            ),
            RefreshToken(handle_digest(refresh_token), issued.family_id, expires_at),
        )
    issued_event = _token_event(
        service, IdentityEvent.TOKEN_ISSUED, client, access, stored.scope, request,
        tenant=user.tenant, actor=user_actor(user.user_id),
        grant_type=GrantType.AUTHORIZATION_CODE.value, family_id=issued.family_id,
    )  # fmt: skip
    # One transaction: the code is spent, the refresh family starts and token.issued is in the
    # outbox together, or none of them (ADR 0014); the tokens signed above are never handed out then.
    try:
        service.codes.redeem_code(code_hash, now=now, issued=issued, family=family, events=[issued_event])
    except NotFound:
        raise InvalidGrant("the authorization code is invalid") from None
    except CodeReplayed as replay:
        # A concurrent redemption of the same (valid) request won the race.
        _revoke_replayed_code(service, replay, client, request, now)
        raise InvalidGrant("the authorization code was already used") from None
    return TokenResponse(access.token, access.expires_at - now, stored.scope, id_token, refresh_token)


def refresh(
    service: TokenService, client: OAuthClient, params: dict[str, str], request: RequestInfo
) -> TokenResponse:
    presented = _required(params, "refresh_token")
    now = service.now()
    found = service.refresh_tokens.find(handle_digest(presented))
    if found is None:
        raise InvalidGrant("the refresh token is invalid")
    token, family = found
    if family.client_id != client.client_id:
        raise InvalidGrant("the refresh token was issued to another client")
    if not consented(service, client, family.tenant, family.user_id, family.scope, since=family.created_at):
        # The user revoked this application: its offline access ends with the family.
        if family.revoked_at is None:
            revoke_family(service, family.family_id, now=now)
        raise InvalidGrant("the user withdrew their consent to this application")
    if token.rotated_at is not None:
        return _refresh_in_grace(service, client, params, request, presented, token, family, now)
    if family.revoked_at is not None or token.expires_at <= now or family.expires_at <= now:
        raise InvalidGrant("the refresh token is no longer valid")
    scope = _refresh_scope(params, family)
    user = _active_user(service, family.tenant, family.user_id)
    access, id_token = _user_tokens(
        service, client, user, scope, auth_time=family.auth_time, nonce=None, now=now
    )
    salt = new_successor_salt()
    rotated = successor_handle(presented, salt)
    refreshed = _token_event(
        service, IdentityEvent.TOKEN_REFRESHED, client, access, scope, request,
        tenant=family.tenant, actor=user_actor(family.user_id), family_id=family.family_id, grace=False,
    )  # fmt: skip
    try:
        # The rotation and its token.refreshed commit together (the outbox, ADR 0014).
        service.refresh_tokens.rotate(
            token.token_hash,
            RefreshToken(handle_digest(rotated), family.family_id, family.expires_at),
            now=now,
            access_jti=access.jti,
            access_exp=access.expires_at,
            successor_salt=salt,
            events=[refreshed],
        )
    except RefreshTokenReused:
        # A concurrent refresh of the same token won the race: ours joins its rotation, within the
        # grace window (or is a reuse, outside it).
        service.revocations.revoke(access.jti, expires_at=access.expires_at)
        again = service.refresh_tokens.find(token.token_hash)
        if again is None:
            raise InvalidGrant("the refresh token is no longer valid") from None
        return _refresh_in_grace(service, client, params, request, presented, *again, now)
    except FamilyRevoked:
        service.revocations.revoke(access.jti, expires_at=access.expires_at)
        raise InvalidGrant("the refresh token is no longer valid") from None
    return TokenResponse(access.token, access.expires_at - now, scope, id_token, rotated)


def _refresh_in_grace(
    service: TokenService,
    client: OAuthClient,
    params: dict[str, str],
    request: RequestInfo,
    presented: str,
    token: RefreshToken,
    family: RefreshFamily,
    now: int,
) -> TokenResponse:
    """An already-rotated token: within REFRESH_GRACE_SECONDS of its rotation, and while its
    successor is still the family's live token, it gets that same successor (two tabs, a retry);
    otherwise it is a reuse and the whole family is revoked."""
    successor = None
    in_grace = token.rotated_at is not None and now - token.rotated_at <= REFRESH_GRACE_SECONDS
    if in_grace and token.successor_salt is not None:
        successor = successor_handle(presented, token.successor_salt)
    current = None if successor is None else service.refresh_tokens.find(handle_digest(successor))
    if successor is None or current is None or current[0].rotated_at is not None:
        if family.revoked_at is None:
            revoke_family(service, family.family_id, now=now)
            _emit_reuse(service, family, request, grant=GrantType.REFRESH_TOKEN)
        raise InvalidGrant("the refresh token was already used")
    if family.revoked_at is not None or family.expires_at <= now:
        raise InvalidGrant("the refresh token is no longer valid")
    scope = _refresh_scope(params, family)
    user = _active_user(service, family.tenant, family.user_id)
    access, id_token = _user_tokens(
        service, client, user, scope, auth_time=family.auth_time, nonce=None, now=now
    )
    try:
        service.refresh_tokens.record_access_token(
            family.family_id, now=now, access_jti=access.jti, access_exp=access.expires_at
        )
    except FamilyRevoked:
        service.revocations.revoke(access.jti, expires_at=access.expires_at)
        raise InvalidGrant("the refresh token is no longer valid") from None
    return _refreshed(service, client, family, scope, (access, id_token), successor, request, now, grace=True)


def _requested_scope(params: dict[str, str]) -> tuple[str, ...] | None:
    if "scope" not in params:
        return None
    try:
        return parse_scope(params["scope"])
    except ValueError:
        raise InvalidScope("the scope is malformed") from None


def _refresh_scope(params: dict[str, str], family: RefreshFamily) -> tuple[str, ...]:
    scope = _requested_scope(params)
    if scope is None:
        return family.scope
    if not set(scope) <= set(family.scope):
        raise InvalidScope("a refresh can only narrow the original scope")
    return scope


def _user_tokens(
    service: TokenService,
    client: OAuthClient,
    user: User,
    scope: tuple[str, ...],
    *,
    auth_time: int,
    nonce: str | None,
    now: int,
    jti: str | None = None,
    expires_at: int | None = None,
) -> tuple[AccessToken, str | None]:
    """The access token of a user grant, and its ID token when `openid` was granted."""
    access = service.issuer.access_token(
        subject=user.user_id,
        client_id=client.client_id,
        tenant=user.tenant,
        roles=user.role_names,
        scope=scope,
        principal_type=PrincipalType.USER,
        now=now,
        jti=jti,
        expires_at=expires_at,
    )
    id_token = None
    if OPENID in scope:
        id_token = service.issuer.id_token(
            user=user,
            client_id=client.client_id,
            auth_time=auth_time,
            nonce=nonce,
            access_token=access.token,
            now=now,
            scope=scope,
        )
    return access, id_token


def _refreshed(
    service: TokenService,
    client: OAuthClient,
    family: RefreshFamily,
    scope: tuple[str, ...],
    tokens: tuple[AccessToken, str | None],
    refresh_token: str,
    request: RequestInfo,
    now: int,
    *,
    grace: bool,
) -> TokenResponse:
    access, id_token = tokens
    service.events.publish(_token_event(
        service, IdentityEvent.TOKEN_REFRESHED, client, access, scope, request,
        tenant=family.tenant, actor=user_actor(family.user_id), family_id=family.family_id, grace=grace,
    ))  # fmt: skip
    return TokenResponse(access.token, access.expires_at - now, scope, id_token, refresh_token)


def _token_event(
    service: TokenService,
    event: IdentityEvent,
    client: OAuthClient,
    access: AccessToken,
    scope: tuple[str, ...],
    request: RequestInfo,
    *,
    tenant: str,
    actor: str,
    **data: JsonValue,
) -> EventEnvelope:
    return service.events.build(
        event,
        tenant=tenant,
        actor=actor,
        resource=f"client/{client.client_id}",
        request_id=request.request_id,
        data={"client_id": client.client_id, "scope": format_scope(scope), "jti": access.jti, **data},
    )


def client_credentials(
    service: TokenService, client: OAuthClient, params: dict[str, str], request: RequestInfo
) -> TokenResponse:
    if not client.is_confidential:
        raise UnauthorizedClient("client credentials need a confidential client")
    requested = _requested_scope(params)
    scope = tuple(sorted(client.allowed_scopes)) if requested is None else requested
    if OPENID in scope or not set(scope) <= client.allowed_scopes:
        raise InvalidScope("the client may not request this scope")
    now = service.now()
    access = service.issuer.access_token(
        subject=client.client_id,
        client_id=client.client_id,
        tenant=client.tenant,
        roles=client.roles,
        scope=scope,
        principal_type=PrincipalType.CLIENT,
        now=now,
    )
    service.events.publish(_token_event(
        service, IdentityEvent.TOKEN_ISSUED, client, access, scope, request,
        tenant=client.tenant, actor=client_actor(client.client_id), grant_type=GrantType.CLIENT_CREDENTIALS.value,
    ))  # fmt: skip
    return TokenResponse(access.token, access.expires_at - now, scope)


def revoke_family(
    service: TokenService, family_id: str, *, now: int, events: Sequence[EventEnvelope] = ()
) -> RefreshFamily | None:
    """Revoke the family and every access token it issued that may still be live; `events`
    commit with the family's revocation (and not at all if it was revoked before)."""
    family = service.refresh_tokens.revoke_family(family_id, now=now, events=events)
    if family is not None:
        for jti, exp in live_access_tokens(family.access_tokens, now).items():
            service.revocations.revoke(jti, expires_at=exp)
    return family


def _revoke_replayed_code(
    service: TokenService, replay: CodeReplayed, client: OAuthClient, request: RequestInfo, now: int
) -> None:
    if replay.access_jti is not None and replay.access_exp is not None and replay.access_exp > now:
        service.revocations.revoke(replay.access_jti, expires_at=replay.access_exp)
    family = None if replay.family_id is None else revoke_family(service, replay.family_id, now=now)
    service.events.emit(
        IdentityEvent.TOKEN_REUSE_DETECTED,
        tenant=family.tenant if family is not None else client.tenant,
        actor=client_actor(client.client_id),
        resource=f"client/{client.client_id}",
        request_id=request.request_id,
        outcome=Outcome.DENIED,
        data={
            "grant_type": GrantType.AUTHORIZATION_CODE.value,
            "client_id": client.client_id,
            "revoked_jti": replay.access_jti,
            "family_id": replay.family_id,
        },
    )


def _emit_reuse(
    service: TokenService, family: RefreshFamily, request: RequestInfo, *, grant: GrantType
) -> None:
    service.events.emit(
        IdentityEvent.TOKEN_REUSE_DETECTED,
        tenant=family.tenant,
        actor=user_actor(family.user_id),
        resource=f"client/{family.client_id}",
        request_id=request.request_id,
        outcome=Outcome.DENIED,
        data={"grant_type": grant.value, "client_id": family.client_id, "family_id": family.family_id},
    )


def _check_code_request(
    stored: AuthorizationCode, client: OAuthClient, redirect_uri: str, verifier: str
) -> None:
    if stored.client_id != client.client_id:
        raise InvalidGrant("the authorization code was issued to another client")
    if stored.redirect_uri != redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    if not hmac.compare_digest(pkce_s256(verifier), stored.code_challenge):
        raise InvalidGrant("the code_verifier does not match the code_challenge")


def consented(
    service: TokenService,
    client: OAuthClient,
    tenant: str,
    user_id: str,
    scope: tuple[str, ...],
    *,
    since: int,
) -> bool:
    """A third-party client's grant needs the user's consent, still given since the grant began."""
    if client.first_party:
        return True
    consent = service.consents.get_consent(tenant, user_id, client.client_id)
    return consent_still_given(client, consent, scope, since)


def _active_user(service: TokenService, tenant: str, user_id: str) -> User:
    user = service.users.get(tenant, user_id)
    if user is None or not user.is_active:
        raise InvalidGrant("the user is no longer active")
    return user
