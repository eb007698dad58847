"""Configuration of the authorization client, read from the environment once per process."""

from pydantic import AliasChoices, Field

from echo_shared.settings import EventBusSettings, ResourceName


class AuthzSettings(EventBusSettings):
    # The authz topic (ADR 0016): a decider's own events may go to another topic (EVENT_TOPIC_ARN).
    event_topic_arn: ResourceName = Field(
        validation_alias=AliasChoices("AUTHZ_EVENT_TOPIC_ARN", "EVENT_TOPIC_ARN")
    )
    authz_policy_table: ResourceName = Field(validation_alias="AUTHZ_POLICY_TABLE")
    authz_documents_table: ResourceName = Field(validation_alias="AUTHZ_DOCUMENTS_TABLE")
    # How stale the active policy version may be in a warm container (one GetItem per refresh).
    authz_refresh_seconds: float = Field(default=5.0, ge=0, le=300, validation_alias="AUTHZ_REFRESH_SECONDS")
