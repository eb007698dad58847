"""The transactional outbox on moto (ADR 0014): a state change and its events commit together or not at
all, a standalone event is one put, and the relay's handler publishes the outbox's stream records to
the bus and deletes what it relayed. Tables come from the synthesized identity construct."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from echo_shared.events import EventEnvelope
from echo_shared.events.outbox import DynamoOutbox, OutboxUnavailable, outbox_position
from echo_shared.identity.dynamodb import DynamoUserRepository
from echo_shared.identity.errors import EmailTaken, NotFound
from echo_shared.identity.users import UserStatus
from echo_shared.lazy import reset_cached_resources
from moto import mock_aws

from tests.integration.outbox_relay import capture_bus, outbox_stream
from tests.integration.stack_template import IDENTITY
from tests.unit.identity.fakes import user as make_user


@dataclass
class OutboxWorld:
    dynamodb: Any
    sqs: Any
    queue_url: str
    outbox_table: str
    users: DynamoUserRepository
    outbox: DynamoOutbox
    relay: Callable[[], None]

    def outbox_items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.outbox_table, ConsistentRead=True)["Items"])

    def published(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def world(
    echo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> Iterator[OutboxWorld]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        names = {}
        for logical_id, properties in IDENTITY.table_definitions("local").items():
            if logical_id.startswith(("IdentityIdentityTable", "OutboxTable")):  # identity's outbox
                dynamodb.create_table(
                    TableName=properties["TableName"],
                    KeySchema=properties["KeySchema"],
                    AttributeDefinitions=properties["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                )
                names["outbox" if logical_id.startswith("Outbox") else "identity"] = properties["TableName"]
        sqs = boto3.client("sqs")
        queue_url = capture_bus("bus-capture", echo_env["EVENT_TOPIC_ARN"])
        monkeypatch.setenv("OUTBOX_TABLE", names["outbox"])
        reset_cached_resources()
        outbox = DynamoOutbox(names["outbox"])
        yield OutboxWorld(
            dynamodb=dynamodb,
            sqs=sqs,
            queue_url=queue_url,
            outbox_table=names["outbox"],
            users=DynamoUserRepository(names["identity"], outbox=outbox),
            outbox=outbox,
            relay=outbox_stream(dynamodb, names["outbox"], lambda_context),
        )
        reset_cached_resources()


def test_a_state_change_and_its_event_commit_in_one_transaction(
    world: OutboxWorld, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a user, created with its event
    user = make_user()
    registered = make_event(type="user.registered", tenant="demo")
    world.users.create(user, events=[registered])

    # When an admin disables them, with the event that reports it
    disabled = make_event(type="user.disabled", tenant="demo")
    changed = world.users.set_status("demo", user.user_id, UserStatus.DISABLED, now=1, events=[disabled])

    # Then both the state and both events are stored, keyed by tenant and occurred time + id
    assert changed.status is UserStatus.DISABLED
    items = sorted(world.outbox_items(), key=lambda item: item["position"]["S"])
    assert [item["position"]["S"] for item in items] == [
        outbox_position(registered),
        outbox_position(disabled),
    ]
    assert {item["tenant"]["S"] for item in items} == {"demo"}
    assert json.loads(items[1]["event"]["S"])["type"] == "user.disabled"
    assert int(items[1]["expires_at"]["N"]) > disabled.occurred_at.timestamp()


def test_a_cancelled_transaction_writes_neither_the_state_nor_the_event(
    world: OutboxWorld, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a user already holding an email
    world.users.create(make_user(user_id="usr_first"))

    # When a second registration with the same email is refused, and a change of an unknown user too
    with pytest.raises(EmailTaken):
        world.users.create(make_user(user_id="usr_second"), events=[make_event(tenant="demo")])
    with pytest.raises(NotFound):
        world.users.set_roles("demo", "usr_nobody", (), now=1, events=[make_event(tenant="demo")])

    # Then no event was written for either
    assert world.outbox_items() == []
    assert world.users.get("demo", "usr_second") is None


def test_a_standalone_batch_is_one_transaction(
    world: OutboxWorld, make_event: Callable[..., EventEnvelope], faults: Callable[..., None]
) -> None:
    from botocore.exceptions import ClientError

    # Given DynamoDB refusing the next transaction
    error = ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "TransactWriteItems")
    faults("TransactWriteItems", error, 1)
    # When a failed sign-in's two events are written, then written again
    events = [make_event(tenant="demo"), make_event(tenant="demo")]
    with pytest.raises(OutboxUnavailable):
        world.outbox.publish_batch(events)
    assert world.outbox_items() == []
    world.outbox.publish_batch(events)
    assert len(world.outbox_items()) == 2


def test_the_relay_publishes_the_outbox_to_the_bus_and_deletes_what_it_relayed(
    world: OutboxWorld, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given events of two tenants in the outbox
    events = [make_event(tenant="demo"), make_event(tenant="other"), make_event(tenant="demo")]
    for event in events:
        world.outbox.publish(event)

    # When the relay handles the stream's records
    world.relay()

    # Then every event is on the bus once, with its filter attributes' values, and the outbox is empty
    published = world.published()
    assert sorted(e["event_id"] for e in published) == sorted(str(e.event_id) for e in events)
    assert [e["event_id"] for e in published if e["tenant"] == "demo"] == [
        str(e.event_id) for e in events if e.tenant == "demo"
    ]
    assert world.outbox_items() == []


def test_a_row_its_outboxs_producer_may_not_say_goes_to_the_relay_dlq_and_stays_in_the_outbox(
    world: OutboxWorld, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given, in identity's outbox, a user event and a policy activation (a writer of identity's
    # outbox speaking for authz, ADR 0016)
    dead_letters = world.sqs.create_queue(QueueName="echo-test-dlq")["QueueUrl"]
    genuine = make_event(tenant="demo")
    forged = make_event(tenant="demo", type="authz.policy_activated")
    world.outbox.publish_batch([genuine, forged])

    # When the relay handles the stream's records (they name identity's table)
    world.relay()

    # Then only the user event is on the bus (identity's topic; nothing on authz's)
    assert [e["event_id"] for e in world.published()] == [str(genuine.event_id)]
    # And the activation is in the relay DLQ with the reason, and stays in the outbox (not relayed)
    (quarantined,) = world.sqs.receive_message(
        QueueUrl=dead_letters, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    reason = quarantined["MessageAttributes"]["echo_failure_reason"]["StringValue"]
    assert reason == "type authz.* is outside the identity producer's namespace"
    assert [json.loads(item["event"]["S"])["event_id"] for item in world.outbox_items()] == [
        str(forged.event_id)
    ]
