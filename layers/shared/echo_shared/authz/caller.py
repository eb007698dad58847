"""Who is calling, in one place: the typed caller every API builds from the Lambda authorizer's
context, and the actor format every producer writes into events (`user:<id>`, `client:<id>`).

API Gateway passes the authorizer's context at `requestContext.authorizer` (all values strings):
`sub`, `tenant`, `roles` and `scope` (space-separated), `client_id`, `token_type` (user|client),
`jti`, `aud`. A member's own audit trail is the records whose actor is their `Caller.actor`, so
producers must use `user_actor`/`client_actor` (or `Caller.actor`), never a format of their own.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from echo_shared.authz.model import (
    ROLE_PATTERN,
    SCOPE_PATTERN,
    AuthzRequest,
    Decision,
    EntityRef,
    Principal,
    PrincipalType,
    ResourceType,
)
from echo_shared.errors import Forbidden, Unauthenticated, Unavailable
from echo_shared.events import is_valid_tenant

_SUBJECT = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")
_ROLE = re.compile(ROLE_PATTERN)
_SCOPE = re.compile(SCOPE_PATTERN)


def user_actor(user_id: str) -> str:
    return f"user:{user_id}"


def client_actor(client_id: str) -> str:
    return f"client:{client_id}"


def principal_actor(principal: Principal) -> str:
    """The actor of a Cedar principal, in the same format as a caller's."""
    if principal.type is PrincipalType.CLIENT:
        return client_actor(principal.id)
    return user_actor(principal.id)


class TokenType(StrEnum):
    USER = "user"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class Caller:
    subject: str
    tenant: str
    token_type: TokenType
    roles: frozenset[str]
    scopes: frozenset[str]
    client_id: str | None
    token_id: str | None
    audience: str | None = None

    @property
    def is_user(self) -> bool:
        return self.token_type is TokenType.USER

    @property
    def principal(self) -> Principal:
        """The caller as a Cedar principal, with the facts its token states: a user's roles and the
        scopes its token was granted, a client's scopes."""
        if self.token_type is TokenType.CLIENT:
            return Principal.client(self.client_id or self.subject, self.tenant, self.scopes)
        return Principal.user(self.subject, self.tenant, self.roles, self.scopes)

    @property
    def actor(self) -> str:
        """What producers write as the event's actor, and what a member's own trail filters on."""
        return principal_actor(self.principal)

    def require_user(self) -> None:
        if not self.is_user:
            raise Forbidden("this needs a user's access token")


class DecidesChecks(Protocol):
    """The part of the authz client (echo_shared.authz.AuthzClient) a route needs."""

    def check(self, request: AuthzRequest, *, request_id: str, asked_by: str | None = None) -> Decision: ...


def decide_on_tenant(authz: DecidesChecks, caller: Caller, action: str, *, request_id: str) -> bool:
    """May `caller` take `action` on its own tenant? Cedar decides (roles and token scopes), the
    decision is audited; an undecidable question raises Unavailable, never allows."""
    request = AuthzRequest(caller.principal, action, EntityRef(ResourceType.TENANT.value, caller.tenant))
    decision = authz.check(request, request_id=request_id, asked_by=caller.actor)
    if decision.unavailable:
        raise Unavailable(f"{action} cannot be authorized right now")
    return decision.allowed


def caller_from_authorizer(context: Mapping[str, Any] | None) -> Caller:
    context = context or {}
    subject = context.get("sub") or context.get("principalId")
    tenant = context.get("tenant")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise Unauthenticated("no authenticated subject")
    if not isinstance(tenant, str) or not is_valid_tenant(tenant):
        raise Unauthenticated("no authenticated tenant")
    raw_type = context.get("token_type") or TokenType.USER.value
    try:
        token_type = TokenType(raw_type)
    except ValueError:
        raise Unauthenticated("unknown token type") from None
    return Caller(
        subject=subject,
        tenant=tenant,
        token_type=token_type,
        roles=_words(context.get("roles"), _ROLE),
        scopes=_words(context.get("scope"), _SCOPE),
        client_id=_text(context.get("client_id")),
        token_id=_text(context.get("jti")),
        audience=_text(context.get("aud")),
    )


def caller_from_event(event: Mapping[str, Any] | None) -> Caller:
    """The caller of an API Gateway (REST, proxy) event that passed the Lambda authorizer."""
    request_context = (event or {}).get("requestContext") or {}
    return caller_from_authorizer(request_context.get("authorizer"))


def _text(raw: object) -> str | None:
    return raw if isinstance(raw, str) and _SUBJECT.fullmatch(raw) else None


def _words(raw: object, pattern: re.Pattern[str]) -> frozenset[str]:
    """Space-separated names; anything that is not a valid name is dropped, never trusted."""
    if not isinstance(raw, str):
        return frozenset()
    return frozenset(word for word in raw.split() if pattern.fullmatch(word))
