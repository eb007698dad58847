"""The central application-log sink: `log.*` events from the bus into a TTL'd, queryable store."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from stacks.event_bus import EventBus
from stacks.function import EchoFunction
from stacks.settings import StageSettings
from stacks.storage import table


class LogSink(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        bus: EventBus,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self._retention_days = settings.app_log_retention_days
        self.table = table(
            self,
            "Table",
            settings=settings,
            name="app-logs",
            partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sort_key", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
        )
        self.queue = bus.subscribe_queue(
            "logs", consumer_timeout=settings.consumer_timeout, type_prefixes=["log."]
        )
        dead_letters = bus.dead_letter_queues["logs"]
        self.function = EchoFunction(
            self,
            "Sink",
            settings=settings,
            package="log_sink",
            description="Stores log.* events with a retention TTL",
            layers=[layer],
            timeout=settings.consumer_timeout,
            environment={**self.environment, "DEAD_LETTER_QUEUE_URL": dead_letters.queue_url},
        )
        self.function.grant(["dynamodb:PutItem"], [self.table.table_arn])
        self.function.grant(["sqs:SendMessage"], [dead_letters.queue_arn])
        self.function.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=25,
                max_batching_window=cdk.Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )

    @property
    def environment(self) -> dict[str, str]:
        return {"LOG_TABLE": self.table.table_name, "LOG_RETENTION_DAYS": str(self._retention_days)}

    def grant_read(self, function: EchoFunction) -> None:
        function.grant(["dynamodb:Query"], [self.table.table_arn])
