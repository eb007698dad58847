"""No tamper window: the notary verifies the segment since the last checkpoint before it signs,
and the ingest writes what it finds to the integrity log instead of signing over it."""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from audit_ingest.logic import IngestDependencies, QueuedMessage, checkpoint_tenants, ingest_messages
from audit_notary.logic import MAX_TENANTS, InvalidNotaryRequest, requested_tenants
from echo_shared.audit import (
    INTEGRITY_CHAIN,
    TAMPER_DETECTED,
    AuditAppender,
    AuditRecord,
    ChainVerifier,
    Checkpoint,
    CheckpointError,
    IntegrityLog,
    LocalNotary,
    Notary,
    Problem,
    ServiceOutcome,
    SignedHead,
    TamperReport,
    checkpoint_key,
)
from echo_shared.audit.notary import outcomes_from_json, outcomes_to_json
from echo_shared.events import EventEnvelope
from echo_shared.events.producers import TopicProducers

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore
from tests.fakes.dead_letters import InMemoryDeadLetterSink
from tests.fakes.events import TEST_TOPICS, sns_notification

TENANT = "acme"


class SwitchableSigner(InMemoryCheckpointSigner):
    down = False

    def sign(self, message: bytes) -> tuple[str, bytes]:
        if self.down:
            raise CheckpointError("KMS Sign failed (KMSInternalException)")
        return super().sign(message)


@dataclass
class Ingest:
    repo: InMemoryAuditChainRepository
    signer: SwitchableSigner
    store: InMemoryCheckpointStore
    deps: IngestDependencies
    make_event: Callable[..., EventEnvelope]

    def batch(self, count: int = 1, tenant: str = TENANT) -> None:
        events = [self.make_event(tenant=tenant, actor=f"user-{n}") for n in range(count)]
        messages = [
            QueuedMessage(f"m-{n}", sns_notification(event.to_json())) for n, event in enumerate(events)
        ]
        report = ingest_messages(messages, self.deps)
        self.last = checkpoint_tenants(report.touched_tenants, self.deps)

    def record(self, seq: int, tenant: str = TENANT) -> AuditRecord:
        return next(r for r in self.repo.stored(tenant) if r.seq == seq)

    def checkpointed(self, tenant: str = TENANT) -> list[int]:
        return [entry.key_seq for entry in self.store.list(tenant)]

    def findings(self) -> list[dict[str, object]]:
        return [json.loads(r.data) for r in self.repo.stored(INTEGRITY_CHAIN)]


@pytest.fixture
def ingest(make_event: Callable[..., EventEnvelope]) -> Ingest:
    repo, signer, store = InMemoryAuditChainRepository(), SwitchableSigner(), InMemoryCheckpointStore()
    deps = IngestDependencies(
        appender=AuditAppender(repo),
        notary=LocalNotary(Notary(repo, signer, store)),
        integrity=IntegrityLog(repo),
        dead_letters=InMemoryDeadLetterSink(),
        producers=TopicProducers(TEST_TOPICS),
    )
    return Ingest(repo, signer, store, deps, make_event)


def _rewrite(ingest: Ingest, seq: int, *, rehash: bool = False) -> None:
    edited = replace(ingest.record(seq), actor="user:mallory")
    if rehash:
        edited = replace(edited, hash=edited.recomputed_hash())
    ingest.repo.tamper_overwrite(edited)


def test_intact_segments_are_signed_and_a_signed_head_is_not_signed_again(ingest: Ingest) -> None:
    ingest.batch(3)
    ingest.batch(2)
    assert ingest.checkpointed() == [3, 5]
    assert ingest.deps.notary.checkpoint([TENANT]) == [None]
    assert ingest.findings() == []


