"""Token introspection (RFC 7662), revocation (RFC 7009) and the UserInfo endpoint (OIDC Core §5.3)."""

from typing import Any

from echo_shared.authz.caller import client_actor
from echo_shared.events import EventEnvelope, Outcome
from echo_shared.identity.claims import AccessClaims, PrincipalType
from echo_shared.identity.clients import OAuthClient
from echo_shared.identity.errors import InsufficientScope, InvalidRequest, InvalidToken, TokenRejected
from echo_shared.identity.events import IdentityEvent
from echo_shared.identity.grants import RefreshFamily, RefreshToken, handle_digest
from echo_shared.identity.verification import bearer_token
from echo_shared.identity.web import RequestInfo

from token_service.logic import TokenService
from token_service.logic.client_auth import authenticate_client, read_client_credentials, require_confidential
from token_service.logic.exchange import OPENID, consented, revoke_family
from token_service.logic.issuance import released_claims

ACCESS_TOKEN_HINT = "access_token"  # noqa: S105 (an RFC 7009 hint name, not a secret)
REFRESH_TOKEN_HINT = "refresh_token"  # noqa: S105 (an RFC 7009 hint name, not a secret)
MAX_TOKEN_LENGTH = 8192
_INACTIVE: dict[str, Any] = {"active": False}


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def _presented_token(params: dict[str, str]) -> str:
    token = params.get("token")
    if not token:
        raise InvalidRequest("token is required")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidRequest("token is too long")
    return token


def introspect(service: TokenService, params: dict[str, str], authorization: str | None) -> dict[str, Any]:
    """Confidential clients only; any token of another tenant, or not ours, is simply inactive."""
    client = require_confidential(
        authenticate_client(
            read_client_credentials(params, authorization), service.clients, service.client_secrets
        )
    )
    token = _presented_token(params)
    if _looks_like_jwt(token):
        try:
            claims = service.verifier.verify_access_token(token)
        except TokenRejected:
            return _INACTIVE
        if claims.tenant != client.tenant:
            return _INACTIVE
        return _access_token_info(claims)
    found = _live_refresh_token(service, token)
    if found is None or found[1].tenant != client.tenant:
        return _INACTIVE
    token_record, family = found
    return {
        "active": True,
        "token_type": REFRESH_TOKEN_HINT,
        "iss": service.issuer_url,
        "sub": family.user_id,
        "client_id": family.client_id,
        "scope": " ".join(family.scope),
        "exp": token_record.expires_at,
        "iat": family.created_at,
        "tenant": family.tenant,
    }


def _access_token_info(claims: AccessClaims) -> dict[str, Any]:
    return {
        "active": True,
        "token_type": "Bearer",
        "iss": claims.iss,
        "sub": claims.sub,
        "aud": claims.aud,
        "client_id": claims.client_id,
        "scope": " ".join(claims.scope),
        "exp": claims.exp,
        "iat": claims.iat,
        "jti": claims.jti,
        "tenant": claims.tenant,
        "roles": list(claims.roles),
        "principal_type": claims.principal_type.value,
    }


def _live_refresh_token(service: TokenService, token: str) -> tuple[RefreshToken, RefreshFamily] | None:
    found = service.refresh_tokens.find(handle_digest(token))
    if found is None:
        return None
    record, family = found
    now = service.now()
    if record.rotated_at is not None or family.revoked_at is not None:
        return None
    if record.expires_at <= now or family.expires_at <= now:
        return None
    client = service.clients.get(family.client_id)
    if client is None or not consented(
        service, client, family.tenant, family.user_id, family.scope, since=family.created_at
    ):
        return None
    return found


def revoke(
    service: TokenService, params: dict[str, str], authorization: str | None, request: RequestInfo
) -> None:
    """RFC 7009: revoke a token the authenticated client holds; unknown tokens are not an error.

    Revoking a refresh token revokes its whole family (and the access tokens it issued)."""
    client = authenticate_client(
        read_client_credentials(params, authorization), service.clients, service.client_secrets
    )
    token = _presented_token(params)
    now = service.now()
    if _looks_like_jwt(token):
        try:
            claims = service.verifier.verify_access_token(token)
        except TokenRejected:
            return
        if claims.client_id != client.client_id:
            return
        # The revocation and its token.revoked commit together (ADR 0014): a retry after a failure
        # finds the token still live and revokes it then, so the event is never lost.
        revoked = _revoked_event(
            service, client, claims.tenant, request, {"token_type": ACCESS_TOKEN_HINT, "jti": claims.jti}
        )
        service.revocations.revoke(claims.jti, expires_at=claims.exp, events=[revoked])
        return
    found = service.refresh_tokens.find(handle_digest(token))
    if found is None or found[1].client_id != client.client_id:
        return
    family = found[1]
    # The family's revocation and its token.revoked commit together (ADR 0014): a retry finds the
    # family revoked, writes no second event and still revokes the access tokens it issued.
    revoked = _revoked_event(
        service,
        client,
        family.tenant,
        request,
        {"token_type": REFRESH_TOKEN_HINT, "family_id": family.family_id},
    )
    revoke_family(service, family.family_id, now=now, events=[revoked])


def _revoked_event(
    service: TokenService, client: OAuthClient, tenant: str, request: RequestInfo, data: dict[str, Any]
) -> EventEnvelope:
    return service.events.build(
        IdentityEvent.TOKEN_REVOKED,
        tenant=tenant,
        actor=client_actor(client.client_id),
        resource=f"client/{client.client_id}",
        request_id=request.request_id,
        outcome=Outcome.SUCCESS,
        data={"client_id": client.client_id, **data},
    )


def userinfo(service: TokenService, authorization: str | None, form_token: str | None) -> dict[str, Any]:
    """Claims about the signed-in user; the bearer token is verified here (the route is public)."""
    if authorization and form_token:
        raise InvalidRequest("send the access token once")
    try:
        token = form_token if form_token else bearer_token(authorization)
        claims = service.verifier.verify_access_token(token)
    except TokenRejected:
        raise InvalidToken("the access token is invalid") from None
    if claims.principal_type is not PrincipalType.USER or OPENID not in claims.scope:
        raise InsufficientScope("the access token does not carry the openid scope of a user")
    user = service.users.get(claims.tenant, claims.sub)
    if user is None or not user.is_active:
        raise InvalidToken("the access token is invalid")
    return {"sub": user.user_id, "tenant": user.tenant, **released_claims(user, claims.scope)}
