"""Query API configuration (the answerer reads its own ECHO_ANSWERER settings)."""

from echo_shared.authz.settings import AuthzSettings
from echo_shared.settings import ResourceName
from pydantic import Field


class QueryApiSettings(AuthzSettings):
    documents_table: ResourceName = Field(validation_alias="DOCUMENTS_TABLE")
    index_bucket: ResourceName = Field(validation_alias="INDEX_BUCKET")
    base_path: str = Field(default="/", pattern=r"^/[A-Za-z0-9/_-]*$", validation_alias="QUERY_API_BASE_PATH")