def test_record_rewritten_between_checkpoints_is_found_by_the_next_batch(ingest: Ingest) -> None:
    # Given a checkpoint at 3, then a batch (4..5) whose checkpoint failed: 4..5 are not signed yet
    ingest.batch(3)
    ingest.signer.down = True
    ingest.batch(2)
    ingest.signer.down = False
    assert ingest.checkpointed() == [3]

    # When record 4 is rewritten (hash left as it was) and one more event arrives
    _rewrite(ingest, 4)
    ingest.batch(1)

    # Then the finding names seq 4, nothing signs the bad head, and the integrity log has the report
    assert ingest.last.tampered[TENANT].problem is Problem.HASH_MISMATCH
    assert ingest.last.tampered[TENANT].first_bad_seq == 4
    assert ingest.checkpointed() == [3]
    assert ingest.findings() == [
        {
            "tenant": TENANT,
            "problem": "hash_mismatch",
            "first_bad_seq": 4,
            "checkpoint_seq": 3,
            "detail": "stored hash does not match the record's contents",
        }
    ]
    (logged,) = ingest.repo.stored(INTEGRITY_CHAIN)
    assert (logged.type, logged.resource, logged.outcome) == (
        TAMPER_DETECTED,
        f"audit-chain/{TENANT}",
        "failure",
    )
    assert "mallory" not in logged.data


def test_the_same_finding_is_logged_once_and_the_integrity_log_is_signed(ingest: Ingest) -> None:
    ingest.batch(2)
    _rewrite(ingest, 2)
    ingest.batch(1)
    ingest.batch(1)
    assert len(ingest.findings()) == 1
    assert ingest.last.recorded == 0
    assert TENANT in ingest.last.tampered
    assert ingest.checkpointed(INTEGRITY_CHAIN) == [1]
    verifier = ChainVerifier(ingest.repo, ingest.store, ingest.signer)
    assert verifier.verify(INTEGRITY_CHAIN).ok
    assert ingest.checkpointed() == [2]


def test_checkpointed_record_rewritten_with_a_consistent_hash_is_a_checkpoint_mismatch(
    ingest: Ingest,
) -> None:
    ingest.batch(3)
    _rewrite(ingest, 3, rehash=True)
    ingest.batch(1)
    finding = ingest.last.tampered[TENANT]
    assert (finding.problem, finding.first_bad_seq) == (Problem.CHECKPOINT_MISMATCH, 3)
    assert ingest.checkpointed() == [3]


def test_rebuilt_segment_breaks_the_link_to_the_signed_record(ingest: Ingest) -> None:
    ingest.batch(2)
    ingest.signer.down = True
    ingest.batch(2)
    ingest.signer.down = False
    # A self-consistent rewrite of 3 with a forged prev_hash
    forged = replace(ingest.record(3), actor="user:mallory", prev_hash="f" * 64)
    ingest.repo.tamper_overwrite(replace(forged, hash=forged.recomputed_hash()))
    ingest.batch(1)
    finding = ingest.last.tampered[TENANT]
    assert (finding.problem, finding.first_bad_seq) == (Problem.BROKEN_LINK, 3)


def test_record_deleted_in_the_segment_is_missing(ingest: Ingest) -> None:
    ingest.batch(2)
    ingest.signer.down = True
    ingest.batch(3)
    ingest.signer.down = False
    ingest.repo.tamper_delete(TENANT, 4)
    ingest.batch(1)
    finding = ingest.last.tampered[TENANT]
    assert (finding.problem, finding.first_bad_seq) == (Problem.MISSING_RECORD, 4)
    assert ingest.checkpointed() == [2]


def test_truncated_tail_under_a_checkpoint_is_not_signed_over(ingest: Ingest) -> None:
    # Given a checkpoint at 4, and records 3..4 deleted: the next event lands at seq 3
    ingest.batch(2)
    ingest.batch(2)
    ingest.repo.tamper_delete(TENANT, 4)
    ingest.repo.tamper_delete(TENANT, 3)
    ingest.batch(1)
    finding = ingest.last.tampered[TENANT]
    assert finding.problem is Problem.CHECKPOINT_MISMATCH or finding.problem is Problem.TRUNCATED
    assert ingest.checkpointed() == [2, 4]


