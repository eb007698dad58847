"""Asynchronous full verification of a tenant's chain: the job table, the job queue and the job
function that verifies page by page, re-enqueueing itself until the chain is done."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from stacks.audit import AuditLog
from stacks.event_bus import EventBus, work_queue
from stacks.function import EchoFunction
from stacks.producers import AUDIT
from stacks.settings import StageSettings
from stacks.storage import table

# One invocation verifies PAGES_PER_INVOCATION pages of 10,000 records (~10 s on LocalStack).
JOB_TIMEOUT = cdk.Duration.seconds(60)


class AuditVerificationJobs(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        audit: AuditLog,
        bus: EventBus,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = table(
            self,
            "JobsTable",
            settings=settings,
            name="audit-verifications",
            partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="job_id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
        )
        self.queue, self.dead_letters = work_queue(
            self,
            "Job",
            settings=settings,
            name="audit-verification",
            consumer_timeout=JOB_TIMEOUT,
            retention_days=4,
        )
        self.function = EchoFunction(
            self,
            "Job",
            settings=settings,
            package="audit_verification",
            description="Verifies a tenant's whole audit chain in bounded pages, continuing across invocations",
            layers=[layer],
            memory_size=1024,
            timeout=JOB_TIMEOUT,
            environment={
                **audit.environment,
                **self.environment,
                "EVENT_TOPIC_ARN": bus.topic_arn(AUDIT),
                "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url,
            },
        )
        # Reads the chain and the checkpoints only; writes nothing but its own jobs and messages.
        audit.grant_read(self.function)
        self.function.grant(["dynamodb:GetItem", "dynamodb:PutItem"], [self.table.table_arn])
        # Its own queue (the next pages) and its DLQ (poison messages, with the reason).
        self.function.grant(["sqs:SendMessage"], [self.queue.queue_arn, self.dead_letters.queue_arn])
        bus.grant_publish(self.function, AUDIT)
        self.function.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=1, report_batch_item_failures=True)
        )

    @property
    def environment(self) -> dict[str, str]:
        return {
            "AUDIT_VERIFICATIONS_TABLE": self.table.table_name,
            "AUDIT_VERIFICATION_QUEUE_URL": self.queue.queue_url,
        }

    def grant_start(self, function: EchoFunction) -> None:
        """The audit API creates and reads jobs and queues their first step (withdrawing a job it
        could not queue); it never verifies them."""
        function.grant(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], [self.table.table_arn]
        )
        function.grant(["sqs:SendMessage"], [self.queue.queue_arn])
        for name, value in self.environment.items():
            function.function.add_environment(name, value)
