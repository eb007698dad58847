"""Embed function configuration."""

from echo_shared.settings import DeadLetterSettings, OutboxSettings, ResourceName
from pydantic import Field

# Parsed text is bounded by the extraction output limit (5 M chars, at most 4 bytes each, plus JSON).
DEFAULT_MAX_PARSED_BYTES = 32 * 1024 * 1024


class EmbedSettings(DeadLetterSettings, OutboxSettings):
    documents_table: ResourceName = Field(validation_alias="DOCUMENTS_TABLE")
    documents_bucket: ResourceName = Field(validation_alias="DOCUMENTS_BUCKET")
    index_bucket: ResourceName = Field(validation_alias="INDEX_BUCKET")
    max_parsed_bytes: int = Field(
        default=DEFAULT_MAX_PARSED_BYTES, ge=1, validation_alias="EMBED_MAX_PARSED_BYTES"
    )
    max_receives: int = Field(default=5, ge=1, le=100, validation_alias="EMBED_MAX_RECEIVES")
