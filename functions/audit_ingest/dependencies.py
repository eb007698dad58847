"""Settings and adapters for the ingest function, built once per process on first use."""

from echo_shared.audit import AuditAppender, IntegrityLog, Notary
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.lazy import cached_resource
from echo_shared.settings import AuditStoreSettings, DeadLetterSettings

from audit_ingest.logic import IngestDependencies

# Tenants of one batch appended (and checkpointed) at once; each is a few DynamoDB/KMS/S3 round trips.
TENANT_CONCURRENCY = 8


class AuditIngestSettings(AuditStoreSettings, DeadLetterSettings):
    pass


@cached_resource
def get_settings() -> AuditIngestSettings:
    return AuditIngestSettings.from_env()


@cached_resource
def get_dependencies() -> IngestDependencies:
    settings = get_settings()
    chain = DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)
    return IngestDependencies(
        appender=AuditAppender(chain, tenant_concurrency=TENANT_CONCURRENCY),
        notary=Notary(
            chain,
            KmsCheckpointSigner(settings.checkpoint_key_id),
            S3CheckpointStore(settings.checkpoint_bucket),
        ),
        integrity=IntegrityLog(chain),
        dead_letters=SqsDeadLetterSink(settings.dead_letter_queue_url),
        tenant_concurrency=TENANT_CONCURRENCY,
    )
