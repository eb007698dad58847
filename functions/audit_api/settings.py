"""Audit API configuration."""

from echo_shared.settings import AuditStoreSettings, LogStoreSettings
from pydantic import Field


class AuditApiSettings(AuditStoreSettings, LogStoreSettings):
    """Callers come from the Lambda authorizer; decisions from the in-process authz client, whose
    own settings (AUTHZ_POLICY_TABLE, ...) echo_shared.authz.runtime reads."""

    # REST proxy events carry the resource path without the stage; only a custom-domain base
    # path mapping adds a prefix, and then this names it.
    base_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="AUDIT_API_BASE_PATH")
