import json
from collections.abc import Callable

import pytest
from audit_ingest.logic import AuditIngestBatch, IngestDependencies, checkpoint_tenants
from echo_shared.audit import (
    AppendStatus,
    AuditAppender,
    ChainVerifier,
    CheckpointError,
    InMemoryAuditChainRepository,
    InMemoryCheckpointSigner,
    InMemoryCheckpointStore,
    checkpoint_key,
)
from echo_shared.dead_letters import InMemoryDeadLetterSink
from echo_shared.events import EventEnvelope, InvalidEvent


class FailingSigner(InMemoryCheckpointSigner):
    """Signs for every tenant except those in `down_for`."""

    def __init__(self, down_for: set[str]) -> None:
        super().__init__()
        self.down_for = down_for

    def sign(self, message: bytes) -> tuple[str, bytes]:
        if json.loads(message)["tenant"] in self.down_for:
            raise CheckpointError("KMS Sign failed (KMSInternalException)")
        return super().sign(message)


@pytest.fixture
def deps() -> IngestDependencies:
    repo = InMemoryAuditChainRepository()
    return IngestDependencies(
        appender=AuditAppender(repo),
        chain=repo,
        signer=FailingSigner(set()),
        checkpoints=InMemoryCheckpointStore(),
        dead_letters=InMemoryDeadLetterSink(),
    )


def test_batch_appends_and_remembers_touched_tenants(
    deps: IngestDependencies, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a batch with two tenants, one event delivered twice
    batch = AuditIngestBatch(deps.appender)
    twice = make_event()

    # When the bodies are ingested
    results = [batch.ingest(e.to_json()) for e in (twice, make_event(tenant="globex"), twice)]

    # Then the duplicate is recognised and both tenants are touched
    assert [r.status for r in results] == [
        AppendStatus.APPENDED,
        AppendStatus.APPENDED,
        AppendStatus.DUPLICATE,
    ]
    assert batch.touched_tenants == {"acme", "globex"}


def test_poison_body_raises_and_touches_nothing(deps: IngestDependencies) -> None:
    batch = AuditIngestBatch(deps.appender)
    with pytest.raises(InvalidEvent):
        batch.ingest('{"hello": "world"}')
    assert batch.touched_tenants == set()


def test_checkpoints_each_touched_tenant_at_its_head(
    deps: IngestDependencies, make_event: Callable[..., EventEnvelope]
) -> None:
    batch = AuditIngestBatch(deps.appender)
    for tenant in ("acme", "acme", "globex"):
        batch.ingest(make_event(tenant=tenant).to_json())

    report = checkpoint_tenants(batch.touched_tenants, deps)

    assert [(c.tenant, c.seq) for c in report.written] == [("acme", 2), ("globex", 1)]
    assert report.failed == {}
    assert isinstance(deps.checkpoints, InMemoryCheckpointStore)
    assert set(deps.checkpoints.objects) == {checkpoint_key("acme", 2), checkpoint_key("globex", 1)}


def test_checkpoint_failure_loses_nothing_and_the_next_batch_catches_up(
    deps: IngestDependencies, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given signing is down for acme during the first batch
    assert isinstance(deps.signer, FailingSigner)
    deps.signer.down_for.add("acme")
    first = AuditIngestBatch(deps.appender)
    for tenant in ("acme", "globex"):
        first.ingest(make_event(tenant=tenant).to_json())

    # When the batch is checkpointed
    report = checkpoint_tenants(first.touched_tenants, deps)

    # Then acme's checkpoint fails alone, and its record is still committed
    assert set(report.failed) == {"acme"}
    assert [c.tenant for c in report.written] == ["globex"]
    assert isinstance(deps.chain, InMemoryAuditChainRepository)
    assert len(deps.chain.stored("acme")) == 1

    # And when signing recovers, the next batch touching acme checkpoints its later head
    deps.signer.down_for.clear()
    second = AuditIngestBatch(deps.appender)
    second.ingest(make_event().to_json())
    assert [(c.tenant, c.seq) for c in checkpoint_tenants(second.touched_tenants, deps).written] == [
        ("acme", 2)
    ]
    assert isinstance(deps.checkpoints, InMemoryCheckpointStore)
    verifier = ChainVerifier(deps.chain, deps.checkpoints, deps.signer)
    assert verifier.verify("acme").checkpoint_seq == 2


def test_tenant_with_empty_chain_gets_no_checkpoint(deps: IngestDependencies) -> None:
    report = checkpoint_tenants({"nobody"}, deps)
    assert (report.written, report.failed) == ([], {})
