"""Audit API configuration."""

from enum import StrEnum
from typing import Self

from echo_shared.settings import AuditStoreSettings, LogStoreSettings
from pydantic import Field, model_validator


class AuthMode(StrEnum):
    API_KEY = "api-key"
    AUTHORIZER = "authorizer"


class AuditApiSettings(AuditStoreSettings, LogStoreSettings):
    auth_mode: AuthMode = Field(validation_alias="AUDIT_API_AUTH_MODE")
    # REST proxy events carry the resource path without the stage; only a custom-domain base
    # path mapping adds a prefix, and then this names it.
    base_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="AUDIT_API_BASE_PATH")
    # Set (with the rest of the authz library's settings) when the stack grants in-process decisions.
    authz_policy_table: str | None = Field(default=None, validation_alias="AUTHZ_POLICY_TABLE")

    @property
    def authz_decisions(self) -> bool:
        return self.auth_mode is AuthMode.AUTHORIZER and self.authz_policy_table is not None

    @model_validator(mode="after")
    def _api_key_only_in_sandbox(self) -> Self:
        # In api-key mode the tenant is whatever the caller's header says.
        if self.auth_mode is AuthMode.API_KEY and not self.stage.is_sandbox:
            raise ValueError("AUDIT_API_AUTH_MODE=api-key is only allowed in the local and dev stages")
        return self
