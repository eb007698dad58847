"""Who is calling: the identity service's Lambda authorizer context, as a typed caller.

API Gateway passes the authorizer's context at `requestContext.authorizer` (all values strings):
`sub`, `tenant`, `roles` and `scope` (space-separated), `client_id`, `token_type` (user|client), `jti`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from echo_shared.authz import Principal
from echo_shared.authz.model import ROLE_PATTERN, SCOPE_PATTERN
from echo_shared.events import is_valid_tenant
from echo_shared.web import Unauthenticated

_SUBJECT = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")
_ROLE = re.compile(ROLE_PATTERN)
_SCOPE = re.compile(SCOPE_PATTERN)


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

    @property
    def principal(self) -> Principal:
        """The caller as a Cedar principal, with the facts its token states."""
        if self.token_type is TokenType.CLIENT:
            return Principal.client(self.client_id or self.subject, self.tenant, self.scopes)
        return Principal.user(self.subject, self.tenant, self.roles)

    @property
    def label(self) -> str:
        return str(self.principal.ref)


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
    client_id = context.get("client_id")
    token_id = context.get("jti")
    return Caller(
        subject=subject,
        tenant=tenant,
        token_type=token_type,
        roles=_words(context.get("roles"), _ROLE),
        scopes=_words(context.get("scope"), _SCOPE),
        client_id=client_id if isinstance(client_id, str) and _SUBJECT.fullmatch(client_id) else None,
        token_id=token_id if isinstance(token_id, str) else None,
    )


def _words(raw: object, pattern: re.Pattern[str]) -> frozenset[str]:
    """Space-separated names; anything that is not a valid name is dropped, never trusted."""
    if not isinstance(raw, str):
        return frozenset()
    return frozenset(word for word in raw.split() if pattern.fullmatch(word))
