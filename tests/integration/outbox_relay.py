"""The outbox relay's event source mapping, played in-process for moto tests (ADR 0014)."""

import itertools
import uuid
from collections.abc import Callable
from typing import Any


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
