"""Token claim models (RFC 9068 access tokens, OIDC ID tokens) and the authorizer context contract."""

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from echo_shared.identity.errors import TokenRejected

# The envelope's tenant pattern (echo_shared.events.TENANT_PATTERN, pinned equal by a unit test),
# repeated here so the authorizer's cold start does not import the bus client (boto3, ~100 ms).
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SIGNING_ALGORITHM = "ES256"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a protocol name, not a secret)
ID_TOKEN_TYPE = "JWT"  # noqa: S105 (a protocol name, not a secret)
# RFC 6749 §3.3 scope-token: printable ASCII except space, double quote and backslash.
SCOPE_TOKEN_PATTERN = r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$"  # noqa: S105 (a protocol name, not a secret)
_SCOPE_TOKEN = re.compile(SCOPE_TOKEN_PATTERN)


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
    AUDITOR = "auditor"
    # A self-registered user: reads only what was shared with them by id (baseline.guest-*).
    GUEST = "guest"


class PrincipalType(StrEnum):
    USER = "user"
    CLIENT = "client"


type Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]
type Tenant = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]


def parse_scope(value: str) -> tuple[str, ...]:
    """Space-delimited scope string -> ordered unique scope tokens; raises ValueError if malformed."""
    tokens: list[str] = []
    for token in value.split(" "):
        if not _SCOPE_TOKEN.fullmatch(token):
            raise ValueError("malformed scope")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def format_scope(scopes: tuple[str, ...] | frozenset[str]) -> str:
    return " ".join(scopes if isinstance(scopes, tuple) else sorted(scopes))


class AccessClaims(BaseModel):
    """A verified access token's claims (RFC 9068 plus Echo's `tenant`, `roles`, `principal_type`)."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    iss: str
    sub: Identifier
    aud: str | list[str]
    exp: int
    iat: int
    jti: Identifier
    client_id: Identifier
    scope: tuple[str, ...] = Field(default=())
    tenant: Tenant
    roles: tuple[str, ...] = Field(default=())
    principal_type: PrincipalType

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_from_string(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, str):
            raise ValueError("scope must be a space-delimited string")
        return parse_scope(value) if value else ()

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_from_list(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
            raise ValueError("roles must be a list of strings")
        return tuple(Role(role).value for role in value)

    @field_validator("principal_type", mode="before")
    @classmethod
    def _principal_type(cls, value: Any) -> PrincipalType:
        return PrincipalType(value)

    @classmethod
    def from_verified(cls, claims: dict[str, Any]) -> Self:
        try:
            return cls.model_validate(claims)
        except (ValidationError, ValueError):
            raise TokenRejected("claims_malformed") from None

    def authorizer_context(self) -> dict[str, str]:
        """The exact `context` other services read from `requestContext.authorizer`."""
        return {
            "sub": self.sub,
            "tenant": self.tenant,
            "roles": " ".join(self.roles),
            "scope": " ".join(self.scope),
            "client_id": self.client_id,
            "token_type": self.principal_type.value,
            "jti": self.jti,
        }


def access_token_claims(
    *,
    issuer: str,
    audience: str,
    subject: str,
    client_id: str,
    tenant: str,
    roles: tuple[str, ...],
    scope: tuple[str, ...],
    principal_type: PrincipalType,
    jti: str,
    issued_at: int,
    expires_at: int,
) -> dict[str, Any]:
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": expires_at,
        "iat": issued_at,
        "nbf": issued_at,
        "jti": jti,
        "client_id": client_id,
        "scope": " ".join(scope),
        "tenant": tenant,
        "roles": list(roles),
        "principal_type": principal_type.value,
    }
