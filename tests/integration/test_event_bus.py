"""The SNS adapter end to end on moto: both subscription styles reach the consumers' parser."""

import json
from collections.abc import Callable
from typing import Any

import boto3
from echo_shared.events import EventEnvelope, SnsEventPublisher, parse_sqs_body

from tests.integration.conftest import AwsResources


def _queue(sqs: Any, sns: Any, topic_arn: str, name: str, **attributes: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return str(url)


def _bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [message["Body"] for message in messages]


def test_published_events_reach_raw_and_wrapped_subscribers_and_filters_apply(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a topic with an audit queue (raw delivery, every event) and a log queue (wrapped, log.* only)
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="echo-test-events")["TopicArn"]
    audit_url = _queue(sqs, sns, topic_arn, "audit", RawMessageDelivery="true")
    logs_url = _queue(sqs, sns, topic_arn, "logs", FilterPolicy='{"type": [{"prefix": "log."}]}')
    login, log_line, upload = (
        make_event(type="user.logged_in"),
        make_event(type="log.error", tenant="globex"),
        make_event(type="document.uploaded"),
    )

    # When one event is published alone and two in a batch
    publisher = SnsEventPublisher(topic_arn)
    publisher.publish(login)
    publisher.publish_batch([log_line, upload])

    # Then the audit queue gets all three as raw envelopes, the log queue only the log event, wrapped
    assert sorted(parse_sqs_body(b).event_id.hex for b in _bodies(sqs, audit_url)) == sorted(
        e.event_id.hex for e in (login, log_line, upload)
    )
    (log_body,) = _bodies(sqs, logs_url)
    assert json.loads(log_body)["Type"] == "Notification"
    assert parse_sqs_body(log_body) == log_line
