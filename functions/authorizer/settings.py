"""Authorizer configuration."""

from echo_shared.identity.settings import IdentitySettings
from pydantic import Field


class AuthorizerSettings(IdentitySettings):
    # The warm container's JWKS cache; an unknown kid still triggers one reload.
    jwks_cache_seconds: int = Field(default=300, ge=10, le=3600, validation_alias="JWKS_CACHE_SECONDS")
    # Revocation (a replayed code, a reused refresh token, /revoke) is checked on every uncached call.
    check_revocation: bool = Field(default=True, validation_alias="AUTHORIZER_CHECK_REVOCATION")
