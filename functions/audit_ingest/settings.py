"""Ingest configuration: the audit store, the dead-letter queue and the notary to call."""

from echo_shared.settings import AuditStoreSettings, DeadLetterSettings, ResourceName
from pydantic import Field


class AuditIngestSettings(AuditStoreSettings, DeadLetterSettings):
    notary_function: ResourceName = Field(validation_alias="AUDIT_NOTARY_FUNCTION")
