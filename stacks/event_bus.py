"""The platform event bus: one SNS topic, SQS subscriptions with filter policies and DLQs."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.settings import StageSettings

# SQS keeps a message hidden this many times the consumer's timeout (AWS recommends at least 6).
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 5
# Notifications carry an address and a live link (email verification): only queues that ask for
# them by prefix get them, never the "every event" subscribers (the audit chain).
NOTIFICATION_PREFIX = "notification."


def dead_letter_queue(
    scope: Construct, construct_id: str, *, settings: StageSettings, name: str
) -> sqs.Queue:
    """A dead-letter queue: 14 days, SSE, TLS only."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=settings.resource_name(name),
        retention_period=cdk.Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        removal_policy=settings.removal_policy,
    )


def work_queue(
    scope: Construct,
    construct_id: str,
    *,
    settings: StageSettings,
    name: str,
    consumer_timeout: cdk.Duration,
    retention_days: int = 14,
) -> tuple[sqs.Queue, sqs.Queue]:
    """A consumer's queue (`<construct_id>Queue`) and its DLQ (`<construct_id>Dlq`, 14 days): SSE,
    TLS only, hidden VISIBILITY_TIMEOUT_FACTOR times the consumer's timeout, MAX_RECEIVE_COUNT tries."""
    dead_letters = dead_letter_queue(scope, f"{construct_id}Dlq", settings=settings, name=f"{name}-dlq")
    queue = sqs.Queue(
        scope,
        f"{construct_id}Queue",
        queue_name=settings.resource_name(name),
        visibility_timeout=cdk.Duration.seconds(consumer_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR),
        retention_period=cdk.Duration.days(retention_days),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        removal_policy=settings.removal_policy,
    )
    return queue, dead_letters


class EventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts Echo's platform event topic",
            enable_key_rotation=True,
            removal_policy=settings.removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                resources=["*"],  # A key policy's resource is always the key itself.
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=settings.resource_name("events"),
            display_name="Echo platform events",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}

    def subscribe_queue(
        self,
        name: str,
        *,
        consumer_timeout: cdk.Duration,
        type_prefixes: Sequence[str] | None = None,
    ) -> sqs.Queue:
        """A queue that receives the bus's events whose `type` starts with one of the prefixes (if None:
        every event but notifications)."""
        queue, dead_letters = work_queue(
            self, name.title(), settings=self._settings, name=name, consumer_timeout=consumer_timeout
        )
        filter_policy = {
            "type": sns.SubscriptionFilter.string_filter(match_prefixes=list(type_prefixes))
            if type_prefixes
            else sns.SubscriptionFilter([{"anything-but": {"prefix": NOTIFICATION_PREFIX}}])
        }
        self.topic.add_subscription(
            subscriptions.SqsSubscription(
                queue,
                raw_message_delivery=True,
                filter_policy=filter_policy,
                dead_letter_queue=dead_letters,
            )
        )
        self.queues[name] = queue
        self.dead_letter_queues[name] = dead_letters
        return queue

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        self.topic.grant_publish(grantee)
