"""Adapters for the ingest function, built once per process on first use."""

from typing import TYPE_CHECKING

from echo_shared.audit import AuditAppender, IntegrityLog
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.notary_lambda import LambdaCheckpointService, notary_client
from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.events.producers import TopicProducers
from echo_shared.lazy import cached_resource

from audit_ingest.logic import IngestDependencies
from audit_ingest.settings import AuditIngestSettings

# Tenants of one batch appended at once; each is a few DynamoDB round trips.
TENANT_CONCURRENCY = 8


if TYPE_CHECKING:
    from types_boto3_lambda.client import LambdaClient

# Longer than the notary's own work for one batch (~1 s per 1,000-record segment on LocalStack).
NOTARY_READ_TIMEOUT_SECONDS = 15


@cached_resource
def get_notary_client() -> "LambdaClient":
    return notary_client(NOTARY_READ_TIMEOUT_SECONDS)


@cached_resource
def get_settings() -> AuditIngestSettings:
    return AuditIngestSettings.from_env()


@cached_resource
def get_dependencies() -> IngestDependencies:
    settings = get_settings()
    chain = DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)
    return IngestDependencies(
        appender=AuditAppender(chain, tenant_concurrency=TENANT_CONCURRENCY),
        notary=LambdaCheckpointService(settings.notary_function, get_notary_client()),
        integrity=IntegrityLog(chain),
        dead_letters=SqsDeadLetterSink(settings.dead_letter_queue_url),
        producers=TopicProducers(settings.producer_topics),
    )
