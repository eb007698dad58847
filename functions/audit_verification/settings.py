"""Verification job configuration."""

from datetime import timedelta

from echo_shared.audit import MAX_RANGE_RECORDS, Freshness
from echo_shared.audit.verification_jobs import PAGE_RECORDS, PAGES_PER_INVOCATION
from echo_shared.settings import AuditStoreSettings, DeadLetterSettings, EventBusSettings, ResourceName
from pydantic import Field


class AuditVerificationSettings(AuditStoreSettings, EventBusSettings, DeadLetterSettings):
    audit_verifications_table: ResourceName = Field(validation_alias="AUDIT_VERIFICATIONS_TABLE")
    audit_verification_queue_url: ResourceName = Field(validation_alias="AUDIT_VERIFICATION_QUEUE_URL")
    # The same "recent" as the API's verification (set per stage by stacks/audit.py).
    max_unsigned_seconds: int = Field(
        default=300, ge=1, le=86_400, validation_alias="AUDIT_MAX_UNSIGNED_SECONDS"
    )
    max_unsigned_records: int = Field(
        default=10_000, ge=1, le=1_000_000, validation_alias="AUDIT_MAX_UNSIGNED_RECORDS"
    )

    # Records per page (one verify_range) and pages per invocation: smaller only in tests.
    page_records: int = Field(
        default=PAGE_RECORDS, ge=1, le=MAX_RANGE_RECORDS, validation_alias="AUDIT_VERIFICATION_PAGE_RECORDS"
    )
    pages_per_invocation: int = Field(
        default=PAGES_PER_INVOCATION, ge=1, le=10, validation_alias="AUDIT_VERIFICATION_PAGES_PER_INVOCATION"
    )

    @property
    def freshness(self) -> Freshness:
        return Freshness(timedelta(seconds=self.max_unsigned_seconds), self.max_unsigned_records)
