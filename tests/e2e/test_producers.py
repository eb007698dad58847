"""A producer cannot speak for another (ADR 0016), end to end on the deployed stack; a decision
belongs to its decider.

LocalStack does not enforce IAM, so the sandbox's admin credentials can publish on any topic: the
topic policies (tests/infrastructure/test_topics.py) are not what stops this here. What is proven
here is the audit ingest's own check: the producer is the topic SNS delivered the event from, and a
type that producer may not say never reaches the chain; it lands in the audit DLQ with the reason.
A decider (documents decides in-process) may say `authz.decision` on its own topic, and nothing
else of authz's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import QUEUE_DRAIN_TIMEOUT_S, AuditApi, make_event, wait_for


def test_a_policy_activation_on_the_documents_topic_lands_in_the_dlq_and_its_decision_is_chained(
    stack: dict[str, Any],
    aws: Callable[[str], Any],
    audit_api: AuditApi,
    publish: Any,
    tenant: str,
    audit_queue_drained: Any,
) -> None:
    sqs = aws("sqs")
    # Given a policy activation published on the documents topic (a documents function speaking
    # for authz beyond its decisions), then a genuine decision and a document event on that topic
    forged = make_event(tenant, "authz.policy_activated", resource="policy/v2", data={"version": 2})
    decision = make_event(tenant, "authz.decision", action="document:read", data={"decision": "allow"})
    genuine = make_event(tenant, "document.uploaded")
    for event in (forged, decision, genuine):
        publish(event, topic=stack["topics"]["documents"])

    # When the audit pipeline has processed all three
    wait_for(lambda: len(audit_api.events(tenant)) >= 2)
    wait_for(audit_queue_drained, timeout=QUEUE_DRAIN_TIMEOUT_S)

    # Then the decision and the document event are chained, both as the documents producer's
    # (the decision is its decider's, not authz's); the activation is not
    chained = {item["event_id"]: item for item in audit_api.events(tenant)}
    assert set(chained) == {decision["event_id"], genuine["event_id"]}
    assert {item.get("producer") for item in chained.values()} == {"documents"}
    assert chained[decision["event_id"]]["type"] == "authz.decision"
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
