"""The outbox relay's event source mapping, played in-process for moto tests (ADR 0014)."""

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from echo_shared.events.producers import AUTHZ, IDENTITY

from tests.fakes.events import TEST_TOPICS


def capture_bus(name: str, *topic_arns: str) -> str:
    """A raw-delivery queue subscribed to the given topics (created as needed) and to the identity and
    authz topics the relay publishes on (ADR 0016): everything published there, read back."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for topic in dict.fromkeys([*topic_arns, TEST_TOPICS[IDENTITY], TEST_TOPICS[AUTHZ]]):
        topic_arn = sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"]
        assert topic_arn == topic
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
    return queue_url


def outbox_stream(dynamodb: Any, table: str, context: Any) -> Callable[[], None]:
    """What the relay's event source mapping does: hand the outbox's new items, as INSERT stream
    records (NEW_IMAGE) in key order, to the relay handler, which publishes and deletes them.
    (moto's DynamoDB Streams API is not served to this botocore, so the records are built here.)"""
    from outbox_relay.handler import lambda_handler as relay

    sequence = itertools.count(1)

    def drain() -> None:
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        items.sort(key=lambda item: (item["tenant"]["S"], item["position"]["S"]))
        records = [
            {
                "eventID": str(uuid.uuid4()),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "Keys": {"tenant": item["tenant"], "position": item["position"]},
                    "NewImage": item,
                    "SequenceNumber": f"{next(sequence):021d}",
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/x",
            }
            for item in items
        ]
        if records:
            assert relay({"Records": records}, context) == {"batchItemFailures": []}

    return drain
