"""Authz API configuration."""

from echo_shared.authz.settings import AuthzSettings
from echo_shared.settings import OutboxSettings
from pydantic import Field


class AuthzApiSettings(AuthzSettings, OutboxSettings):
    """Decisions go to the bus directly; policy changes and their events to the outbox (ADR 0014)."""

    # REST proxy events carry the resource path without the stage; only a custom-domain base
    # path mapping adds a prefix, and then this names it.
    base_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="AUTHZ_API_BASE_PATH")
