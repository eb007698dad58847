"""Parse function configuration (the extraction limits are read by ExtractionLimits.from_env)."""

from echo_shared.settings import DeadLetterSettings, OutboxSettings, ResourceName
from pydantic import Field


class ParseSettings(DeadLetterSettings, OutboxSettings):
    documents_table: ResourceName = Field(validation_alias="DOCUMENTS_TABLE")
    documents_bucket: ResourceName = Field(validation_alias="DOCUMENTS_BUCKET")
