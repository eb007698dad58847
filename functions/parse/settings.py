"""Parse function configuration (the extraction limits are read by ExtractionLimits.from_env)."""

from echo_shared.settings import DeadLetterSettings, ResourceName
from pydantic import Field


class ParseSettings(DeadLetterSettings):
    event_topic_arn: ResourceName = Field(validation_alias="EVENT_TOPIC_ARN")
    documents_table: ResourceName = Field(validation_alias="DOCUMENTS_TABLE")
    documents_bucket: ResourceName = Field(validation_alias="DOCUMENTS_BUCKET")
