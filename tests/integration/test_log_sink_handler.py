"""log_sink.handler against a moto LOG_TABLE with TTL."""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from echo_shared.events import EventEnvelope, parse_sqs_body
from log_sink.handler import lambda_handler

from tests.conftest import FakeLambdaContext, LambdaOutput
from tests.integration.conftest import AwsResources


def test_sample_log_events_are_stored_with_ttl(
    aws: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given the log sink sample (one raw, one SNS-wrapped log event) and 30 days' retention
    event = sample_event("log_sink.sqs.json")
    envelopes = [parse_sqs_body(record["body"]) for record in event["Records"]]

    # When processed
    response = lambda_handler(event, lambda_context)

    # Then both are stored under `<occurred_at>#<event_id>` with expires_at 30 days after they occurred
    assert response == {"batchItemFailures": []}
    items = {item["sort_key"]["S"]: item for item in aws.log_items("acme")}
    for envelope in envelopes:
        occurred = envelope.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        item = items[f"{occurred}#{envelope.event_id}"]
        assert int(item["expires_at"]["N"]) == int(envelope.occurred_at.timestamp()) + 30 * 86400
        assert item["type"]["S"] == envelope.type
        assert json.loads(item["data"]["S"]) == envelope.data
    ttl = aws.dynamodb.describe_time_to_live(TableName=aws.table("LOG_TABLE"))["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    assert lambda_output.metrics()["LogEntriesStored"] == 2


def test_redelivered_log_event_is_stored_once(
    aws: AwsResources,
    sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given a log event delivered twice in one batch and again later
    body = make_event(type="log.error", data={"message": "boom"}).to_json()

    # When processed
    first = lambda_handler(sqs_event(body, body), lambda_context)
    later = lambda_handler(sqs_event(body, receive_count=3), lambda_context)

    # Then every delivery succeeds and one item exists
    assert first == later == {"batchItemFailures": []}
    assert len(aws.log_items("acme")) == 1
    assert lambda_output.metrics()["LogDuplicates"] == 2


def test_poison_fails_alone_and_non_log_events_are_skipped(
    aws: AwsResources,
    sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given a log event, a poison body and an audit-only event that slipped past the filter policy
    batch = sqs_event(
        make_event(type="log.warning").to_json(),
        '{"message": "foo1"}',
        make_event(type="user.logged_in").to_json(),
    )

    # When processed
    response = lambda_handler(batch, lambda_context)

    # Then the poison is quarantined in the DLQ; the log event is stored; the other is skipped
    assert response == {"batchItemFailures": []}
    assert [m["echo_source_message_id"] for m in aws.dead_letters()] == [batch["Records"][1]["messageId"]]
    assert [item["type"]["S"] for item in aws.log_items("acme")] == ["log.warning"]
    metrics = lambda_output.metrics()
    assert (metrics["LogPoisonMessages"], metrics["LogEventsSkipped"]) == (1, 1)
    assert "foo1" not in lambda_output.text


def test_aws_sqs_sample_is_rejected_record_by_record(
    aws: AwsResources,
    aws_fixture_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
) -> None:
    event = aws_fixture_event("sqsEvent.json")
    response = lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    assert aws.log_items("acme") == []
    assert sorted(m["echo_source_message_id"] for m in aws.dead_letters()) == sorted(
        r["messageId"] for r in event["Records"]
    )


def test_entry_is_kept_even_if_already_past_retention(
    aws: AwsResources,
    sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
) -> None:
    # Given an old event replayed from a DLQ: DynamoDB's TTL sweeper, not the sink, removes it
    old = make_event(type="log.info", occurred_at=datetime.fromisoformat("2020-01-01T00:00:00+00:00"))
    lambda_handler(sqs_event(old.to_json()), lambda_context)
    (item,) = aws.log_items("acme")
    assert int(item["expires_at"]["N"]) == int(
        datetime.fromisoformat("2020-01-31T00:00:00+00:00").timestamp()
    )
