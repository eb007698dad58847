"""Audit throughput on the deployed stack, each figure beside a naive consumer measured in the same run.

- `drain`: a backlog of DRAIN_EVENTS envelopes already in the queue (the event-source mapping is
  disabled while it is filled), then the mapping is enabled: events/s until the queue is empty.
- `publish_<n>_tenants`: PUBLISH_EVENTS envelopes published to the topic (PublishBatch, 10 per
  call) across n tenants: events/s from the first publish to the last record stored.

The naive consumer is a throwaway topic -> queue -> Lambda -> table with the same event-source
settings (batch size, batching window) as the ingest; it writes one PutItem per event: no hash chain,
no exactly-once guard, no checkpoint. Sizes can be lowered for a quick look with ECHO_BENCH_AUDIT_SCALE
(e.g. 0.1).
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from tests.bench.common import REPO, client, contract

_SCALE = float(os.environ.get("ECHO_BENCH_AUDIT_SCALE") or 1)
DRAIN_EVENTS = int(20_000 * _SCALE)
DRAIN_TENANTS = 10
PUBLISH_EVENTS = int(5_000 * _SCALE)
# The naive consumer pays one sequential PutItem per event (~30 ms each on a busy 2-core LocalStack):
# draining the full sizes would take 10+ minutes, so it runs on a smaller sample; its rate is flat
# (no per-batch fixed cost worth amortising), so events/s stay comparable.
NAIVE_EVENTS = int(1_000 * _SCALE)
PUBLISH_TENANTS = (1, 50)
TIMEOUT_S = 240
# A naive batch of 1,000 sequential PutItems takes ~30 s on a busy machine.
NAIVE_TIMEOUT_S = 120
SENDERS = 4


def _events(tenants: list[str], count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [
        {
            "event_id": str(uuid.uuid4()),
            # The platform producer's namespace (ADR 0016): the ingest refuses a type its topic may not speak.
            "type": "log.bench_recorded",
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


def _tenants(label: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"bench-{label}-{run}-{n}" for n in range(count)]


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": {"DataType": "String", "StringValue": event["type"]},
        "tenant": {"DataType": "String", "StringValue": event["tenant"]},
    }


def _in_parallel(action: Callable[[list[dict[str, Any]]], None], events: list[dict[str, Any]]) -> None:
    batches = [events[start : start + 10] for start in range(0, len(events), 10)]
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(action, batches))


def _publish(topic_arn: str, events: list[dict[str, Any]]) -> None:
    sns = client("sns")

    def send(batch: list[dict[str, Any]]) -> None:
        response = sns.publish_batch(
            TopicArn=topic_arn,
            PublishBatchRequestEntries=[
                {"Id": str(n), "Message": json.dumps(e), "MessageAttributes": _attributes(e)}
                for n, e in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            raise RuntimeError(f"publish failed: {response['Failed']}")

    _in_parallel(send, events)


def _notification(topic_arn: str, event: dict[str, Any]) -> str:
    """What SNS delivers to the audit queue (no raw delivery): the ingest reads the producer from TopicArn."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": json.dumps(event),
            "Timestamp": event["occurred_at"],
        }
    )


def _enqueue(queue_url: str, events: list[dict[str, Any]], *, topic_arn: str | None = None) -> None:
    """Straight into the queue; with `topic_arn`, each body is the SNS notification of that topic."""
    sqs = client("sqs")

    def body(event: dict[str, Any]) -> str:
        return json.dumps(event) if topic_arn is None else _notification(topic_arn, event)

    def send(batch: list[dict[str, Any]]) -> None:
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "MessageBody": body(e)} for n, e in enumerate(batch)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"enqueue failed: {response['Failed']}")

    _in_parallel(send, events)


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


def _queue_depth(queue_url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _set_mapping(uuid_: str, *, enabled: bool) -> None:
    lambda_ = client("lambda")
    lambda_.update_event_source_mapping(UUID=uuid_, Enabled=enabled)
    wanted = "Enabled" if enabled else "Disabled"
    deadline = time.monotonic() + 60
    while lambda_.get_event_source_mapping(UUID=uuid_)["State"] != wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"event-source mapping {uuid_} never became {wanted}")
        time.sleep(0.2)


def _figures(events: int, stored: int, elapsed: float, **extra: Any) -> dict[str, Any]:
    return {
        "events": events,
        "stored": stored,
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(stored / elapsed, 1) if elapsed else None,
        **extra,
    }


def _drain(
    queue_url: str,
    mapping: str,
    table: str,
    tenants: list[str],
    size: int,
    *,
    topic_arn: str | None = None,
) -> dict[str, Any]:
    """Fill the queue with the mapping off, switch it on, time until the queue is empty."""
    events = _events(tenants, size)
    _set_mapping(mapping, enabled=False)
    try:
        filled = time.perf_counter()
        _enqueue(queue_url, events, topic_arn=topic_arn)
        fill_s = time.perf_counter() - filled
    finally:
        started = time.perf_counter()
        _set_mapping(mapping, enabled=True)
    while _queue_depth(queue_url) > 0 and time.perf_counter() - started < TIMEOUT_S:
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    return _figures(size, _count(table, tenants), elapsed, fill_s=round(fill_s, 2))


