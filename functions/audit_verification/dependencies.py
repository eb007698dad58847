"""Settings and adapters for the verification job, built once per process on first use."""

from echo_shared.audit import ChainVerifier
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.audit.verification_queue import SqsJobQueue
from echo_shared.audit.verification_store import DynamoVerificationJobStore
from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.events import SnsEventPublisher
from echo_shared.lazy import cached_resource

from audit_verification.logic import JobDependencies
from audit_verification.settings import AuditVerificationSettings


@cached_resource
def get_settings() -> AuditVerificationSettings:
    return AuditVerificationSettings.from_env()


@cached_resource
def get_dependencies() -> JobDependencies:
    settings = get_settings()
    # The chain and the checkpoints are only read here (Query, GetObject, ListBucket, kms:Verify).
    chain = DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)
    verifier = ChainVerifier(
        chain,
        S3CheckpointStore(settings.checkpoint_bucket),
        KmsCheckpointSigner(settings.checkpoint_key_id),
        freshness=settings.freshness,
    )
    return JobDependencies(
        store=DynamoVerificationJobStore(settings.audit_verifications_table),
        verifier=verifier,
        queue=SqsJobQueue(settings.audit_verification_queue_url),
        publisher=SnsEventPublisher(settings.event_topic_arn),
        pages=settings.pages_per_invocation,
        page_records=settings.page_records,
    )


@cached_resource
def get_dead_letters() -> SqsDeadLetterSink:
    return SqsDeadLetterSink(get_settings().dead_letter_queue_url)
