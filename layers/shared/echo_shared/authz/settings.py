"""Configuration of the authorization client, read from the environment once per process."""

from pydantic import Field

from echo_shared.settings import EventBusSettings, ResourceName


class AuthzSettings(EventBusSettings):
    # Decisions go on event_topic_arn, the deciding function's own producer topic (ADR 0016: a
    # decision belongs to its decider); only the authz function's own topic is authz's.
    authz_policy_table: ResourceName = Field(validation_alias="AUTHZ_POLICY_TABLE")
    authz_documents_table: ResourceName = Field(validation_alias="AUTHZ_DOCUMENTS_TABLE")
    # How stale the active policy version may be in a warm container (one GetItem per refresh).
    authz_refresh_seconds: float = Field(default=5.0, ge=0, le=300, validation_alias="AUTHZ_REFRESH_SECONDS")
