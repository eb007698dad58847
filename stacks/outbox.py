"""The transactional outbox (ADR 0014): one outbox table per outboxed producer (identity's
`outbox`, authz's `outbox-authz`, the document pipeline's `outbox-documents`; ADR 0016), each
one's stream feeding the one relay that publishes each event on its producer's topic, and the
relay's DLQ.

Producers put their events into their own producer's outbox in the same DynamoDB transaction as
the state change (`grant_write`); only the relay publishes them, and it takes a record's producer
from the table its stream came from (OUTBOX_TABLES), so a writer of one outbox cannot speak for
the other producer. A bus outage only delays events: the relay's event
source mapping retries a shard from the first record not relayed until the record is a day old
(the stream's retention), then sends the batch's description to the DLQ; the items themselves stay
in the table until relayed (the runbook redrives them).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from stacks.event_bus import EventBus, dead_letter_queue
from stacks.function import EchoFunction
from stacks.nag import acknowledge
from stacks.producers import AUTHZ, DOCUMENTS, IDENTITY
from stacks.settings import StageSettings
from stacks.storage import table

RELAY_BATCH_SIZE = 100
RELAY_TIMEOUT = cdk.Duration.seconds(30)
# The producers whose events the outbox holds (login, token service, users; authz policy changes;
# the document pipeline's record changes: documents API, parse, embed).
RELAYED_PRODUCERS = (IDENTITY, AUTHZ, DOCUMENTS)
# Retried until the stream itself forgets the records (24 h): an outage of the bus delays, and a
# shard never skips ahead of a record it could not relay (that would break the tenant's order).
RELAY_MAX_RECORD_AGE = cdk.Duration.days(1)
RELAY_RETRY_ATTEMPTS = 10000


class Outbox(Construct):
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
        # Identity's keeps the historical construct id and name (`outbox`): the table is not replaced.
        self.tables: dict[str, dynamodb.Table] = {
            producer: table(
                self,
                "Table" if producer == IDENTITY else f"{producer.title()}Table",
                settings=settings,
                name="outbox" if producer == IDENTITY else f"outbox-{producer}",
                partition_key=dynamodb.Attribute(name="tenant", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name="position", type=dynamodb.AttributeType.STRING),
                time_to_live_attribute="expires_at",
                stream=dynamodb.StreamViewType.NEW_IMAGE,
            )
            for producer in RELAYED_PRODUCERS
        }
        self.dead_letters = dead_letter_queue(self, "RelayDlq", settings=settings, name="outbox-relay-dlq")
        acknowledge(
            self.dead_letters,
            "AwsSolutions::AwsSolutions-SQS3",
            "This queue is the dead-letter queue (on-failure destination) of the outbox relay.",
        )
        self.relay = EchoFunction(
            self,
            "Relay",
            settings=settings,
            package="outbox_relay",
            description="Publishes the outbox table's new events to the event bus (DynamoDB Streams)",
            layers=[layer],
            timeout=RELAY_TIMEOUT,
            environment={
                "OUTBOX_TABLES": cdk.Stack.of(self).to_json_string(
                    {producer: t.table_name for producer, t in self.tables.items()}
                ),
                "PRODUCER_TOPICS": bus.producer_topics_of(RELAYED_PRODUCERS),
                "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url,
            },
        )
        # Publishes for the outbox'ed producers, each event on its producer's topic (ADR 0016).
        for producer in RELAYED_PRODUCERS:
            bus.grant_publish(self.relay, producer)
        self.relay.grant(
            ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"], [t.table_arn for t in self.tables.values()]
        )
        self.relay.grant(["sqs:SendMessage"], [self.dead_letters.queue_arn])
        # One event source mapping per outbox: each stream's records name their table (eventSourceARN).
        for outbox in self.tables.values():
            self.relay.function.add_event_source(
                sources.DynamoEventSource(
                    outbox,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=RELAY_BATCH_SIZE,
                    bisect_batch_on_error=True,
                    retry_attempts=RELAY_RETRY_ATTEMPTS,
                    max_record_age=RELAY_MAX_RECORD_AGE,
                    parallelization_factor=1,
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(self.dead_letters),
                )
            )

    @property
    def table(self) -> dynamodb.Table:
        """Identity's outbox (the historical `outbox` table, `TableOutbox` in stack.json)."""
        return self.tables[IDENTITY]

    def grant_write(self, function: EchoFunction, producer: str) -> None:
        """A function speaking for `producer` may add events to that producer's outbox only
        (PutItem, also inside its TransactWriteItems; OUTBOX_TABLE), never read or delete them, and
        needs no sns:Publish."""
        outbox = self.tables[producer]
        function.grant(["dynamodb:PutItem"], [outbox.table_arn])
        function.function.add_environment("OUTBOX_TABLE", outbox.table_name)
