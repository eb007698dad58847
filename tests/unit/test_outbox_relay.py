"""The outbox relay's logic over fakes: stream order, groups of 10, the first failure named for
Lambda to resume from, poison records to the DLQ with their reason, relayed items deleted; each
record's producer is the outbox table its stream came from (ADR 0016)."""

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from echo_shared.events import EventEnvelope
from echo_shared.events.outbox import OutboxKey, outbox_position
from echo_shared.events.producers import AUTHZ, DOCUMENTS, IDENTITY, producer_of
from outbox_relay.logic import OutboxRecord, RelayDependencies, relay
from outbox_relay.settings import parse_outbox_tables

from tests.fakes.dead_letters import InMemoryDeadLetterSink
from tests.fakes.events import UnreliableEventPublisher
from tests.fakes.outbox import InMemoryOutbox


@pytest.fixture
def stream_record(sample_event: Callable[[str], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A stream record shaped like the sample's INSERT, carrying `event` (sequence numbers rise)."""
    template = sample_event("outbox_relay.ddbstream.json")["Records"][0]
    sequence = iter(range(1000, 100000))

    def build(event: EventEnvelope, *, change: str = "INSERT", table: str | None = None) -> dict[str, Any]:
        """From the outbox of the producer owning the event's type (identity's for any other), or `table`."""
        record = copy.deepcopy(template)
        if table is None:
            table = OUTBOX_TABLES.get(producer_of(event.type), OUTBOX_TABLES[IDENTITY])
        record["eventSourceARN"] = (
            f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/2026-01-05T09:00:00.000"
        )
        keys = {"tenant": {"S": event.tenant}, "position": {"S": outbox_position(event)}}
        record["eventName"] = change
        record["dynamodb"]["Keys"] = keys
        record["dynamodb"]["SequenceNumber"] = str(next(sequence))
        record["dynamodb"]["NewImage"] = {**keys, "event": {"S": event.to_json()}, "expires_at": {"N": "1"}}
        if change == "REMOVE":
            del record["dynamodb"]["NewImage"]
        return record

    return build


OUTBOX_TABLES = {IDENTITY: "echo-local-outbox", AUTHZ: "echo-local-outbox-authz"}


class World:
    def __init__(self) -> None:
        self.bus = UnreliableEventPublisher()  # the identity topic
        self.authz_bus = UnreliableEventPublisher()
        self.outbox = InMemoryOutbox()  # identity's
        self.authz_outbox = InMemoryOutbox()
        self.dead_letters = InMemoryDeadLetterSink()
        self.deps = RelayDependencies(
            buses={IDENTITY: self.bus, AUTHZ: self.authz_bus},
            tables=OUTBOX_TABLES,
            outboxes={IDENTITY: self.outbox, AUTHZ: self.authz_outbox},
            dead_letters=self.dead_letters,
        )

    def relay(self, raws: list[dict[str, Any]]) -> Any:
        return relay([OutboxRecord.from_stream(raw) for raw in raws], self.deps)


@pytest.fixture
def world() -> World:
    return World()


def test_the_sample_record_is_relayed_and_its_remove_is_ignored(
    world: World, sample_event: Callable[[str], dict[str, Any]]
) -> None:
    # Given the sample: an INSERT of a user.logged_in, then the REMOVE of that item
    raws = sample_event("outbox_relay.ddbstream.json")["Records"]

    # When relayed
    report = world.relay(raws)

    # Then the event is published once, its item deleted, and the REMOVE skipped
    assert [event.type for event in world.bus.published] == ["user.logged_in"]
    assert world.outbox.deleted == [OutboxKey("demo", raws[0]["dynamodb"]["Keys"]["position"]["S"])]
    assert (report.published, report.skipped, report.failed_sequence_number) == (1, 1, None)


def test_events_go_in_stream_order_ten_per_publish_batch(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    events = [make_event() for _ in range(23)]
    report = world.relay([stream_record(event) for event in events])
    assert world.bus.calls == [10, 10, 3]
    assert world.bus.published == events
    assert report.published == 23
    assert len(world.outbox.deleted) == 23


def test_an_outage_names_the_first_record_and_publishes_nothing_after_it(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # Given a bus that refuses the 13th event of 25 (the second group)
    events = [make_event() for _ in range(25)]
    raws = [stream_record(event) for event in events]
    world.bus.refused = {str(events[12].event_id)}

    # When relayed
    report = world.relay(raws)

    # Then Lambda is told to resume at the 13th record; the third group was never sent
    assert report.failed_sequence_number == raws[12]["dynamodb"]["SequenceNumber"]
    assert world.bus.calls == [10, 10]
    # what the bus accepted is deleted (the retry republishes it: at least once), the rest stays
    assert str(events[12].event_id) not in {str(e.event_id) for e in world.bus.published}
    assert len(world.outbox.deleted) == 19
    assert OutboxKey(events[12].tenant, outbox_position(events[12])) not in world.outbox.deleted


def test_a_bus_outage_fails_from_the_first_record_and_deletes_nothing(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    raws = [stream_record(make_event()) for _ in range(3)]
    world.bus.down = True
    report = world.relay(raws)
    assert report.failed_sequence_number == raws[0]["dynamodb"]["SequenceNumber"]
    assert report.failure_codes == ["InternalError"]
    assert world.outbox.deleted == []


def test_a_poison_record_goes_to_the_dlq_with_its_reason_and_does_not_block(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # Given a record whose image holds no envelope between two good ones
    first, last = make_event(), make_event()
    poison = stream_record(make_event())
    poison["dynamodb"]["NewImage"]["event"] = {"S": '{"type": "not an envelope"}'}

    # When relayed
    report = world.relay([stream_record(first), poison, stream_record(last)])

    # Then the poison record is quarantined (whole record, with its reason), the others published
    (quarantined,) = world.dead_letters.messages
    assert quarantined["message_id"] == poison["dynamodb"]["SequenceNumber"]
    assert quarantined["reason"].startswith("invalid envelope")
    assert json.loads(quarantined["body"]) == poison
    assert world.bus.published == [first, last]
    assert (report.poison, report.failed_sequence_number) == (1, None)


def test_each_event_goes_to_its_producers_topic_in_stream_order(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # Given identity and authz events interleaved, each from its producer's outbox
    user, policy, token = (
        make_event(),
        make_event(type="authz.policy_activated"),
        make_event(type="token.issued"),
    )

    # When relayed
    report = world.relay([stream_record(e) for e in (user, policy, token)])

    # Then each is published on its producer's topic, one PublishBatch per run (order kept)
    assert world.bus.published == [user, token]
    assert world.authz_bus.published == [policy]
    assert (world.bus.calls, world.authz_bus.calls) == ([1, 1], [1])
    assert report.published == 3
    # And each item is deleted from its own outbox
    assert world.authz_outbox.deleted == [OutboxKey(policy.tenant, outbox_position(policy))]
    assert len(world.outbox.deleted) == 2


def test_an_outbox_event_of_a_producer_the_relay_does_not_speak_for_is_poison(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # Given a documents event written to identity's outbox (by a writer speaking for another producer)
    forged = stream_record(make_event(type="document.deleted"), table=OUTBOX_TABLES[IDENTITY])

    # When relayed
    report = world.relay([forged])

    # Then nothing is published: the DLQ holds it with the reason
    (quarantined,) = world.dead_letters.messages
    assert quarantined["reason"] == "type document.* is outside the identity producer's namespace"
    assert (world.bus.published, world.authz_bus.published, report.poison) == ([], [], 1)


@pytest.mark.parametrize(
    ("event_type", "outbox", "reason"),
    [
        # An identity writer (login, token service, users) speaking for authz
        ("authz.policy_activated", IDENTITY, "type authz.* is outside the identity producer's namespace"),
        # The authz function speaking for identity
        ("user.deleted", AUTHZ, "type user.* is outside the authz producer's namespace"),
    ],
)
def test_a_row_its_outboxs_producer_may_not_say_is_poison_and_not_deleted(
    world: World,
    make_event: Callable[..., EventEnvelope],
    stream_record: Callable[..., dict[str, Any]],
    event_type: str,
    outbox: str,
    reason: str,
) -> None:
    # Given a row of the other producer's type in one producer's outbox, beside a genuine one
    genuine = make_event(type="token.issued" if outbox == IDENTITY else "authz.policy_rolled_back")
    forged = stream_record(make_event(type=event_type), table=OUTBOX_TABLES[outbox])

    # When relayed
    report = world.relay([forged, stream_record(genuine, table=OUTBOX_TABLES[outbox])])

    # Then only the genuine one is published, on its producer's topic; the forged one is in the DLQ
    (quarantined,) = world.dead_letters.messages
    assert quarantined["reason"] == reason
    assert world.bus.published + world.authz_bus.published == [genuine]
    assert (world.bus.published == [genuine]) == (outbox == IDENTITY)
    assert (report.poison, report.published, report.failed_sequence_number) == (1, 1, None)


def test_a_decision_in_a_deciders_outbox_goes_on_that_producers_topic(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # A decision belongs to its decider (users decides in-process): said on identity's topic
    decision = make_event(type="authz.decision")
    world.relay([stream_record(decision, table=OUTBOX_TABLES[IDENTITY])])
    assert (world.bus.published, world.authz_bus.published) == ([decision], [])


@pytest.mark.parametrize(
    "source_arn",
    [
        "arn:aws:dynamodb:eu-west-1:123456789012:table/echo-local-documents/stream/2026-01-05T09:00:00.000",
        "arn:aws:sqs:eu-west-1:123456789012:echo-local-outbox",
        None,
    ],
)
def test_a_record_from_a_table_that_is_no_producers_outbox_is_poison(
    world: World,
    make_event: Callable[..., EventEnvelope],
    stream_record: Callable[..., dict[str, Any]],
    source_arn: str | None,
) -> None:
    record = stream_record(make_event())
    record["eventSourceARN"] = source_arn
    report = world.relay([record])
    assert (
        world.dead_letters.messages[0]["reason"] == "stream record from a table that is no producer's outbox"
    )
    assert (world.bus.published, report.poison) == ([], 1)


def test_the_outbox_tables_are_parsed_strictly() -> None:
    assert parse_outbox_tables(json.dumps(OUTBOX_TABLES)) == OUTBOX_TABLES
    with pytest.raises(ValueError, match="unknown producers"):
        parse_outbox_tables(json.dumps({"billing": "t"}))
    with pytest.raises(ValueError, match="share an outbox table"):
        parse_outbox_tables(json.dumps({IDENTITY: "t", AUTHZ: "t"}))
    with pytest.raises(ValueError, match="not JSON"):
        parse_outbox_tables("identity=t")


def test_a_poison_record_the_dlq_refuses_stops_the_shard_there(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    first, last = make_event(), make_event()
    poison = stream_record(make_event())
    del poison["dynamodb"]["NewImage"]
    world.dead_letters.failing = True
    report = world.relay([stream_record(first), poison, stream_record(last)])
    assert world.bus.published == [first]
    assert report.failed_sequence_number == poison["dynamodb"]["SequenceNumber"]


def test_an_event_of_another_tenant_than_its_key_is_poison(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    record = stream_record(make_event(tenant="acme"))
    record["dynamodb"]["Keys"]["tenant"] = {"S": "other"}
    world.relay([record])
    assert world.bus.published == []
    assert world.dead_letters.messages[0]["reason"] == "event tenant does not match the outbox partition key"


def test_a_redriven_item_in_the_same_batch_as_its_insert_is_published_once(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    event = make_event()
    report = world.relay([stream_record(event), stream_record(event, change="MODIFY")])
    assert world.bus.published == [event]
    assert report.skipped == 1


def test_a_failed_delete_is_reported_not_retried(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    world.outbox.failing_deletes = True
    report = world.relay([stream_record(make_event())])
    assert (report.published, report.not_deleted, report.failed_sequence_number) == (1, 1, None)


def test_unknown_stream_changes_are_poison(
    world: World, make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    record = stream_record(make_event())
    record["eventName"] = "TRUNCATE"
    assert OutboxRecord.from_stream(record).change is None
    world.relay([record])
    assert world.dead_letters.messages[0]["reason"] == "not an INSERT, MODIFY or REMOVE stream record"


def test_the_documents_outbox_is_relayed_on_the_documents_topic_and_speaks_for_documents_only(
    make_event: Callable[..., EventEnvelope], stream_record: Callable[..., dict[str, Any]]
) -> None:
    # Given the relay of the three outboxes, and the documents outbox holding a record change's
    # event beside an identity type no document function may say
    documents_table = "echo-local-outbox-documents"
    bus, documents_bus, documents_outbox = (
        UnreliableEventPublisher(),
        UnreliableEventPublisher(),
        InMemoryOutbox(),
    )
    dead_letters = InMemoryDeadLetterSink()
    deps = RelayDependencies(
        buses={IDENTITY: bus, AUTHZ: UnreliableEventPublisher(), DOCUMENTS: documents_bus},
        tables={**OUTBOX_TABLES, DOCUMENTS: documents_table},
        outboxes={IDENTITY: InMemoryOutbox(), AUTHZ: InMemoryOutbox(), DOCUMENTS: documents_outbox},
        dead_letters=dead_letters,
    )
    parsed = make_event(type="document.parsed")
    forged = make_event(type="user.deleted")
    records = [stream_record(e, table=documents_table) for e in (parsed, forged)]
    # When relayed
    report = relay([OutboxRecord.from_stream(raw) for raw in records], deps)
    # Then the document event goes on the documents topic and leaves its outbox; the other is poison
    assert (documents_bus.published, bus.published) == ([parsed], [])
    assert documents_outbox.deleted == [OutboxKey(parsed.tenant, outbox_position(parsed))]
    (quarantined,) = dead_letters.messages
    assert quarantined["reason"] == "type user.* is outside the documents producer's namespace"
    assert (report.published, report.poison) == (1, 1)
