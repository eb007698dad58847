"""The production wiring of the client: DynamoDB stores and the SNS bus, built once per process.

Functions that decide in-process call `default_client()`; their stack grants them what it reads
(`AuthzService.grant_decide`) and sets AUTHZ_POLICY_TABLE, AUTHZ_DOCUMENTS_TABLE, EVENT_TOPIC_ARN.
"""

from echo_shared.authz.client import AuthzClient
from echo_shared.authz.dynamodb import DynamoEntityProvider, DynamoPolicyStore
from echo_shared.authz.settings import AuthzSettings
from echo_shared.events import SnsEventPublisher
from echo_shared.lazy import cached_resource


@cached_resource
def get_authz_settings() -> AuthzSettings:
    return AuthzSettings.from_env()


@cached_resource
def default_client() -> AuthzClient:
    settings = get_authz_settings()
    return AuthzClient(
        store=DynamoPolicyStore(settings.authz_policy_table),
        entities=DynamoEntityProvider(settings.authz_documents_table),
        publisher=SnsEventPublisher(settings.event_topic_arn),
        asked_by=f"service:{settings.service_name}",
        refresh_seconds=settings.authz_refresh_seconds,
    )
