"""audit_ingest.handler against moto: DynamoDB chain + guard tables, S3 checkpoints, KMS signing."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit_ingest.handler import lambda_handler
from botocore.exceptions import ClientError
from echo_shared.audit import (
    AppendStatus,
    AuditAppender,
    ChainVerifier,
    Checkpoint,
    RetryPolicy,
    checkpoint_key,
)
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.events import EventEnvelope

from tests.conftest import FakeLambdaContext, LambdaOutput
from tests.fakes.events import TEST_TOPICS, sns_notification
from tests.integration.audit_notary import InProcessNotary, in_process_notary  # noqa: F401 (fixture)
from tests.integration.conftest import AwsResources
from tests.unit.chain_doubles import InterleavingChain


def _verifier(aws: AwsResources) -> ChainVerifier:
    return ChainVerifier(
        DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE")),
        S3CheckpointStore(aws.table("CHECKPOINT_BUCKET")),
        KmsCheckpointSigner(aws.key_arn),
    )


def _failed_ids(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_sample_batch_is_chained_and_checkpointed(
    aws: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given the ingest sample: two acme events (raw and SNS-wrapped) and one globex event
    event = sample_event("audit_ingest.sqs.json")

    # When the handler processes it
    response = lambda_handler(event, lambda_context)

    # Then nothing failed, each tenant's chain holds its events in order, one guard per event
    assert response == {"batchItemFailures": []}
    acme = aws.chain_items("acme")
    assert [(int(i["seq"]["N"]), i["type"]["S"]) for i in acme] == [
        (1, "user.logged_in"),
        (2, "token.issued"),
    ]
    assert acme[1]["prev_hash"]["S"] == acme[0]["hash"]["S"]
    assert json.loads(acme[1]["data"]["S"]) == {
        "grant_type": "authorization_code",
        "scopes": ["openid", "documents:read"],
    }
    assert [int(i["seq"]["N"]) for i in aws.chain_items("globex")] == [1]
    assert aws.guard_count() == 3

    # And a KMS-signed checkpoint was written per tenant at its head
    assert aws.checkpoint_keys() == [checkpoint_key("acme", 2), checkpoint_key("globex", 1)]
    stored = aws.s3.get_object(Bucket=aws.table("CHECKPOINT_BUCKET"), Key=checkpoint_key("acme", 2))[
        "Body"
    ].read()
    checkpoint = Checkpoint.from_json(stored)
    # Locked as the stage says (CHECKPOINT_LOCK_MODE, CHECKPOINT_RETENTION_DAYS of the notary)
    lock = aws.s3.head_object(Bucket=aws.table("CHECKPOINT_BUCKET"), Key=checkpoint_key("acme", 2))
    assert lock["ObjectLockMode"] == "GOVERNANCE"
    retained = lock["ObjectLockRetainUntilDate"] - checkpoint.signed_at  # whole seconds in the header
    assert timedelta(hours=23, minutes=59) < retained <= timedelta(days=1)
    assert (checkpoint.hash, checkpoint.key_id, checkpoint.signing_algorithm) == (
        acme[1]["hash"]["S"],
        aws.key_arn,
        "ECDSA_SHA_256",
    )
    assert aws.kms.verify(
        KeyId=aws.key_arn,
        Message=checkpoint.message,
        MessageType="RAW",
        Signature=checkpoint.signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]
    assert _verifier(aws).verify("acme").ok

    # And the metrics say so
    metrics = lambda_output.metrics()
    assert metrics["AuditEventsAppended"] == 3
    assert metrics["AuditCheckpointsWritten"] == 2
    assert "AuditDuplicates" not in metrics


def test_duplicate_in_the_same_batch_is_chained_once(
    aws: AwsResources,
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given one event delivered twice in a batch (SNS is at least once)
    event = make_event()

    # When processed
    response = lambda_handler(audit_sqs_event(event.to_json(), event.to_json()), lambda_context)

    # Then both messages succeed (nothing to redeliver) but the chain has it once
    assert response == {"batchItemFailures": []}
    assert len(aws.chain_items("acme")) == 1
    assert lambda_output.metrics()["AuditDuplicates"] == 1


def test_redelivery_days_later_is_a_duplicate(
    aws: AwsResources,
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given an event ingested, then more events
    event = make_event()
    lambda_handler(audit_sqs_event(event.to_json()), lambda_context)
    lambda_handler(audit_sqs_event(make_event().to_json()), lambda_context)

    # When the same event arrives again three days later in another batch (e.g. a DLQ redrive)
    later = datetime(2026, 1, 8, 9, tzinfo=UTC)
    response = lambda_handler(
        audit_sqs_event(event.to_json(), receive_count=4, sent_at=later), lambda_context
    )

    # Then it is acknowledged without a second record: the guard is permanent, not a 1-hour window
    assert response == {"batchItemFailures": []}
    assert [i["event_id"]["S"] for i in aws.chain_items("acme")].count(str(event.event_id)) == 1
    assert len(aws.chain_items("acme")) == 2
    assert lambda_output.metrics()["AuditDuplicates"] == 1
    assert _verifier(aws).verify("acme").ok


def test_poison_messages_go_to_the_dlq_with_their_reason_and_the_rest_commits(
    aws: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given the poison sample: one valid event, a non-JSON body, an envelope with an invalid type
    event = sample_event("audit_ingest.poison.sqs.json")
    valid_id, not_json_id, bad_type_id = (r["messageId"] for r in event["Records"])

    # When processed
    response = lambda_handler(event, lambda_context)

    # Then the batch succeeds: the valid event is chained, the poison is quarantined, not retried
    assert response == {"batchItemFailures": []}
    assert [i["type"]["S"] for i in aws.chain_items("acme")] == ["document.uploaded"]

    # And each poison message sits in the DLQ with its reason and source message id attached
    quarantined = {m["echo_source_message_id"]: m for m in aws.dead_letters()}
    assert set(quarantined) == {not_json_id, bad_type_id}
    assert quarantined[not_json_id]["echo_failure_reason"] == "body is not JSON"
    assert quarantined[bad_type_id]["echo_failure_reason"].startswith("invalid envelope: type:")
    assert quarantined[not_json_id]["body"] == event["Records"][1]["body"]

    # And each reason is logged with the message id, never the body or its data
    rejected = {
        log["message_id"]: log for log in lambda_output.logs() if log["message"] == "poison message rejected"
    }
    assert set(rejected) == {not_json_id, bad_type_id}
    assert "Test message." not in lambda_output.text
    assert "password" not in lambda_output.text
    assert valid_id not in rejected
    assert lambda_output.metrics()["AuditPoisonMessages"] == 2


def test_a_producer_speaking_for_another_is_quarantined_and_the_chain_records_producers(
    aws: AwsResources,
    sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given, as SNS delivers them to the audit queue: a policy activation from the documents topic
    # (a documents function speaking for authz beyond its decisions), then a decision and a document
    # event from that topic (a decision belongs to its decider)
    forged = make_event(type="authz.policy_activated", data={"version": "v2", "marker": "forged-data"})
    decision = make_event(type="authz.decision", data={"decision": "allow"})
    genuine = make_event(type="document.uploaded")
    forged_body = sns_notification(forged.to_json(), topic_arn=TEST_TOPICS["documents"])
    batch = sqs_event(
        forged_body,
        *(sns_notification(e.to_json(), topic_arn=TEST_TOPICS["documents"]) for e in (decision, genuine)),
    )
    forged_id = batch["Records"][0]["messageId"]

    # When processed
    response = lambda_handler(batch, lambda_context)

    # Then the batch succeeds and only the decision and the document event are chained, both as
    # the documents producer's (hashed)
    assert response == {"batchItemFailures": []}
    chained = {(item["event_id"]["S"], item["producer"]["S"]) for item in aws.chain_items("acme")}
    assert chained == {(str(decision.event_id), "documents"), (str(genuine.event_id), "documents")}
    assert _verifier(aws).verify("acme").ok

    # And the forged one is in the DLQ as delivered, with the reason; counted, logged without data
    (quarantined,) = aws.dead_letters()
    assert quarantined["echo_source_message_id"] == forged_id
    assert quarantined["echo_failure_reason"] == "type authz.* is outside the documents producer's namespace"
    assert quarantined["body"] == forged_body
    assert lambda_output.metrics()["AuditForeignEvents"] == 1
    assert "forged-data" not in lambda_output.text


def test_poison_fails_its_record_when_the_dlq_is_unavailable(
    aws: AwsResources,
    sample_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    faults: Callable[[str, ClientError, int], None],
) -> None:
    # Given a DLQ that refuses messages
    event = sample_event("audit_ingest.poison.sqs.json")
    _, not_json_id, bad_type_id = (r["messageId"] for r in event["Records"])
    refused = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")
    faults("SendMessage", refused, 2)

    # When processed, then the poison records fail, so SQS keeps them and redrives them later
    response = lambda_handler(event, lambda_context)
    assert _failed_ids(response) == [not_json_id, bad_type_id]
    assert [i["type"]["S"] for i in aws.chain_items("acme")] == ["document.uploaded"]


@pytest.mark.parametrize("fixture", ["snsSqsEvent.json", "sqsEvent.json"])
def test_foreign_aws_samples_are_quarantined_and_the_batch_still_answers(
    aws: AwsResources,
    aws_fixture_event: Callable[[str], dict[str, Any]],
    lambda_context: FakeLambdaContext,
    fixture: str,
) -> None:
    # Given AWS's own SQS samples (not Echo envelopes)
    event = aws_fixture_event(fixture)

    # When processed, then nothing is chained or checkpointed and every record is in the DLQ
    response = lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    assert aws.guard_count() == 0
    assert aws.checkpoint_keys() == []
    assert sorted(m["echo_source_message_id"] for m in aws.dead_letters()) == sorted(
        r["messageId"] for r in event["Records"]
    )


def test_two_consumers_racing_on_one_tenant_keep_the_chain_consistent(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given two consumers on the real (moto) tables; the rival commits between our head read and write
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    rival = AuditAppender(
        DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    )
    rival_events = [make_event(actor="rival")]
    ours = AuditAppender(
        InterleavingChain(repo, between=lambda: rival.append(rival_events.pop()) if rival_events else None),  # type: ignore[arg-type]
        sleep=lambda _: None,
    )

    # When we append
    result = ours.append(make_event(actor="us"))

    # Then the conditional transaction made us lose seq 1; we re-read the head and took seq 2
    assert (result.status, result.seq, result.attempts) == (AppendStatus.APPENDED, 2, 2)
    assert [i["actor"]["S"] for i in aws.chain_items("acme")] == ["rival", "us"]
    assert _verifier(aws).verify("acme").ok


def test_racing_deliveries_of_the_same_event_write_it_once(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    event = make_event()
    pending = [lambda: AuditAppender(repo).append(event)]
    ours = AuditAppender(
        InterleavingChain(repo, between=lambda: pending.pop()() if pending else None),  # type: ignore[arg-type]
        sleep=lambda _: None,
    )
    assert ours.append(event).status is AppendStatus.DUPLICATE
    assert len(aws.chain_items("acme")) == 1
    assert aws.guard_count() == 1


def _throttling_error(kind: str) -> ClientError:
    if kind == "capacity":
        return ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
            "TransactWriteItems",
        )
    return ClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": "Transaction cancelled [None, ThrottlingError]",
            },
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "ThrottlingError", "Message": "Throughput exceeds"},
            ],
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize("kind", ["capacity", "cancelled"])
def test_throttled_writes_are_retried_then_succeed(
    aws: AwsResources,
    faults: Callable[[str, ClientError, int], None],
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
    kind: str,
) -> None:
    # Given DynamoDB throttles the next two transactions
    faults("TransactWriteItems", _throttling_error(kind), 2)

    # When an event is ingested
    response = lambda_handler(audit_sqs_event(make_event().to_json()), lambda_context)

    # Then it is written once after two retries
    assert response == {"batchItemFailures": []}
    assert len(aws.chain_items("acme")) == 1
    assert lambda_output.metrics()["AuditAppendRetries"] == 2


def test_persistent_throttling_hands_the_message_back_then_redelivery_succeeds(
    aws: AwsResources,
    faults: Callable[[str, ClientError, int], None],
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given tenants appended one after another (so the injected faults all hit acme's transactions)
    monkeypatch.setattr("audit_ingest.dependencies.TENANT_CONCURRENCY", 1)
    # and DynamoDB throttles longer than the append's retry budget
    faults("TransactWriteItems", _throttling_error("capacity"), RetryPolicy().max_attempts)
    event = make_event()
    batch = audit_sqs_event(event.to_json(), make_event(tenant="globex").to_json())

    # When the batch is processed
    response = lambda_handler(batch, lambda_context)

    # Then the throttled message is failed (SQS redelivers it), nothing half-written; the other commits
    assert _failed_ids(response) == [batch["Records"][0]["messageId"]]
    assert aws.chain_items("acme") == []
    assert len(aws.chain_items("globex")) == 1
    assert lambda_output.metrics()["AuditAppendsDeferred"] == 1

    # And when SQS redelivers it after throttling stops, it is chained exactly once
    assert lambda_handler(audit_sqs_event(event.to_json(), receive_count=2), lambda_context) == {
        "batchItemFailures": []
    }
    assert [i["event_id"]["S"] for i in aws.chain_items("acme")] == [str(event.event_id)]


def test_checkpoint_failure_keeps_the_events_and_the_next_batch_checkpoints(
    aws: AwsResources,
    faults: Callable[[str, ClientError, int], None],
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given KMS refuses to sign (the key is disabled)
    faults("Sign", ClientError({"Error": {"Code": "DisabledException", "Message": "disabled"}}, "Sign"), 1)

    # When a batch is ingested
    response = lambda_handler(audit_sqs_event(make_event().to_json()), lambda_context)

    # Then the event is committed and acknowledged, and the failure is logged and counted
    assert response == {"batchItemFailures": []}
    assert len(aws.chain_items("acme")) == 1
    assert aws.checkpoint_keys() == []
    assert lambda_output.metrics()["AuditCheckpointFailures"] == 1
    assert any(log["message"].startswith("checkpoint not written") for log in lambda_output.logs())

    # And once KMS signs again, the next batch for the tenant checkpoints the new head
    lambda_handler(
        audit_sqs_event(make_event(occurred_at=datetime.now(UTC) - timedelta(days=1)).to_json()),
        lambda_context,
    )
    assert aws.checkpoint_keys() == [checkpoint_key("acme", 2)]
    assert _verifier(aws).verify("acme").checkpoint_seq == 2


def test_rival_chaining_one_of_our_events_mid_batch_on_dynamodb(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a batch of 80 events (two transactions); between them a rival consumer chains event 60
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    events = [make_event(resource=f"doc/{n}") for n in range(80)]
    rival = AuditAppender(
        DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    )
    ours = AuditAppender(
        InterleavingChain(
            repo,  # type: ignore[arg-type]
            between=lambda: None,
            before_commit=lambda index: rival.append(events[60]) if index == 1 else None,
        ),
        sleep=lambda _: None,
    )

    # When we append the batch
    outcomes = ours.append_batch(events)

    # Then DynamoDB's cancellation reasons made event 60 a duplicate; the rest re-linked after it
    statuses = [o.status for o in outcomes if not isinstance(o, Exception)]
    assert statuses.count(AppendStatus.DUPLICATE) == 1
    assert statuses[60] is AppendStatus.DUPLICATE
    items = aws.chain_items("acme")
    assert [int(i["seq"]["N"]) for i in items] == list(range(1, 81))
    assert sorted(i["event_id"]["S"] for i in items) == sorted(str(e.event_id) for e in events)
    assert aws.guard_count() == 80
    assert _verifier(aws).verify("acme").first_bad_seq is None


def test_record_rewritten_after_the_last_checkpoint_is_reported_and_not_signed_over(
    aws: AwsResources,
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given two events chained and signed at seq 2
    lambda_handler(audit_sqs_event(make_event().to_json(), make_event().to_json()), lambda_context)
    assert aws.checkpoint_keys() == [checkpoint_key("acme", 2)]

    # When someone with table access rewrites seq 2 and one more event arrives
    item = aws.chain_items("acme")[1]
    aws.dynamodb.put_item(
        TableName=aws.table("AUDIT_CHAIN_TABLE"), Item={**item, "actor": {"S": "user:mallory"}}
    )
    response = lambda_handler(audit_sqs_event(make_event().to_json()), lambda_context)

    # Then the event is still chained, but nothing signs seq 3: the finding is counted, logged
    # without record contents, and appended to the integrity log (itself signed)
    assert response == {"batchItemFailures": []}
    assert len(aws.chain_items("acme")) == 3
    assert checkpoint_key("acme", 3) not in aws.checkpoint_keys()
    assert checkpoint_key("_integrity", 1) in aws.checkpoint_keys()
    assert lambda_output.metrics()["AuditTamperDetected"] == 1
    (logged,) = [log for log in lambda_output.logs() if log["level"] == "ERROR"]
    assert (logged["tenant"], logged["problem"], logged["first_bad_seq"]) == ("acme", "hash_mismatch", 2)
    assert "mallory" not in lambda_output.text
    (finding,) = aws.chain_items("_integrity")
    assert finding["type"]["S"] == "audit.tamper_detected"
    assert json.loads(finding["data"]["S"])["first_bad_seq"] == 2
    assert _verifier(aws).verify("_integrity").ok


def test_the_ingest_asks_the_notary_once_per_batch_and_an_unreachable_notary_loses_nothing(
    aws: AwsResources,
    in_process_notary: InProcessNotary,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
    audit_sqs_event: Callable[..., dict[str, Any]],
    make_event: Callable[..., EventEnvelope],
    lambda_context: FakeLambdaContext,
    lambda_output: LambdaOutput,
) -> None:
    # Given a batch for two tenants: one notary invocation for both
    lambda_handler(
        audit_sqs_event(make_event().to_json(), make_event(tenant="globex").to_json()), lambda_context
    )
    assert in_process_notary.invocations == [{"tenants": ["acme", "globex"]}]

    # When the notary cannot be invoked
    def refuse(**_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Invoke")

    monkeypatch.setattr(in_process_notary, "invoke", refuse)
    response = lambda_handler(audit_sqs_event(make_event().to_json()), lambda_context)

    # Then the event is still chained and acknowledged; the checkpoint failure is counted
    assert response == {"batchItemFailures": []}
    assert len(aws.chain_items("acme")) == 2
    assert checkpoint_key("acme", 2) not in aws.checkpoint_keys()
    assert lambda_output.metrics()["AuditCheckpointFailures"] == 1
