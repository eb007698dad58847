"""Identity configuration, read once per process from the environment (see stacks/identity.py)."""

from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from echo_shared.identity.environment import (
    TOKEN_TTL_DEFAULT,
    TOKEN_TTL_MAX,
    TOKEN_TTL_MIN,
    issuer_url,
    refuse_http_outside_sandbox,
)
from echo_shared.settings import EnvSettings, OutboxSettings, ResourceName

type IssuerUrl = Annotated[str, AfterValidator(issuer_url)]


class IdentitySettings(EnvSettings):
    """What every identity function needs: who we are, where keys and grants live, token lifetimes."""

    issuer: IssuerUrl = Field(validation_alias="ISSUER")
    access_token_audience: ResourceName = Field(validation_alias="ACCESS_TOKEN_AUDIENCE")
    identity_table: ResourceName = Field(validation_alias="IDENTITY_TABLE")
    signing_keys_table: ResourceName = Field(validation_alias="SIGNING_KEYS_TABLE")
    access_token_ttl_seconds: int = Field(
        default=TOKEN_TTL_DEFAULT,
        ge=TOKEN_TTL_MIN,
        le=TOKEN_TTL_MAX,
        validation_alias="ACCESS_TOKEN_TTL_SECONDS",
    )
    id_token_ttl_seconds: int = Field(
        default=TOKEN_TTL_DEFAULT, ge=TOKEN_TTL_MIN, le=TOKEN_TTL_MAX, validation_alias="ID_TOKEN_TTL_SECONDS"
    )

    @property
    def max_jwt_lifetime_seconds(self) -> int:
        """How long after signing a JWT may still be accepted: the longest lifetime plus leeway."""
        return max(self.access_token_ttl_seconds, self.id_token_ttl_seconds) + 60

    @property
    def uses_https(self) -> bool:
        return self.issuer.startswith("https://")

    @model_validator(mode="after")
    def _https_outside_sandbox(self) -> Self:
        refuse_http_outside_sandbox(self.issuer, self.stage)
        return self


class IdentityServiceSettings(IdentitySettings, OutboxSettings):
    """Login, token and users functions: plus the outbox their events go to, and grant lifetimes."""

    auth_code_ttl_seconds: int = Field(default=60, ge=10, le=60, validation_alias="AUTH_CODE_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, ge=3600, le=90 * 24 * 3600, validation_alias="REFRESH_TOKEN_TTL_SECONDS"
    )
    session_ttl_seconds: int = Field(
        default=8 * 3600, ge=300, le=7 * 24 * 3600, validation_alias="SESSION_TTL_SECONDS"
    )
    login_transaction_ttl_seconds: int = Field(
        default=900, ge=60, le=3600, validation_alias="LOGIN_TTL_SECONDS"
    )
