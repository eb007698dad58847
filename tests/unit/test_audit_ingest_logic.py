import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from audit_ingest.logic import (
    BatchReport,
    IngestDependencies,
    QueuedMessage,
    checkpoint_tenants,
    ingest_messages,
)
from echo_shared.audit import (
    AuditAppender,
    ChainVerifier,
    CheckpointError,
    IntegrityLog,
    LocalNotary,
    Notary,
    checkpoint_key,
)
from echo_shared.events import EventEnvelope
from echo_shared.events.producers import TopicProducers

from tests.conftest import LambdaOutput
from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore
from tests.fakes.dead_letters import InMemoryDeadLetterSink
from tests.fakes.events import TEST_TOPICS, sns_notification


class FailingSigner(InMemoryCheckpointSigner):
    """Signs for every tenant except those in `down_for`."""

    def __init__(self, down_for: set[str]) -> None:
        super().__init__()
        self.down_for = down_for

    def sign(self, message: bytes) -> tuple[str, bytes]:
        if json.loads(message)["tenant"] in self.down_for:
            raise CheckpointError("KMS Sign failed (KMSInternalException)")
        return super().sign(message)


@dataclass
class Parts:
    repo: InMemoryAuditChainRepository
    signer: FailingSigner
    store: InMemoryCheckpointStore


@pytest.fixture
def parts() -> Parts:
    return Parts(InMemoryAuditChainRepository(), FailingSigner(set()), InMemoryCheckpointStore())


@pytest.fixture
def deps(parts: Parts) -> IngestDependencies:
    return IngestDependencies(
        appender=AuditAppender(parts.repo),
        notary=LocalNotary(Notary(parts.repo, parts.signer, parts.store)),
        integrity=IntegrityLog(parts.repo),
        dead_letters=InMemoryDeadLetterSink(),
        producers=TopicProducers(TEST_TOPICS),
    )


def _messages(*bodies: str) -> list[QueuedMessage]:
    return [QueuedMessage(message_id=f"m-{n}", body=body) for n, body in enumerate(bodies)]


def _ingest(deps: IngestDependencies, *events: EventEnvelope) -> BatchReport:
    return ingest_messages(_messages(*(sns_notification(e.to_json()) for e in events)), deps)