def _publish_to_stored(
    topic_arn: str, queue_url: str, table: str, tenants: list[str], size: int
) -> dict[str, Any]:
    events = _events(tenants, size)
    started = time.perf_counter()
    _publish(topic_arn, events)
    published = time.perf_counter() - started
    stored = 0
    while time.perf_counter() - started < TIMEOUT_S:
        # Counting is dear (a query per tenant): only once the queue looks empty.
        if _queue_depth(queue_url) == 0 and (stored := _count(table, tenants)) >= len(events):
            break
        time.sleep(0.2)
    return _figures(len(events), stored, time.perf_counter() - started, publish_s=round(published, 2))


class NaivePipeline:
    """A throwaway topic -> queue -> naive Lambda -> table, torn down after the run."""

    def __init__(self, batch_size: int, batching_window_s: int) -> None:
        self.batch_size = batch_size
        self.batching_window_s = batching_window_s
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
            QueueName=self.names["queue"], Attributes={"VisibilityTimeout": str(6 * NAIVE_TIMEOUT_S)}
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
            Timeout=NAIVE_TIMEOUT_S,
            MemorySize=512,
            Environment={"Variables": {"TABLE": self.names["table"]}},
        )
        lambda_.get_waiter("function_active_v2").wait(FunctionName=self.names["fn"])
        # The same event-source settings as the ingest, so only the consumers differ.
        self.mapping = lambda_.create_event_source_mapping(
            FunctionName=self.names["fn"],
            EventSourceArn=queue_arn,
            BatchSize=self.batch_size,
            MaximumBatchingWindowInSeconds=self.batching_window_s,
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


def _ingest_mapping(function_name: str) -> dict[str, Any]:
    mappings = client("lambda").list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
    return next(m for m in mappings if ":sqs:" in m["EventSourceArn"])


def _ratio(echo: dict[str, Any], naive: dict[str, Any]) -> float | None:
    if not echo["events_per_s"] or not naive["events_per_s"]:
        return None
    return round(echo["events_per_s"] / naive["events_per_s"], 2)


def run() -> dict[str, Any]:
    stack = contract()
    sqs = client("sqs")
    audit_queue = sqs.get_queue_url(QueueName=stack["queues"]["audit"].rsplit("/", 1)[1])["QueueUrl"]
    ingest = _ingest_mapping(stack["functions"]["audit_ingest"])
    mapping, batch_size, window = (
        ingest["UUID"],
        ingest["BatchSize"],
        ingest["MaximumBatchingWindowInSeconds"],
    )
    chain_table = stack["tables"]["audit_chain"]
    results: dict[str, Any] = {"settings": {"batch_size": batch_size, "batching_window_s": window}}
    with NaivePipeline(batch_size, window) as naive:
        tenants = _tenants("drain", DRAIN_TENANTS)
        echo = _drain(
            audit_queue, mapping, chain_table, tenants, DRAIN_EVENTS, topic_arn=stack["topics"]["platform"]
        )
        baseline = _drain(naive.queue_url, naive.mapping, naive.names["table"], tenants, NAIVE_EVENTS)
        results[f"drain_{DRAIN_TENANTS}_tenants"] = {
            "echo_chained": echo,
            "naive_put_item": baseline,
            "ratio_echo_to_naive": _ratio(echo, baseline),
        }
        for tenant_count in PUBLISH_TENANTS:
            tenants = _tenants(f"publish{tenant_count}", tenant_count)
            echo = _publish_to_stored(
                stack["topics"]["platform"], audit_queue, chain_table, tenants, PUBLISH_EVENTS
            )
            baseline = _publish_to_stored(
                naive.topic_arn, naive.queue_url, naive.names["table"], tenants, NAIVE_EVENTS
            )
            results[f"publish_{tenant_count}_tenants"] = {
                "echo_chained": echo,
                "naive_put_item": baseline,
                "ratio_echo_to_naive": _ratio(echo, baseline),
            }
    return results


def render(figures: dict[str, Any]) -> list[str]:
    settings = figures.get("settings", {})
    lines = [
        "## Audit throughput (events/s)",
        "",
        f"Ingest and naive consumer both on SQS batches of {settings.get('batch_size', '?')} with a "
        f"{settings.get('batching_window_s', '?')} s window. `drain`: a backlog already in the queue; "
        "`publish`: PublishBatch to the topic until the last record is stored.",
        "",
        "| path | Echo chained | naive PutItem | ratio Echo/naive |",
        "|---|---|---|---|",
    ]
    for label, entry in figures.items():
        if label == "settings" or not isinstance(entry, dict) or "echo_chained" not in entry:
            continue
        echo, naive = entry["echo_chained"], entry["naive_put_item"]
        lines.append(
            f"| {label} | {echo['events_per_s']} ({echo['stored']}/{echo['events']}) "
            f"| {naive['events_per_s']} ({naive['stored']}/{naive['events']}) | {entry['ratio_echo_to_naive']} |"
        )
    return lines
