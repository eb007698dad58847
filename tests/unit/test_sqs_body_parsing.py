import json
from collections.abc import Callable
from typing import Any

import pytest
from echo_shared.events import EventEnvelope, InvalidEvent, parse_sqs_body


def test_raw_delivery_body_is_the_envelope(make_event: Callable[..., EventEnvelope]) -> None:
    # Given an envelope delivered with SNS raw message delivery
    event = make_event()

    # When / Then the body parses back to the same envelope
    assert parse_sqs_body(event.to_json()) == event


def test_sns_wrapped_body_is_unwrapped(make_event: Callable[..., EventEnvelope]) -> None:
    # Given the same envelope wrapped in an SNS notification
    event = make_event()
    body = json.dumps(
        {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:t", "Message": event.to_json()}
    )

    # When / Then the notification's Message is parsed
    assert parse_sqs_body(body) == event


def test_samples_in_events_dir_parse(sample_event: Callable[[str], dict[str, Any]]) -> None:
    # Given Echo's own ingest sample (one raw, one wrapped, one raw record)
    records = sample_event("audit_ingest.sqs.json")["Records"]

    # When each body is parsed
    parsed = [parse_sqs_body(record["body"]) for record in records]

    # Then all are valid envelopes with the expected types
    assert [event.type for event in parsed] == ["user.logged_in", "token.issued", "authz.decision"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Test message.", "body is not JSON"),
        ("[1, 2]", "body is not a JSON object"),
        ('{"Type": "SubscriptionConfirmation", "Token": "t"}', "SNS message is not a Notification"),
        ('{"Type": "Notification", "Message": {"nested": true}}', "SNS notification has no string Message"),
        ('{"Type": "Notification", "Message": "nope"}', "SNS Message is not JSON"),
    ],
)
def test_unusable_bodies_raise_invalid_event_with_a_reason(body: str, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_sqs_body(body)
    assert caught.value.reason == reason


def test_powertools_sns_over_sqs_fixture_is_rejected_without_quoting_its_data(
    aws_fixture_event: Callable[[str], dict[str, Any]],
) -> None:
    # Given AWS's SNS->SQS sample, whose Message is not an Echo envelope
    body = aws_fixture_event("snsSqsEvent.json")["Records"][0]["body"]

    # When it is parsed
    with pytest.raises(InvalidEvent) as caught:
        parse_sqs_body(body)

    # Then the reason names the problems but never the payload's values
    assert caught.value.reason.startswith("invalid envelope:")
    assert "event_id: Field required" in caught.value.reason
    assert "hello world" not in caught.value.reason
    assert "lessa" not in caught.value.reason


def test_invalid_envelope_reason_omits_field_values(make_event: Callable[..., EventEnvelope]) -> None:
    document = json.loads(make_event().to_json()) | {"type": "Secret Value", "actor": ""}
    with pytest.raises(InvalidEvent) as caught:
        parse_sqs_body(json.dumps(document))
    assert "type:" in caught.value.reason
    assert "actor:" in caught.value.reason
    assert "Secret Value" not in caught.value.reason
