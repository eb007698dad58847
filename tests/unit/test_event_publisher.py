from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.stub import ANY, Stubber
from echo_shared.events import MAX_BATCH_SIZE, EventEnvelope, PublishFailed, SnsEventPublisher
from echo_shared.events import publisher as publisher_module

from tests.fakes.events import InMemoryEventPublisher

TOPIC = "arn:aws:sns:eu-west-1:123456789012:echo-test-events"


@pytest.fixture
def sns() -> Iterator[tuple[SnsEventPublisher, Stubber]]:
    client = boto3.client("sns", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield SnsEventPublisher(TOPIC, client=client), stubber
        stubber.assert_no_pending_responses()


def _attributes(event: EventEnvelope) -> dict[str, dict[str, str]]:
    return {
        "type": {"DataType": "String", "StringValue": event.type},
        "tenant": {"DataType": "String", "StringValue": event.tenant},
    }


def test_publish_sends_the_envelope_with_filterable_attributes(
    sns: tuple[SnsEventPublisher, Stubber], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given an event and an SNS client expecting exactly this request
    publisher, stubber = sns
    event = make_event(type="token.issued", tenant="globex")
    stubber.add_response(
        "publish",
        {"MessageId": "m-1"},
        {"TopicArn": TOPIC, "Message": event.to_json(), "MessageAttributes": _attributes(event)},
    )

    # When / Then publishing issues that request (the stubber fails on any difference)
    publisher.publish(event)


def test_publish_error_becomes_publish_failed(
    sns: tuple[SnsEventPublisher, Stubber], make_event: Callable[..., EventEnvelope]
) -> None:
    publisher, stubber = sns
    event = make_event()
    stubber.add_client_error("publish", service_error_code="AuthorizationError", http_status_code=403)

    with pytest.raises(PublishFailed) as caught:
        publisher.publish(event)
    assert caught.value.failed_event_ids == (str(event.event_id),)
    assert caught.value.codes == ("AuthorizationError",)


def test_publish_batch_reports_partial_failure(
    sns: tuple[SnsEventPublisher, Stubber], make_event: Callable[..., EventEnvelope]
) -> None:
    # Given three events of which SNS rejects the second
    publisher, stubber = sns
    events = [make_event() for _ in range(3)]
    stubber.add_response(
        "publish_batch",
        {
            "Successful": [
                {"Id": str(events[0].event_id), "MessageId": "m-0"},
                {"Id": str(events[2].event_id), "MessageId": "m-2"},
            ],
            "Failed": [{"Id": str(events[1].event_id), "Code": "InternalError", "SenderFault": False}],
        },
        {
            "TopicArn": TOPIC,
            "PublishBatchRequestEntries": [
                {"Id": str(e.event_id), "Message": e.to_json(), "MessageAttributes": _attributes(e)}
                for e in events
            ],
        },
    )

    # When the batch is published
    with pytest.raises(PublishFailed) as caught:
        publisher.publish_batch(events)

    # Then the error names exactly the failed event
    assert caught.value.failed_event_ids == (str(events[1].event_id),)
    assert caught.value.codes == ("InternalError",)


def test_publish_batch_success(
    sns: tuple[SnsEventPublisher, Stubber], make_event: Callable[..., EventEnvelope]
) -> None:
    publisher, stubber = sns
    events = [make_event() for _ in range(MAX_BATCH_SIZE)]
    stubber.add_response(
        "publish_batch",
        {"Successful": [{"Id": str(e.event_id), "MessageId": "m"} for e in events], "Failed": []},
        {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY},
    )
    publisher.publish_batch(events)


def test_batches_over_ten_or_with_repeated_ids_are_refused(make_event: Callable[..., EventEnvelope]) -> None:
    fake = InMemoryEventPublisher()
    with pytest.raises(ValueError, match="at most"):
        fake.publish_batch([make_event() for _ in range(MAX_BATCH_SIZE + 1)])
    event = make_event()
    with pytest.raises(ValueError, match="repeat"):
        fake.publish_batch([event, event])
    assert fake.published == []


def test_in_memory_publisher_keeps_order(make_event: Callable[..., EventEnvelope]) -> None:
    fake = InMemoryEventPublisher()
    first, second, third = make_event(), make_event(), make_event()
    fake.publish(first)
    fake.publish_batch([second, third])
    assert fake.published == [first, second, third]


def test_every_event_the_bus_refuses_is_counted_for_the_alarm(
    sns: tuple[SnsEventPublisher, Stubber],
    make_event: Callable[..., EventEnvelope],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a bus that refuses one event of a batch, then a whole publish call
    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(publisher_module, "count", lambda name, value=1: counted.append((name, value)))
    publisher, stubber = sns
    events = [make_event() for _ in range(2)]
    stubber.add_response(
        "publish_batch",
        {
            "Successful": [{"Id": str(events[0].event_id), "MessageId": "m-0"}],
            "Failed": [{"Id": str(events[1].event_id), "Code": "InternalError", "SenderFault": False}],
        },
        {"TopicArn": TOPIC, "PublishBatchRequestEntries": ANY},
    )
    stubber.add_client_error("publish", service_error_code="Throttled", http_status_code=400)
    # When both are published
    with pytest.raises(PublishFailed):
        publisher.publish_batch(events)
    with pytest.raises(PublishFailed):
        publisher.publish(make_event())
    # Then each refused event is counted once
    assert counted == [("EventsNotPublished", 1), ("EventsNotPublished", 1)]
