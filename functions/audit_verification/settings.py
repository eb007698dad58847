"""Verification job configuration."""

from datetime import timedelta

from echo_shared.audit import Freshness
from echo_shared.settings import AuditStoreSettings, EventBusSettings, ResourceName
from pydantic import Field


class AuditVerificationSettings(AuditStoreSettings, EventBusSettings):
    audit_verifications_table: ResourceName = Field(validation_alias="AUDIT_VERIFICATIONS_TABLE")
    audit_verification_queue_url: ResourceName = Field(validation_alias="AUDIT_VERIFICATION_QUEUE_URL")
    # The same "recent" as the API's verification (set per stage by stacks/audit.py).
    max_unsigned_seconds: int = Field(ge=1, le=86_400, validation_alias="AUDIT_MAX_UNSIGNED_SECONDS")
    max_unsigned_records: int = Field(ge=1, le=1_000_000, validation_alias="AUDIT_MAX_UNSIGNED_RECORDS")

    @property
    def freshness(self) -> Freshness:
        return Freshness(timedelta(seconds=self.max_unsigned_seconds), self.max_unsigned_records)
