"""Audit API configuration."""

from datetime import timedelta

from echo_shared.audit import Freshness
from echo_shared.settings import AuditStoreSettings, LogStoreSettings
from pydantic import Field


class AuditApiSettings(AuditStoreSettings, LogStoreSettings):
    """Callers come from the Lambda authorizer; decisions from the in-process authz client, whose
    own settings (AUTHZ_POLICY_TABLE, ...) echo_shared.authz.runtime reads."""

    # REST proxy events carry the resource path without the stage; only a custom-domain base
    # path mapping adds a prefix, and then this names it.
    base_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="AUDIT_API_BASE_PATH")
    # How recent the records after the last signed checkpoint must be for a chain to verify as ok
    # (set per stage by stacks/audit.py; docs/audit.md explains the choice).
    max_unsigned_seconds: int = Field(
        default=300, ge=1, le=86_400, validation_alias="AUDIT_MAX_UNSIGNED_SECONDS"
    )
    max_unsigned_records: int = Field(
        default=10_000, ge=1, le=1_000_000, validation_alias="AUDIT_MAX_UNSIGNED_RECORDS"
    )

    # Asynchronous full verifications: jobs are stored here and run by the audit-verification function.
    audit_verifications_table: str = Field(min_length=1, validation_alias="AUDIT_VERIFICATIONS_TABLE")
    audit_verification_queue_url: str = Field(min_length=1, validation_alias="AUDIT_VERIFICATION_QUEUE_URL")

    @property
    def freshness(self) -> Freshness:
        return Freshness(timedelta(seconds=self.max_unsigned_seconds), self.max_unsigned_records)
