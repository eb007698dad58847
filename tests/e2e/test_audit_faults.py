"""Faults on the deployed pipeline: nothing lost, nothing duplicated, the chain still verifies."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import QUEUE_DRAIN_TIMEOUT_S, AuditApi, make_event, sns_body, topic_of, wait_for


def _sqs_event(events: list[dict[str, Any]], queue_arn: str, stack: dict[str, Any]) -> dict[str, Any]:
    """What the audit queue hands the ingest: SNS notifications from each event's producer topic."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "direct-invoke",
                "body": sns_body(event, topic_of(stack, event)),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for event in events
        ]
    }


def _assert_chain_exactly(audit_api: AuditApi, tenant: str, expected_ids: set[str]) -> None:
    ids = [item["event_id"] for item in audit_api.events(tenant)]
    assert len(ids) == len(set(ids)), "an event was chained twice"
    assert set(ids) == expected_ids, "an event was lost"
    chained = audit_api.all_events(tenant)  # ours plus the token events of the test's service account
    assert sorted(item["seq"] for item in chained) == list(range(1, len(chained) + 1))
    verdict = audit_api.verify(tenant)
    assert verdict["ok"] is True, verdict
    assert verdict["checked"] >= len(chained)  # the reads above were audited too, after the listing


def test_redelivery_long_after_the_first_is_still_a_no_op(
    audit_api: AuditApi, publish: Any, tenant: str, audit_queue_drained: Any
) -> None:
    # Given an event chained, then many other events chained after it
    event = make_event(tenant)
    publish(event)
    wait_for(lambda: audit_api.events(tenant))
    others = [make_event(tenant) for _ in range(5)]
    for other in others:
        publish(other)
    wait_for(lambda: len(audit_api.events(tenant)) == 6)
    # When the first event is delivered again as a brand-new message (the guard has no expiry)
    publish(event)
    wait_for(audit_queue_drained, timeout=QUEUE_DRAIN_TIMEOUT_S)
    # Then it is not chained again
    _assert_chain_exactly(audit_api, tenant, {event["event_id"], *(o["event_id"] for o in others)})


def test_two_consumers_racing_on_one_tenant(
    stack: dict[str, Any], aws: Callable[[str], Any], audit_api: AuditApi, tenant: str
) -> None:
    # Given two batches for the same tenant that share one event, invoked on two environments at once
    lambda_client = aws("lambda")
    queue_arn = f"arn:aws:sqs:{stack['region']}:000000000000:{stack['queues']['audit'].rsplit('/', 1)[-1]}"
    shared = make_event(tenant)
    first = [shared, *(make_event(tenant) for _ in range(9))]
    second = [shared, *(make_event(tenant) for _ in range(9))]

    def invoke(batch: list[dict[str, Any]]) -> dict[str, Any]:
        response = lambda_client.invoke(
            FunctionName=stack["functions"]["audit_ingest"],
            Payload=json.dumps(_sqs_event(batch, queue_arn, stack)),
        )
        assert "FunctionError" not in response, response["Payload"].read()
        return json.loads(response["Payload"].read())

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(invoke, [first, second]))
    # Then both succeed, every event is chained once, and seq has no gap or fork
    assert all(result == {"batchItemFailures": []} for result in results), results
    _assert_chain_exactly(audit_api, tenant, {e["event_id"] for e in first + second})


def _dlq_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    )
    return response.get("Messages", [])


