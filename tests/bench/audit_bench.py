"""Audit throughput end to end (publish -> chained record) against a naive consumer, same run.

Both paths are SNS -> SQS (batch 100, 1 s window) -> Lambda -> DynamoDB on the same LocalStack. The naive
consumer writes one PutItem per event: no hash chain, no exactly-once guard, no checkpoint.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tests.bench.common import REPO, client, contract

EVENTS = 300
TIMEOUT_S = 300


def _events(tenants: list[str], count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [
        {
            "event_id": str(uuid.uuid4()),
            "type": "bench.recorded",
            "tenant": tenants[i % len(tenants)],
            "actor": "bench",
            "action": "record",
            "resource": f"bench/{i}",
            "outcome": "success",
            "occurred_at": now,
            "request_id": f"bench-{i}",
            "data": {"i": i},
        }
        for i in range(count)
    ]


def _publish(topic_arn: str, events: list[dict[str, Any]]) -> None:
    sns = client("sns")
    for start in range(0, len(events), 10):
        batch = events[start : start + 10]
        sns.publish_batch(
            TopicArn=topic_arn,
            PublishBatchRequestEntries=[
                {
                    "Id": str(n),
                    "Message": json.dumps(event),
                    "MessageAttributes": {
                        "type": {"DataType": "String", "StringValue": event["type"]},
                        "tenant": {"DataType": "String", "StringValue": event["tenant"]},
                    },
                }
                for n, event in enumerate(batch)
            ],
        )


def _count(table: str, tenants: list[str]) -> int:
    dynamodb = client("dynamodb")
    total = 0
    for tenant in tenants:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": tenant}},
            Select="COUNT",
        )
        total += sum(page["Count"] for page in pages)
    return total


def _measure(publish: Callable[[], None], done: Callable[[], int], expected: int) -> dict[str, Any]:
    started = time.perf_counter()
    publish()
    published = time.perf_counter() - started
    while (stored := done()) < expected:
        if time.perf_counter() - started > TIMEOUT_S:
            break
        time.sleep(0.25)
    elapsed = time.perf_counter() - started
    return {
        "events": expected,
        "stored": stored,
        "publish_s": round(published, 2),
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(stored / elapsed, 1),
    }


class NaivePipeline:
    """A throwaway topic -> queue -> naive Lambda -> table, torn down after the run."""

    def __init__(self) -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.names = {k: f"echo-bench-naive-{k}-{self.suffix}" for k in ("topic", "queue", "table", "fn")}

    def __enter__(self) -> NaivePipeline:
        dynamodb, sqs, sns, lambda_ = client("dynamodb"), client("sqs"), client("sns"), client("lambda")
        dynamodb.create_table(
            TableName=self.names["table"],
            KeySchema=[
                {"AttributeName": "tenant", "KeyType": "HASH"},
                {"AttributeName": "event_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "tenant", "AttributeType": "S"},
                {"AttributeName": "event_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.topic_arn = sns.create_topic(Name=self.names["topic"])["TopicArn"]
        self.queue_url = sqs.create_queue(
            QueueName=self.names["queue"], Attributes={"VisibilityTimeout": "60"}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.write(REPO / "tests/bench/naive_consumer/handler.py", "handler.py")
        lambda_.create_function(
            FunctionName=self.names["fn"],
            Runtime="python3.13",
            Role="arn:aws:iam::000000000000:role/bench",
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
            Timeout=30,
            MemorySize=512,
            Environment={"Variables": {"TABLE": self.names["table"]}},
        )
        lambda_.get_waiter("function_active_v2").wait(FunctionName=self.names["fn"])
        self.mapping = lambda_.create_event_source_mapping(
            FunctionName=self.names["fn"],
            EventSourceArn=queue_arn,
            BatchSize=100,
            MaximumBatchingWindowInSeconds=1,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )["UUID"]
        return self

    def __exit__(self, *_: object) -> None:
        lambda_ = client("lambda")
        lambda_.delete_event_source_mapping(UUID=self.mapping)
        lambda_.delete_function(FunctionName=self.names["fn"])
        client("sqs").delete_queue(QueueUrl=self.queue_url)
        client("sns").delete_topic(TopicArn=self.topic_arn)
        client("dynamodb").delete_table(TableName=self.names["table"])


def run() -> dict[str, Any]:
    stack = contract()
    results: dict[str, Any] = {}
    for label, tenant_count in (("one_tenant", 1), ("ten_tenants", 10)):
        tenants = [f"bench-{label}-{uuid.uuid4().hex[:6]}-{n}" for n in range(tenant_count)]
        echo = _measure(
            partial(_publish, stack["topics"]["events"], _events(tenants, EVENTS)),
            partial(_count, stack["tables"]["audit_chain"], tenants),
            EVENTS,
        )
        with NaivePipeline() as naive:
            baseline = _measure(
                partial(_publish, naive.topic_arn, _events(tenants, EVENTS)),
                partial(_count, naive.names["table"], tenants),
                EVENTS,
            )
        results[label] = {
            "echo_chained": echo,
            "naive_put_item": baseline,
            "ratio_echo_to_naive": round(echo["events_per_s"] / baseline["events_per_s"], 2)
            if baseline["events_per_s"]
            else None,
        }
    return results
