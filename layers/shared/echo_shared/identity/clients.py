"""OAuth clients (relying parties and services), registered per tenant."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ClientType(StrEnum):
    PUBLIC = "public"
    CONFIDENTIAL = "confidential"


class AuthMethod(StrEnum):
    NONE = "none"
    SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a protocol name, not a secret)
    SECRET_POST = "client_secret_post"  # noqa: S105 (a protocol name, not a secret)


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a protocol name, not a secret)
    CLIENT_CREDENTIALS = "client_credentials"


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    tenant: str
    name: str
    client_type: ClientType
    auth_method: AuthMethod
    grant_types: frozenset[GrantType]
    allowed_scopes: frozenset[str]
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    secret_hash: str | None = None
    # Roles a client-credentials token carries (service accounts); users' roles come from the user.
    roles: tuple[str, ...] = ()
    allow_registration: bool = False
    # Echo's own applications: their users are not asked to consent (third-party clients are).
    first_party: bool = False

    @property
    def is_confidential(self) -> bool:
        return self.client_type is ClientType.CONFIDENTIAL

    def allows_grant(self, grant_type: GrantType) -> bool:
        return grant_type in self.grant_types

    def has_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 §4.1.3): no prefix, no normalization, no wildcards."""
        return redirect_uri in self.redirect_uris

    def has_post_logout_redirect_uri(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris


class ClientRepository(Protocol):
    def get(self, client_id: str) -> OAuthClient | None: ...

    def put(self, client: OAuthClient) -> None: ...