def test_truncation_without_a_new_event_is_truncated(ingest: Ingest) -> None:
    ingest.batch(2)
    ingest.batch(2)
    ingest.repo.tamper_delete(TENANT, 4)
    (outcome,) = ingest.deps.notary.checkpoint([TENANT])
    assert isinstance(outcome, TamperReport)
    assert (outcome.problem, outcome.first_bad_seq) == (Problem.TRUNCATED, 4)


def test_checkpoint_written_meanwhile_above_the_head_read_is_not_truncation(ingest: Ingest) -> None:
    # Given the notary read head 2 while a rival consumer appended 3..4 and signed 4
    ingest.batch(2)
    ingest.batch(2)
    verifier = ChainVerifier(ingest.repo, ingest.store, ingest.signer)

    verdict = verifier.verify_segment(TENANT, head_seq=2)

    # Then the walk reaches the rival's checkpoint, and the head it would sign is 4
    assert verdict.result.ok
    assert verdict.head is not None
    assert verdict.head.seq == 4


def test_latest_checkpoint_signed_with_an_unknown_key_stops_signing(ingest: Ingest) -> None:
    ingest.batch(2)
    rogue = InMemoryCheckpointSigner(key_id="rogue-key")
    stored = Checkpoint.from_json(ingest.store.objects[checkpoint_key(TENANT, 2)])
    ingest.store.put(replace(stored, key_id=rogue.key_id))
    ingest.batch(1)
    finding = ingest.last.tampered[TENANT]
    assert (finding.problem, finding.first_bad_seq) == (Problem.UNKNOWN_KEY, 2)
    assert ingest.checkpointed() == [2]


def test_tampering_one_tenant_does_not_stop_others(ingest: Ingest) -> None:
    ingest.batch(1)
    ingest.batch(1, tenant="globex")
    _rewrite(ingest, 1)
    events = [ingest.make_event(tenant=tenant) for tenant in (TENANT, "globex")]
    report = ingest_messages(
        [QueuedMessage(f"m-{n}", sns_notification(e.to_json())) for n, e in enumerate(events)], ingest.deps
    )
    checkpoints = checkpoint_tenants(report.touched_tenants, ingest.deps)
    assert set(checkpoints.tampered) == {TENANT}
    assert [(c.tenant, c.seq) for c in checkpoints.written] == [("globex", 2), (INTEGRITY_CHAIN, 1)]


def test_the_notary_reply_round_trips_every_outcome() -> None:
    tenants = ["a", "b", "c", "d"]
    outcomes: list[ServiceOutcome] = [
        SignedHead("a", 3, "f" * 64),
        TamperReport("b", Problem.HASH_MISMATCH, 4, 3, "stored hash does not match the record's contents"),
        CheckpointError("KMS Sign failed (DisabledException)"),
        None,
    ]
    back = outcomes_from_json(tenants, json.loads(json.dumps(outcomes_to_json(tenants, outcomes))))
    assert back[0] == outcomes[0]
    assert back[1] == outcomes[1]
    assert isinstance(back[2], CheckpointError)
    assert str(back[2]) == "KMS Sign failed (DisabledException)"
    assert back[3] is None


@pytest.mark.parametrize(
    "reply",
    [None, {}, {"outcomes": "x"}, {"outcomes": [{"tenant": "a", "signed": {"seq": "x"}}]}, {"outcomes": []}],
)
def test_a_missing_or_malformed_reply_is_a_checkpoint_failure(reply: object) -> None:
    (outcome,) = outcomes_from_json(["a"], reply)
    assert isinstance(outcome, CheckpointError)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"tenants": []},
        {"tenants": "acme"},
        {"tenants": ["../x"]},
        {"tenants": [1]},
        {"tenants": ["a"] * (MAX_TENANTS + 1)},
    ],
)
def test_the_notary_function_refuses_a_malformed_request(event: object) -> None:
    with pytest.raises(InvalidNotaryRequest):
        requested_tenants(event)


def test_the_notary_function_accepts_tenants_and_the_integrity_chain() -> None:
    assert requested_tenants({"tenants": ["acme", INTEGRITY_CHAIN, "acme"]}) == ["acme", INTEGRITY_CHAIN]
