"""Adapters for the notary function, built once per process on first use."""

from echo_shared.audit import LocalNotary, Notary
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import CheckpointRetention, S3CheckpointStore
from echo_shared.lazy import cached_resource

from audit_notary.settings import NotarySettings

# Tenants verified and signed at once; each is a few DynamoDB/KMS/S3 round trips.
TENANT_CONCURRENCY = 8


@cached_resource
def get_settings() -> NotarySettings:
    return NotarySettings.from_env()


@cached_resource
def get_service() -> LocalNotary:
    settings = get_settings()
    # The chain is only read here (Query); the role has no PutItem on it.
    chain = DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)
    retention = CheckpointRetention(settings.checkpoint_lock_mode, settings.checkpoint_retention_days)
    store = S3CheckpointStore(settings.checkpoint_bucket, retention=retention)
    notary = Notary(chain, KmsCheckpointSigner(settings.checkpoint_key_id), store)
    return LocalNotary(notary, concurrency=TENANT_CONCURRENCY)
