"""Documents API configuration, read once per process."""

from echo_shared.authz.settings import AuthzSettings
from echo_shared.settings import OutboxSettings, ResourceName
from pydantic import Field

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class DocumentsApiSettings(AuthzSettings, OutboxSettings):
    documents_table: ResourceName = Field(validation_alias="DOCUMENTS_TABLE")
    documents_bucket: ResourceName = Field(validation_alias="DOCUMENTS_BUCKET")
    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES, ge=1, le=5 * 1024**3, validation_alias="UPLOAD_MAX_BYTES"
    )
    upload_url_seconds: int = Field(default=900, ge=60, le=3600, validation_alias="UPLOAD_URL_SECONDS")
    base_path: str = Field(
        default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="DOCUMENTS_API_BASE_PATH"
    )
