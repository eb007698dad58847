"""Token claim models (RFC 9068 access tokens, OIDC ID tokens) and the authorizer context contract."""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

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
# A subject, jti or client id: 1-256 printable ASCII characters, no space.
_IDENTIFIER = re.compile(r"[\x21-\x7e]{1,256}")
_TENANT = re.compile(TENANT_PATTERN)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessClaims:
    """A verified access token's claims (RFC 9068 plus Echo's `tenant`, `roles`, `principal_type`).

    A plain frozen dataclass: pydantic's import was a third of the authorizer's cold start. The rules
    are those of the pydantic model it replaces (strict types, unknown claims ignored); a unit test
    compares both verdicts on random claim sets.
    """

    iss: str
    sub: str
    aud: str | list[str]
    exp: int
    iat: int
    jti: str
    client_id: str
    tenant: str
    principal_type: PrincipalType
    scope: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @classmethod
    def from_verified(cls, claims: dict[str, Any]) -> Self:
        """The claims of a verified payload; anything missing or malformed is `claims_malformed`."""
        try:
            return cls(
                iss=_string(claims["iss"]),
                sub=_identifier(claims["sub"]),
                aud=_audience(claims["aud"]),
                exp=_integer(claims["exp"]),
                iat=_integer(claims["iat"]),
                jti=_identifier(claims["jti"]),
                client_id=_identifier(claims["client_id"]),
                scope=_scope(claims["scope"]) if "scope" in claims else (),
                tenant=_tenant(claims["tenant"]),
                roles=_roles(claims["roles"]) if "roles" in claims else (),
                principal_type=PrincipalType(claims["principal_type"]),
            )
        except (KeyError, TypeError, ValueError):
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


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _identifier(value: Any) -> str:
    if _IDENTIFIER.fullmatch(_string(value)) is None:
        raise ValueError("malformed identifier")
    return value


def _tenant(value: Any) -> str:
    if _TENANT.fullmatch(_string(value)) is None:
        raise ValueError("malformed tenant")
    return value


def _integer(value: Any) -> int:
    # Strict: a JSON number with a fraction, or a boolean (an int to Python), is not a NumericDate here.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _audience(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [_string(item) for item in value]
    return _string(value)


def _scope(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise TypeError("scope must be a space-delimited string")
    return parse_scope(value) if value else ()


def _roles(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise TypeError("roles must be a list of strings")
    return tuple(Role(role).value for role in value)


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
