"""A producer cannot speak for another (ADR 0016), end to end on the deployed stack.

LocalStack does not enforce IAM, so the sandbox's admin credentials can publish on any topic: the
topic policies (tests/infrastructure/test_topics.py) are not what stops this here. What is proven
here is the audit ingest's own check: the producer is the topic SNS delivered the event from, and a
type outside that producer's namespace never reaches the chain; it lands in the audit DLQ with
the reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import QUEUE_DRAIN_TIMEOUT_S, AuditApi, make_event, wait_for


def test_an_authz_event_on_the_documents_topic_never_reaches_the_chain_and_lands_in_the_dlq(
    stack: dict[str, Any],
    aws: Callable[[str], Any],
    audit_api: AuditApi,
    publish: Any,
    tenant: str,
    audit_queue_drained: Any,
) -> None:
    sqs = aws("sqs")
    # Given an authz decision published on the documents topic (a documents function speaking for
    # authz), and then a genuine document event on the same topic
    forged = make_event(tenant, "authz.decision", data={"decision": "allow"})
    genuine = make_event(tenant, "document.uploaded")
    publish(forged, topic=stack["topics"]["documents"])
    publish(genuine, topic=stack["topics"]["documents"])

    # When the audit pipeline has processed both
    wait_for(lambda: audit_api.events(tenant))
    wait_for(audit_queue_drained, timeout=QUEUE_DRAIN_TIMEOUT_S)

    # Then only the genuine event is chained, recorded as the documents producer's
    chained = audit_api.events(tenant)
    assert [item["event_id"] for item in chained] == [genuine["event_id"]]
    assert chained[0].get("producer") == "documents"
    assert audit_api.verify(tenant)["ok"] is True

    # And the forged one is in the audit DLQ with the reason, as SNS delivered it
    found: list[dict[str, Any]] = []

    def quarantined() -> bool:
        response = sqs.receive_message(
            QueueUrl=stack["queues"]["audit_dlq"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        )
        for message in response.get("Messages", []):
            if forged["event_id"] in message["Body"]:
                found.append(message)
                sqs.delete_message(
                    QueueUrl=stack["queues"]["audit_dlq"], ReceiptHandle=message["ReceiptHandle"]
                )
        return bool(found)

    wait_for(quarantined, timeout=30)
    reason = found[0]["MessageAttributes"]["echo_failure_reason"]["StringValue"]
    assert reason == "type authz.* is outside the documents producer's namespace"
    assert stack["topics"]["documents"] in found[0]["Body"]  # the SNS envelope, TopicArn and all
