"""The platform event bus: one SNS topic per producer (ADR 0016), SQS subscriptions with filter
policies and DLQs.

Each producer's topic has a policy denying sns:Publish to every principal but the roles granted
through `grant_publish` (written by `restrict_publishers`, once every function exists); the
platform topic (`events`: seeds, logs) is denied to every function role. Consumers subscribe to
the topics of the producers whose types they filter on; the "every event" subscribers (the audit
chain) get the SNS envelope (raw delivery off), whose TopicArn tells them who published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.function import EchoFunction
from stacks.producers import NAMESPACES, PLATFORM, producer_of
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
            description="Encrypts Echo's platform event topics",
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
        # The platform's topic is the historical `events` topic (same construct, same name).
        self.topic = self._topic("Topic", "events", "Echo platform events")
        self.topics: dict[str, sns.Topic] = {
            producer: self.topic
            if producer == PLATFORM
            else self._topic(f"{producer.title()}Topic", f"events-{producer}", f"Echo {producer} events")
            for producer in NAMESPACES
        }
        self._publishers: dict[str, list[iam.IRole]] = {producer: [] for producer in NAMESPACES}
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}

    def _topic(self, construct_id: str, name: str, display_name: str) -> sns.Topic:
        return sns.Topic(
            self,
            construct_id,
            topic_name=self._settings.resource_name(name),
            display_name=display_name,
            master_key=self.key,
            enforce_ssl=True,
        )

    @property
    def producer_topics(self) -> str:
        """PRODUCER_TOPICS for the functions that map producers and topics (JSON, tokens resolved)."""
        return self.producer_topics_of(NAMESPACES)

    def producer_topics_of(self, producers: Iterable[str]) -> str:
        return cdk.Stack.of(self).to_json_string({p: self.topics[p].topic_arn for p in producers})

    def topic_arn(self, producer: str) -> str:
        return self.topics[producer].topic_arn

    def subscribe_queue(
        self,
        name: str,
        *,
        consumer_timeout: cdk.Duration,
        type_prefixes: Sequence[str] | None = None,
    ) -> sqs.Queue:
        """A queue that receives the events whose `type` starts with one of the prefixes, from the
        topics of the producers owning them (raw delivery). If None: every event but notifications,
        from every topic, in the SNS envelope (its TopicArn names the producer)."""
        queue, dead_letters = work_queue(
            self, name.title(), settings=self._settings, name=name, consumer_timeout=consumer_timeout
        )
        if type_prefixes:
            producers = sorted({producer_of(prefix) for prefix in type_prefixes})
            type_filter = sns.SubscriptionFilter.string_filter(match_prefixes=list(type_prefixes))
        else:
            producers = list(NAMESPACES)
            type_filter = sns.SubscriptionFilter([{"anything-but": {"prefix": NOTIFICATION_PREFIX}}])
        for producer in producers:
            self.topics[producer].add_subscription(
                subscriptions.SqsSubscription(
                    queue,
                    raw_message_delivery=bool(type_prefixes),
                    filter_policy={"type": type_filter},
                    dead_letter_queue=dead_letters,
                )
            )
        self.queues[name] = queue
        self.dead_letter_queues[name] = dead_letters
        return queue

    def grant_publish(self, function: EchoFunction, producer: str) -> None:
        """`function` speaks for `producer`: sns:Publish on its topic only, named in its policy.
        Explicit actions (not topic.grant_publish): the key needs no wildcard data-key action."""
        function.grant(["sns:Publish"], [self.topics[producer].topic_arn])
        function.grant(["kms:GenerateDataKey", "kms:Decrypt"], [self.key.key_arn])
        self._publishers[producer].append(function.role)

    def restrict_publishers(self, functions: Iterable[EchoFunction]) -> None:
        """Each topic's policy: sns:Publish denied to every principal but its publishers' roles
        (the platform topic: denied to every one of `functions`). Call once all exist."""
        for producer, topic in self.topics.items():
            publishers = list(dict.fromkeys(role.role_arn for role in self._publishers[producer]))
            if producer == PLATFORM or not publishers:
                roles = list(dict.fromkeys(function.role.role_arn for function in functions))
                condition = {"ArnEquals": {"aws:PrincipalArn": roles}}
            else:
                condition = {"ArnNotEquals": {"aws:PrincipalArn": publishers}}
            topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyItsProducerPublishes",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["sns:Publish"],
                    resources=[topic.topic_arn],
                    conditions=condition,
                )
            )
