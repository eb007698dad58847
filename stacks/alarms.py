"""CloudWatch alarms on what must never go unnoticed, notified through one SNS topic.

Only when the stage's `alarms` setting is on (staging, prod): LocalStack's open-source edition has
no CloudWatch alarms, and dev stays quiet. Every alarm fires on the first occurrence in 5 minutes
and treats missing data as fine (the metrics are only emitted when something happens).
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.function import EchoFunction
from stacks.settings import StageSettings

NAMESPACE = "Echo"  # POWERTOOLS_METRICS_NAMESPACE of every function (stacks/function.py)
PERIOD = cdk.Duration.minutes(5)


class OperationalAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        functions: Mapping[str, EchoFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.topic: sns.Topic | None = None
        self.key: kms.Key | None = None
        if not settings.alarms:
            return
        self.key = key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts Echo's alarm topic",
            enable_key_rotation=True,
            removal_policy=settings.removal_policy,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],  # A key policy's resource is always the key itself.
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=settings.resource_name("alarms"),
            display_name="Echo alarms",
            master_key=key,
            enforce_ssl=True,
        )
        self._action = actions.SnsAction(self.topic)

        # The notary found a chain segment that does not verify (ADR 0009); the API's verification
        # and the full-verification job count their own findings.
        self._on_count(
            "audit-tamper-detected", "AuditTamperDetected", "audit_ingest", "audit chain tampering"
        )
        self._on_count(
            "audit-verification-tamper-detected",
            "AuditChainTamperDetected",
            "audit_api",
            "a chain verification through the API did not verify",
        )
        self._on_count(
            "audit-verification-job-tamper-detected",
            "AuditChainTamperDetected",
            "audit_verification",
            "a full verification job found the chain broken",
        )
        # Checkpoints that could not be written: the ingest's count, and the notary's own errors.
        self._on_count(
            "audit-checkpoint-failures",
            "AuditCheckpointFailures",
            "audit_ingest",
            "audit checkpoints failing",
        )
        notary = functions["audit_notary"]
        self._add(
            "audit-notary-errors",
            notary.function.metric_errors(period=PERIOD, statistic="Sum"),
            "the audit notary failed an invocation",
        )
        for name, queue in dead_letter_queues.items():
            self._add(
                f"dlq-{name}",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                f"messages in the {name} dead-letter queue",
            )
        for package in functions:
            self._on_count(
                f"events-not-published-{package.replace('_', '-')}",
                "EventsNotPublished",
                package,
                f"{package} could not publish events to the bus",
            )

    def _on_count(self, name: str, metric_name: str, service: str, description: str) -> None:
        metric = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"service": service, "stage": self._settings.name},
            period=PERIOD,
            statistic="Sum",
        )
        self._add(name, metric, description)

    def _add(self, name: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            alarm_name=self._settings.resource_name(name),
            alarm_description=f"Echo {self._settings.name}: {description}",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms[name] = alarm