def test_batch_appends_and_remembers_touched_tenants(
    deps: IngestDependencies, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a batch with two tenants, one event delivered twice
    twice = make_event()

    # When the bodies are ingested
    report = _ingest(deps, twice, make_event(tenant="globex"), twice)

    # Then the duplicate is recognised, nothing fails and both tenants are touched
    assert (report.appended, report.duplicates, report.failed) == (2, 1, [])
    assert report.touched_tenants == {"acme", "globex"}


def test_poison_body_goes_to_the_dlq_and_touches_nothing(deps: IngestDependencies) -> None:
    report = ingest_messages(_messages('{"hello": "world"}'), deps)
    assert report.touched_tenants == set()
    assert report.failed == []
    assert isinstance(deps.dead_letters, InMemoryDeadLetterSink)
    assert [m["message_id"] for m in deps.dead_letters.messages] == ["m-0"]


def test_poison_fails_its_message_when_the_dlq_refuses_it(
    deps: IngestDependencies, make_event: Callable[..., EventEnvelope]
) -> None:
    assert isinstance(deps.dead_letters, InMemoryDeadLetterSink)
    deps.dead_letters.failing = True
    report = ingest_messages(_messages(sns_notification(make_event().to_json()), "not json"), deps)
    assert report.failed == ["m-1"]
    assert report.appended == 1


def test_an_event_is_chained_with_the_producer_of_the_topic_it_came_from(
    deps: IngestDependencies, parts: Parts, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a document event delivered from the documents topic
    event = make_event(type="document.uploaded")

    # When ingested
    report = _ingest(deps, event)

    # Then it is chained with its producer, which its hash covers
    assert report.appended == 1
    (record,) = list(parts.repo.records("acme"))
    assert record.producer == "documents"
    assert record.recomputed_hash() == record.hash
    assert replace(record, producer=None).recomputed_hash() != record.hash


@pytest.mark.parametrize("producer", ["documents", "identity", "audit", "authz"])
def test_a_decision_is_chained_with_the_decider_whose_topic_it_came_from(
    deps: IngestDependencies, parts: Parts, make_event: Callable[..., EventEnvelope], producer: str
) -> None:
    # Given a decision said by an in-process decider on its own topic (a decision belongs to its decider)
    event = make_event(type="authz.decision")

    # When ingested
    report = ingest_messages(
        _messages(sns_notification(event.to_json(), topic_arn=TEST_TOPICS[producer])), deps
    )

    # Then it is chained as that decider's
    assert report.appended == 1
    (record,) = list(parts.repo.records("acme"))
    assert record.producer == producer


@pytest.mark.parametrize(
    ("event_type", "body", "reason"),
    [
        # A decider speaking for authz beyond its decisions: a policy activation on the documents topic
        (
            "authz.policy_activated",
            lambda e: sns_notification(e.to_json(), topic_arn=TEST_TOPICS["documents"]),
            "type authz.* is outside the documents producer's namespace",
        ),
        # The platform decides nothing: a decision on its topic is forged
        (
            "authz.decision",
            lambda e: sns_notification(e.to_json(), topic_arn=TEST_TOPICS["platform"]),
            "type authz.* is outside the platform producer's namespace",
        ),
        # Raw delivery: the publisher wrote the whole body, nothing says who it was
        (
            "authz.decision",
            lambda e: e.to_json(),
            "not an SNS notification from a topic: the producer cannot be told",
        ),
        # A topic of no producer of this deployment
        (
            "authz.decision",
            lambda e: sns_notification(e.to_json(), topic_arn="arn:aws:sns:eu-west-1:999999999999:other"),
            "delivered from a topic that is no producer's",
        ),
        # An envelope claiming a producer its topic is not
        (
            "authz.decision",
            lambda e: sns_notification(e.from_producer("identity").to_json(), topic_arn=TEST_TOPICS["authz"]),
            "envelope claims another producer than authz",
        ),
    ],
)
def test_a_foreign_event_goes_to_the_dlq_with_its_reason_and_is_never_chained(
    deps: IngestDependencies,
    parts: Parts,
    make_event: Callable[..., EventEnvelope],
    lambda_output: LambdaOutput,
    event_type: str,
    body: Callable[[EventEnvelope], str],
    reason: str,
) -> None:
    # Given an authz event delivered in a way that does not prove a producer that may say it published it
    event = make_event(type=event_type, data={"secret": "do-not-log"})

    # When ingested
    report = ingest_messages(_messages(body(event)), deps)

    # Then nothing is chained or failed, the DLQ holds it with the reason, and it is logged
    # without its data (the handler counts it: tests/integration/test_audit_ingest_handler.py)
    assert (report.appended, report.failed, report.touched_tenants) == (0, [], set())
    assert list(parts.repo.records("acme")) == []
    assert isinstance(deps.dead_letters, InMemoryDeadLetterSink)
    assert [(m["message_id"], m["reason"]) for m in deps.dead_letters.messages] == [("m-0", reason)]
    assert any(log.get("reason") == reason for log in lambda_output.logs())
    assert "do-not-log" not in lambda_output.text


def test_checkpoints_each_touched_tenant_at_its_head(
    deps: IngestDependencies, parts: Parts, make_event: Callable[..., EventEnvelope]
) -> None:
    batch = _ingest(deps, *(make_event(tenant=tenant) for tenant in ("acme", "acme", "globex")))

    report = checkpoint_tenants(batch.touched_tenants, deps)

    assert [(c.tenant, c.seq) for c in report.written] == [("acme", 2), ("globex", 1)]
    assert report.failed == {}
    assert set(parts.store.objects) == {checkpoint_key("acme", 2), checkpoint_key("globex", 1)}


def test_checkpoint_failure_loses_nothing_and_the_next_batch_catches_up(
    deps: IngestDependencies, parts: Parts, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given signing is down for acme during the first batch
    parts.signer.down_for.add("acme")
    first = _ingest(deps, make_event(), make_event(tenant="globex"))

    # When the batch is checkpointed
    report = checkpoint_tenants(first.touched_tenants, deps)

    # Then acme's checkpoint fails alone, and its record is still committed
    assert set(report.failed) == {"acme"}
    assert [c.tenant for c in report.written] == ["globex"]
    assert len(parts.repo.stored("acme")) == 1

    # And when signing recovers, the next batch touching acme checkpoints its later head
    parts.signer.down_for.clear()
    second = _ingest(deps, make_event())
    assert [(c.tenant, c.seq) for c in checkpoint_tenants(second.touched_tenants, deps).written] == [
        ("acme", 2)
    ]
    verifier = ChainVerifier(parts.repo, parts.store, parts.signer)
    assert verifier.verify("acme").checkpoint_seq == 2


def test_tenant_with_empty_chain_gets_no_checkpoint(deps: IngestDependencies) -> None:
    report = checkpoint_tenants({"nobody"}, deps)
    assert (report.written, report.failed) == ([], {})


def test_checkpoints_of_many_tenants_are_written_concurrently_each_at_its_head(
    deps: IngestDependencies, parts: Parts, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given deps that work on four tenants at once and a batch over six tenants
    concurrent = replace(
        deps,
        appender=AuditAppender(parts.repo, tenant_concurrency=4),
        notary=LocalNotary(Notary(parts.repo, parts.signer, parts.store), concurrency=4),
    )
    tenants = [f"t{n}" for n in range(6)]
    batch = _ingest(concurrent, *(make_event(tenant=tenants[n % 6]) for n in range(18)))

    # When checkpointed
    report = checkpoint_tenants(batch.touched_tenants, concurrent)

    # Then every tenant has one checkpoint at seq 3, reported in tenant order
    assert [(c.tenant, c.seq) for c in report.written] == [(tenant, 3) for tenant in tenants]
    assert report.failed == {}