def test_poison_messages_are_quarantined_with_their_reason_and_the_rest_commits(
    stack: dict[str, Any], aws: Callable[[str], Any], audit_api: AuditApi, tenant: str
) -> None:
    # Given a batch with a valid event, an unparseable body and an invalid envelope
    sqs = aws("sqs")
    marker = uuid.uuid4().hex
    good = make_event(tenant)
    batch = _sqs_event([good], "arn:aws:sqs:us-east-1:000000000000:echo-local-audit", stack)
    poison = _sqs_event([good], "x", stack)["Records"][0] | {
        "messageId": f"not-json-{marker}",
        "body": "{not json",
    }
    invalid = _sqs_event([{**make_event(tenant), "type": "NOT A TYPE"}], "x", stack)["Records"][0]
    invalid |= {"messageId": f"bad-type-{marker}"}
    batch["Records"] += [poison, invalid]
    # When the deployed consumer processes it
    response = aws("lambda").invoke(
        FunctionName=stack["functions"]["audit_ingest"], Payload=json.dumps(batch)
    )
    # Then the batch succeeds, the good event is chained, and both poison messages are in the DLQ with reasons
    assert json.loads(response["Payload"].read()) == {"batchItemFailures": []}
    _assert_chain_exactly(audit_api, tenant, {good["event_id"]})
    reasons: dict[str, str] = {}

    def both_quarantined() -> bool:
        for message in _dlq_messages(sqs, stack["queues"]["audit_dlq"]):
            attributes = message.get("MessageAttributes", {})
            source = attributes.get("echo_source_message_id", {}).get("StringValue", "")
            if marker in source:
                reasons[source] = attributes["echo_failure_reason"]["StringValue"]
                sqs.delete_message(
                    QueueUrl=stack["queues"]["audit_dlq"], ReceiptHandle=message["ReceiptHandle"]
                )
        return len(reasons) == 2

    wait_for(both_quarantined, timeout=30)
    assert reasons[f"not-json-{marker}"] == "body is not JSON"
    assert reasons[f"bad-type-{marker}"].startswith("invalid envelope: type:")


def test_poison_message_on_the_queue_reaches_the_dlq_without_blocking_the_queue(
    stack: dict[str, Any],
    aws: Callable[[str], Any],
    audit_api: AuditApi,
    tenant: str,
    audit_queue_drained: Any,
) -> None:
    # Given a poison message and a good event sent to the audit queue together
    sqs = aws("sqs")
    good = make_event(tenant)
    marker = f"poison-{uuid.uuid4().hex}"
    sqs.send_message_batch(
        QueueUrl=stack["queues"]["audit"],
        Entries=[
            {"Id": "good", "MessageBody": sns_body(good, topic_of(stack, good))},
            {
                "Id": "poison",
                "MessageBody": sns_body({"not": "an event", "marker": marker}, topic_of(stack, good)),
            },
        ],
    )
    # Then the good event is chained, the queue drains, and the poison is in the DLQ with its reason
    wait_for(lambda: audit_api.events(tenant))
    wait_for(audit_queue_drained, timeout=QUEUE_DRAIN_TIMEOUT_S)
    found: list[str] = []

    def quarantined() -> bool:
        for message in _dlq_messages(sqs, stack["queues"]["audit_dlq"]):
            if marker in message["Body"]:
                found.append(message["MessageAttributes"]["echo_failure_reason"]["StringValue"])
                sqs.delete_message(
                    QueueUrl=stack["queues"]["audit_dlq"], ReceiptHandle=message["ReceiptHandle"]
                )
        return bool(found)

    wait_for(quarantined, timeout=30)
    assert found[0].startswith("invalid envelope")
    _assert_chain_exactly(audit_api, tenant, {good["event_id"]})


def _kill_ingest_runtimes(endpoint_url: str) -> int:
    """SIGKILL the ingest function's runtime processes of this LocalStack (not of another instance)."""
    killed = 0
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = f"AWS_ENDPOINT_URL={endpoint_url}".encode() in environ
        if ours and b"awslambdaric" in cmdline and b"audit_ingest.handler" in cmdline:
            os.kill(int(proc.name), signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.disruptive
def test_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    stack: dict[str, Any], audit_api: AuditApi, publish: Any, tenant: str
) -> None:
    # Given a stream of events for one tenant
    events = [make_event(tenant, data={"n": n}) for n in range(60)]
    for event in events[:30]:
        publish(event)
    # When the ingest runtime process is killed while it works through them
    wait_for(lambda: audit_api.events(tenant), timeout=60, interval=0.1)
    killed = _kill_ingest_runtimes(stack["endpoint_url"])
    for event in events[30:]:
        publish(event)
    # Then, after SQS makes the unacknowledged batch visible again, every event is chained once
    wait_for(lambda: len(audit_api.events(tenant)) >= len(events), timeout=240, interval=2)
    assert killed, "no ingest runtime process was found to kill"
    _assert_chain_exactly(audit_api, tenant, {e["event_id"] for e in events})
