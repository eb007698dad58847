"""The audit log: hash-chained records, exactly-once guard, signed checkpoints, the ingest consumer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.event_bus import EventBus
from stacks.function import EchoFunction, acknowledge_prefix_grant
from stacks.settings import StageSettings
from stacks.storage import bucket, table

# Events per ingest invocation. AWS allows up to 10,000 for a standard queue when a batching window
# is set (and a 6 MB payload: ~1,000 envelopes of a few KB fit easily); LocalStack also honours it.
# Each invocation pays one guard read, one head read per tenant and one checkpoint per tenant, so a
# big batch spreads those fixed costs over many events. 2,500: LocalStack splits a bigger poll into
# 2,500-record invocations run one after another anyway; AWS caps a batch at 6 MB by itself.
INGEST_BATCH_SIZE = 2500
INGEST_BATCHING_WINDOW = cdk.Duration.seconds(1)

# "Recent" for the records after a chain's last signed checkpoint: the ingest signs after every
# batch, so an older or longer unsigned tail means checkpoints are failing (or were deleted) and
# `/audit/verify` reports `unsigned_tail`. Seconds per stage: local/dev leave room for a slow
# LocalStack and a redelivered batch; staging/prod allow an hour, CloudTrail's digest cadence.
# Records: four full batches (10,000; the verifier's range lead-in stays within MAX_RANGE_RECORDS).
MAX_UNSIGNED_SECONDS = {"local": 300, "dev": 600, "staging": 3600, "prod": 3600}
MAX_UNSIGNED_RECORDS = 10_000


class AuditLog(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        bus: EventBus,
        layer: lambda_.ILayerVersion,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.chain_table = table(
            self,
            "ChainTable",
            settings=settings,
            name="audit-chain",
            partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="seq", type=dynamodb.AttributeType.NUMBER),
        )
        self.event_ids_table = table(
            self,
            "EventIdsTable",
            settings=settings,
            name="audit-event-ids",
            partition_key=dynamodb.Attribute(name="event_id", type=dynamodb.AttributeType.STRING),
        )
        self.checkpoint_bucket = bucket(
            self,
            "Checkpoints",
            settings=settings,
            name="audit-checkpoints",
            access_logs=access_logs,
            object_lock=self._checkpoint_lock(settings),
        )
        # Object Lock keeps every version, but a new version on top of a key would still be what
        # readers get: no one may write a checkpoint key that already exists.
        self.checkpoint_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CheckpointsAreWrittenOnce",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.checkpoint_bucket.arn_for_objects("checkpoints/*")],
                conditions={"Null": {"s3:if-none-match": "true"}},
            )
        )
        # Object Lock keeps a locked version, but a plain delete still hides it behind a delete
        # marker: no one deletes a checkpoint or a version of one. Lifting this takes a change of
        # the bucket policy, a management event CloudTrail records (docs/audit.md).
        self.checkpoint_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CheckpointsAreNeverDeleted",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[self.checkpoint_bucket.arn_for_objects("checkpoints/*")],
            )
        )
        self.signing_key = kms.Key(
            self,
            "CheckpointSigningKey",
            description="Signs Echo audit chain checkpoints (tenant, seq, head hash)",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            removal_policy=settings.removal_policy,
        )
        self.queue = bus.subscribe_queue("audit", consumer_timeout=settings.consumer_timeout)
        self.dead_letters = bus.dead_letter_queues["audit"]

        # The notary alone signs (ADR 0009): it verifies each segment since the last checkpoint and
        # signs the head. It reads the chain but cannot write it; the ingest writes the chain but
        # cannot sign, so neither can forge a signed history alone.
        self.notary = EchoFunction(
            self,
            "Notary",
            settings=settings,
            package="audit_notary",
            description="Verifies each audit chain segment and signs its head into a checkpoint",
            layers=[layer],
            timeout=settings.consumer_timeout,
            environment={
                **self.environment,
                "CHECKPOINT_LOCK_MODE": settings.checkpoint_lock_mode,
                "CHECKPOINT_RETENTION_DAYS": str(settings.checkpoint_retention_days),
            },
        )
        self.notary.grant(["dynamodb:Query"], [self.chain_table.table_arn])
        self.notary.grant(["kms:Sign"], [self.signing_key.key_arn])
        # PutObjectRetention: the notary sets each checkpoint's retention as it writes it.
        self.notary.grant(
            ["s3:PutObject", "s3:PutObjectRetention"],
            [self.checkpoint_bucket.arn_for_objects("checkpoints/*")],
        )
        self.grant_read(self.notary)

        self.ingest = EchoFunction(
            self,
            "Ingest",
            settings=settings,
            package="audit_ingest",
            description="Appends every platform event to the tenant's hash-chained audit log",
            layers=[layer],
            timeout=settings.consumer_timeout,
            environment={
                **self.environment,
                "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url,
                # TopicArn -> producer (ADR 0016): the namespace each delivery may speak in.
                "PRODUCER_TOPICS": bus.producer_topics,
                "AUDIT_NOTARY_FUNCTION": self.notary.function.function_name,
            },
        )
        # Append-only: the ingest role can add records and read the chain, never update or delete.
        # TransactWriteItems of conditional puts needs PutItem on both tables; BatchGetItem reads
        # the exactly-once guards of a batch before its transactions.
        self.ingest.grant(["dynamodb:PutItem", "dynamodb:Query"], [self.chain_table.table_arn])
        self.ingest.grant(["dynamodb:PutItem", "dynamodb:BatchGetItem"], [self.event_ids_table.table_arn])
        self.ingest.grant(["sqs:SendMessage"], [self.dead_letters.queue_arn])
        # After each batch the ingest asks the notary (synchronously) to verify and sign.
        self.ingest.grant(["lambda:InvokeFunction"], [self.notary.function.function_arn])
        self.ingest.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=INGEST_BATCH_SIZE,
                max_batching_window=INGEST_BATCHING_WINDOW,
                report_batch_item_failures=True,
            )
        )

    @staticmethod
    def _checkpoint_lock(settings: StageSettings) -> s3.ObjectLockRetention:
        retention = cdk.Duration.days(settings.checkpoint_retention_days)
        if settings.checkpoint_lock_mode == "COMPLIANCE":
            return s3.ObjectLockRetention.compliance(retention)
        return s3.ObjectLockRetention.governance(retention)

    @property
    def environment(self) -> dict[str, str]:
        return {
            "AUDIT_CHAIN_TABLE": self.chain_table.table_name,
            "AUDIT_EVENT_IDS_TABLE": self.event_ids_table.table_name,
            "CHECKPOINT_BUCKET": self.checkpoint_bucket.bucket_name,
            "CHECKPOINT_KEY_ID": self.signing_key.key_arn,
            "AUDIT_MAX_UNSIGNED_SECONDS": str(MAX_UNSIGNED_SECONDS[self._settings.name]),
            "AUDIT_MAX_UNSIGNED_RECORDS": str(MAX_UNSIGNED_RECORDS),
        }

    def grant_read(self, function: EchoFunction) -> None:
        """Readers query the chain and verify checkpoints; they cannot write anything."""
        function.grant(["dynamodb:Query"], [self.chain_table.table_arn])
        function.grant(["kms:GetPublicKey"], [self.signing_key.key_arn])  # verifies locally (audit/kms.py)
        function.grant(["s3:GetObject"], [self.checkpoint_bucket.arn_for_objects("checkpoints/*")])
        acknowledge_prefix_grant(function, self.checkpoint_bucket, "checkpoints/*")
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.checkpoint_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": "checkpoints/*"}},
            )
        )
