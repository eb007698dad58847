"""Ingest configuration: the audit store, the dead-letter queue, the notary to call and the
producers' topics (a delivery's TopicArn names its producer)."""

from echo_shared.events.producers import ProducerTopicsSettings
from echo_shared.settings import AuditStoreSettings, DeadLetterSettings, ResourceName
from pydantic import Field


class AuditIngestSettings(AuditStoreSettings, DeadLetterSettings, ProducerTopicsSettings):
    notary_function: ResourceName = Field(validation_alias="AUDIT_NOTARY_FUNCTION")
