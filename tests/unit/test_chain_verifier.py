"""The verifier must pin every kind of tampering to the exact sequence number."""

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from echo_shared.audit import (
    AuditAppender,
    AuditRecord,
    ChainVerifier,
    Checkpoint,
    Freshness,
    Problem,
    StoredCheckpoint,
    VerificationResult,
    checkpoint_key,
    checkpoint_message,
    write_checkpoint,
)
from echo_shared.events import EventEnvelope

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore

TENANT = "acme"
CHECKPOINTS_AT = (3, 6, 10)


@dataclass
class Ledger:
    repo: InMemoryAuditChainRepository
    store: InMemoryCheckpointStore
    signer: InMemoryCheckpointSigner

    def verify(self, tenant: str = TENANT) -> VerificationResult:
        return ChainVerifier(self.repo, self.store, self.signer).verify(tenant)

    def record(self, seq: int) -> AuditRecord:
        return next(r for r in self.repo.stored(TENANT) if r.seq == seq)

    def rebuild_from(self, seq: int) -> None:
        """Rewrite every record from `seq` on and re-link the hashes, as a careful attacker would."""
        prev_hash = self.record(seq - 1).hash if seq > 1 else self.record(1).prev_hash
        for record in [r for r in self.repo.stored(TENANT) if r.seq >= seq]:
            rewritten = replace(record, actor="mallory", prev_hash=prev_hash)
            rewritten = replace(rewritten, hash=rewritten.recomputed_hash())
            self.repo.tamper_overwrite(rewritten)
            prev_hash = rewritten.hash


@pytest.fixture
def ledger(make_event: Callable[..., EventEnvelope]) -> Ledger:
    """Ten records for `acme`, checkpointed after the batches ending at seq 3, 6 and 10."""
    repo, store, signer = (
        InMemoryAuditChainRepository(),
        InMemoryCheckpointStore(),
        InMemoryCheckpointSigner(),
    )
    appender = AuditAppender(repo)
    for seq in range(1, 11):
        appender.append(make_event(actor=f"user-{seq}"))
        if seq in CHECKPOINTS_AT:
            write_checkpoint(TENANT, chain=repo, signer=signer, store=store)
    appender.append(make_event(tenant="globex"))
    write_checkpoint("globex", chain=repo, signer=signer, store=store)
    return Ledger(repo, store, signer)


def test_intact_chain_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result == VerificationResult(
        ok=True,
        checked=10,
        head_seq=10,
        first_bad_seq=None,
        problem=None,
        detail="10 records verified against 3 signed checkpoints",
        checkpoint_seq=10,
    )


def test_empty_chain_verifies() -> None:
    ledger = Ledger(InMemoryAuditChainRepository(), InMemoryCheckpointStore(), InMemoryCheckpointSigner())
    result = ledger.verify("nobody")
    assert (result.ok, result.checked, result.head_seq, result.checkpoint_seq) == (True, 0, 0, None)


@pytest.mark.parametrize("seq", [1, 5, 10])
def test_modified_record_is_a_hash_mismatch_at_its_seq(ledger: Ledger, seq: int) -> None:
    # Given record `seq` edited in place (hash left as it was)
    ledger.repo.tamper_overwrite(replace(ledger.record(seq), outcome="failure"))

    # When / Then verification pins it
    result = ledger.verify()
    assert (result.ok, result.problem, result.first_bad_seq) == (False, Problem.HASH_MISMATCH, seq)
    assert result.checked == seq - 1
    assert result.head_seq == 10


def test_data_replaced_by_garbage_is_a_hash_mismatch(ledger: Ledger) -> None:
    ledger.repo.tamper_overwrite(replace(ledger.record(4), data="]not json["))
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.HASH_MISMATCH, 4)


def test_deleted_record_is_missing_at_its_seq(ledger: Ledger) -> None:
    # Given record 5 deleted
    ledger.repo.tamper_delete(TENANT, 5)

    # Then the gap is reported at 5, after 4 good records; the last good checkpoint is 3
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.checked) == (Problem.MISSING_RECORD, 5, 4)
    assert result.checkpoint_seq == 3
    assert result.detail == "record(s) 5 missing"


def test_deleted_range_is_missing_from_its_first_seq(ledger: Ledger) -> None:
    ledger.repo.tamper_delete(TENANT, 5)
    ledger.repo.tamper_delete(TENANT, 6)
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.MISSING_RECORD, 5)
    assert "5..6" in result.detail


def test_deleting_the_first_record_is_caught(ledger: Ledger) -> None:
    ledger.repo.tamper_delete(TENANT, 1)
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.checked) == (Problem.MISSING_RECORD, 1, 0)


def test_swapped_records_are_caught_at_the_lower_seq(ledger: Ledger) -> None:
    # Given records 4 and 7 swapped (each stored under the other's seq, with its own hashes)
    four, seven = ledger.record(4), ledger.record(7)
    ledger.repo.tamper_move(seven, to_seq=4)
    ledger.repo.tamper_move(four, to_seq=7)

    # Then the first one out of place is reported
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.HASH_MISMATCH, 4)


def test_swapping_adjacent_records_is_caught(ledger: Ledger) -> None:
    eight, nine = ledger.record(8), ledger.record(9)
    ledger.repo.tamper_move(nine, to_seq=8)
    ledger.repo.tamper_move(eight, to_seq=9)
    assert ledger.verify().first_bad_seq == 8


def test_relinked_record_breaks_the_link_to_its_predecessor(ledger: Ledger) -> None:
    # Given record 6 rewritten with a self-consistent hash but a forged prev_hash
    forged = replace(ledger.record(6), prev_hash="f" * 64)
    ledger.repo.tamper_overwrite(replace(forged, hash=forged.recomputed_hash()))

    # Then its link to 5 is reported as broken at 6
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.BROKEN_LINK, 6)


@pytest.mark.parametrize(("cut_from", "last_good_checkpoint"), [(8, 6), (6, 3), (4, 3), (1, None)])
def test_truncated_tail_is_caught_by_a_later_checkpoint(
    ledger: Ledger, cut_from: int, last_good_checkpoint: int | None
) -> None:
    # Given every record from `cut_from` to the head deleted
    for seq in range(cut_from, 11):
        ledger.repo.tamper_delete(TENANT, seq)

    # Then the checkpoint at seq 10 proves records existed past the new end
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.head_seq) == (
        Problem.TRUNCATED,
        cut_from,
        cut_from - 1,
    )
    assert result.checkpoint_seq == last_good_checkpoint
    assert result.checked == cut_from - 1


@pytest.mark.parametrize(("rebuilt_from", "reported_at"), [(5, 4), (4, 4), (7, 7), (10, 7), (1, 1)])
def test_rebuilt_chain_is_caught_by_checkpoints_after_the_last_good_one(
    ledger: Ledger, rebuilt_from: int, reported_at: int
) -> None:
    # Given the chain rewritten from `rebuilt_from` with consistent hashes and links
    ledger.rebuild_from(rebuilt_from)

    # Then hashes and links all check out, but a signed checkpoint disagrees: the first seq after
    # the last checkpoint that still matches is reported
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.CHECKPOINT_MISMATCH, reported_at)
    assert result.checkpoint_seq == (reported_at - 1 if reported_at > 1 else None)


def test_checkpoint_with_a_forged_signature_is_reported(ledger: Ledger) -> None:
    # Given the checkpoint at 6 re-signed by someone without the real key
    key = checkpoint_key(TENANT, 6)
    document = json.loads(ledger.store.objects[key])
    _, forged = InMemoryCheckpointSigner(secret=b"attacker").sign(b"anything")
    ledger.store.objects[key] = json.dumps(
        document | {"signature": base64.b64encode(forged).decode()}
    ).encode()

    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (Problem.BAD_SIGNATURE, 6, 3)


def test_checkpoints_resigned_over_a_rebuilt_chain_with_another_key_are_reported(ledger: Ledger) -> None:
    # Given an attacker who rebuilt from 5 and replaced checkpoints 6 and 10, signed with their own key
    ledger.rebuild_from(5)
    attacker = InMemoryCheckpointSigner(secret=b"attacker")
    for seq in (6, 10):
        old = Checkpoint.from_json(ledger.store.objects[checkpoint_key(TENANT, seq)])
        _, signature = attacker.sign(checkpoint_message(TENANT, seq, ledger.record(seq).hash))
        ledger.store.put(replace(old, hash=ledger.record(seq).hash, signature=signature))

    # Then the first forged checkpoint fails its signature
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (Problem.BAD_SIGNATURE, 6, 3)


def test_unreadable_checkpoint_is_reported(ledger: Ledger) -> None:
    ledger.store.objects[checkpoint_key(TENANT, 3)] = b"{oops"
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (Problem.BAD_SIGNATURE, 3, None)


def test_checkpoint_copied_from_another_tenant_is_reported(ledger: Ledger) -> None:
    # Given globex's (validly signed) checkpoint for seq 1 copied under acme's prefix
    ledger.store.objects[checkpoint_key(TENANT, 1)] = ledger.store.objects[checkpoint_key("globex", 1)]
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.BAD_SIGNATURE, 1)


def test_forged_checkpoint_beyond_the_head_is_a_bad_signature_not_truncation(ledger: Ledger) -> None:
    document = json.loads(ledger.store.objects[checkpoint_key(TENANT, 10)]) | {"seq": 12}
    ledger.store.objects[checkpoint_key(TENANT, 12)] = json.dumps(document).encode()
    result = ledger.verify()
    assert (result.problem, result.first_bad_seq) == (Problem.BAD_SIGNATURE, 12)


def test_tampering_one_tenant_leaves_others_verifiable(ledger: Ledger) -> None:
    ledger.repo.tamper_delete(TENANT, 2)
    assert not ledger.verify().ok
    assert ledger.verify("globex").ok


def _later(ledger: Ledger, minutes: float, freshness: Freshness | None = None) -> ChainVerifier:
    """A verifier whose clock reads `minutes` after the records were appended."""
    now = datetime.now(UTC) + timedelta(minutes=minutes)
    return ChainVerifier(ledger.repo, ledger.store, ledger.signer, freshness=freshness, clock=lambda: now)


def _unsigned_tail(ledger: Ledger, make_event: Callable[..., EventEnvelope], count: int) -> None:
    appender = AuditAppender(ledger.repo)
    for _ in range(count):
        appender.append(make_event())


def test_recent_unsigned_tail_verifies(ledger: Ledger, make_event: Callable[..., EventEnvelope]) -> None:
    # Given two records after the last checkpoint, appended just now (their checkpoint is on its way)
    _unsigned_tail(ledger, make_event, 2)
    result = _later(ledger, minutes=1).verify(TENANT)
    assert (result.ok, result.head_seq, result.checkpoint_seq) == (True, 12, 10)


def test_old_unsigned_tail_does_not_verify(ledger: Ledger, make_event: Callable[..., EventEnvelope]) -> None:
    # Given the same tail, but its checkpoint never came (signing failing, or checkpoints deleted)
    _unsigned_tail(ledger, make_event, 2)
    result = _later(ledger, minutes=6).verify(TENANT)
    assert (result.ok, result.problem, result.first_bad_seq) == (False, Problem.UNSIGNED_TAIL, 11)
    assert result.checked == 12


def test_long_unsigned_tail_does_not_verify_however_recent(
    ledger: Ledger, make_event: Callable[..., EventEnvelope]
) -> None:
    # recorded_at is not hashed (an attacker can refresh it), so the tail's length is bounded too
    _unsigned_tail(ledger, make_event, 3)
    result = _later(ledger, minutes=0, freshness=Freshness(max_unsigned_records=2)).verify(TENANT)
    assert (result.problem, result.first_bad_seq) == (Problem.UNSIGNED_TAIL, 11)


def test_chain_whose_checkpoints_were_all_deleted_does_not_verify(ledger: Ledger) -> None:
    for key in [key for key in ledger.store.objects if key.startswith(f"checkpoints/{TENANT}/")]:
        del ledger.store.objects[key]
    result = _later(ledger, minutes=10).verify(TENANT)
    assert (result.ok, result.problem, result.first_bad_seq, result.checkpoint_seq) == (
        False,
        Problem.UNSIGNED_TAIL,
        1,
        None,
    )


def test_unreadable_recorded_at_counts_as_stale(
    ledger: Ledger, make_event: Callable[..., EventEnvelope]
) -> None:
    _unsigned_tail(ledger, make_event, 1)
    ledger.repo.tamper_overwrite(replace(ledger.record(11), recorded_at="yesterday-ish"))
    assert _later(ledger, minutes=0).verify(TENANT).problem is Problem.UNSIGNED_TAIL


def test_checkpoint_naming_an_unknown_key_is_refused(ledger: Ledger) -> None:
    # Given checkpoint 6 relabelled with another key id (its signature still verifies)
    stored = Checkpoint.from_json(ledger.store.objects[checkpoint_key(TENANT, 6)])
    ledger.store.put(replace(stored, key_id="arn:aws:kms:eu-west-1:111122223333:key/attacker"))
    result = ledger.verify()
    assert (result.ok, result.problem, result.first_bad_seq, result.checkpoint_seq) == (
        False,
        Problem.UNKNOWN_KEY,
        6,
        3,
    )


def test_another_configured_name_of_the_signing_key_is_trusted(ledger: Ledger) -> None:
    # e.g. the bare key id where the signer reports the key ARN
    stored = Checkpoint.from_json(ledger.store.objects[checkpoint_key(TENANT, 6)])
    ledger.store.put(replace(stored, key_id="1234abcd-key-id"))
    verifier = ChainVerifier(ledger.repo, ledger.store, ledger.signer, known_key_ids=["1234abcd-key-id"])
    assert verifier.verify(TENANT).ok


class CountingReader:
    """Wraps the fake chain and counts the records each read hands out."""

    def __init__(self, inner: InMemoryAuditChainRepository) -> None:
        self.inner = inner
        self.read = 0

    def records(self, tenant: str) -> Iterator[AuditRecord]:
        for record in self.inner.records(tenant):
            self.read += 1
            yield record

    def records_between(self, tenant: str, from_seq: int, to_seq: int | None) -> Iterator[AuditRecord]:
        for record in self.inner.records_between(tenant, from_seq, to_seq):
            self.read += 1
            yield record

    def query(self, *args: Any, **kwargs: Any) -> Iterator[AuditRecord]:
        return self.inner.query(*args, **kwargs)


def _range(ledger: Ledger, from_seq: int, to_seq: int, **options: Any) -> VerificationResult:
    return ChainVerifier(ledger.repo, ledger.store, ledger.signer, **options).verify_range(
        TENANT, from_seq, to_seq
    )


def test_range_reads_only_from_the_checkpoint_below_to_the_one_above(ledger: Ledger) -> None:
    # Given checkpoints at 3, 6 and 10: range 4..5 lies between 3 and 6
    reader = CountingReader(ledger.repo)
    verifier = ChainVerifier(reader, ledger.store, ledger.signer)  # type: ignore[arg-type]

    result = verifier.verify_range(TENANT, 4, 5)

    assert result == VerificationResult(
        ok=True,
        checked=3,
        head_seq=6,
        first_bad_seq=None,
        problem=None,
        detail="3 records verified against 2 signed checkpoints",
        checkpoint_seq=6,
    )
    assert reader.read == 3


@pytest.mark.parametrize(("from_seq", "to_seq"), [(1, 10), (1, 1), (10, 10), (7, 9), (11, 20)])
def test_intact_ranges_verify(ledger: Ledger, from_seq: int, to_seq: int) -> None:
    assert _range(ledger, from_seq, to_seq).ok


@pytest.mark.parametrize(("from_seq", "to_seq"), [(4, 6), (5, 5), (1, 10), (5, 9)])
def test_modified_record_in_a_range_is_pinned(ledger: Ledger, from_seq: int, to_seq: int) -> None:
    ledger.repo.tamper_overwrite(replace(ledger.record(5), outcome="failure"))
    result = _range(ledger, from_seq, to_seq)
    assert (result.ok, result.problem, result.first_bad_seq) == (False, Problem.HASH_MISMATCH, 5)


def test_deleted_record_in_a_range_is_pinned(ledger: Ledger) -> None:
    ledger.repo.tamper_delete(TENANT, 5)
    result = _range(ledger, 5, 5)
    assert (result.problem, result.first_bad_seq) == (Problem.MISSING_RECORD, 5)


def test_swapped_records_in_a_range_are_pinned_at_the_first(ledger: Ledger) -> None:
    four, five = ledger.record(4), ledger.record(5)
    ledger.repo.tamper_move(five, to_seq=4)
    ledger.repo.tamper_move(four, to_seq=5)
    result = _range(ledger, 5, 5)
    assert (result.problem, result.first_bad_seq) == (Problem.HASH_MISMATCH, 4)


@pytest.mark.parametrize(("from_seq", "to_seq"), [(7, 9), (8, 10), (9, 9)])
def test_truncated_tail_in_a_range_is_caught_by_the_checkpoint_above(
    ledger: Ledger, from_seq: int, to_seq: int
) -> None:
    for seq in (8, 9, 10):
        ledger.repo.tamper_delete(TENANT, seq)
    result = _range(ledger, from_seq, to_seq)
    assert (result.problem, result.first_bad_seq, result.head_seq) == (Problem.TRUNCATED, 8, 7)


def test_rebuilt_range_disagrees_with_the_checkpoint_above(ledger: Ledger) -> None:
    # The range path reads only the checkpoints around the range: it pins the first seq after the
    # one below (the full verification, with every checkpoint, can be more precise)
    ledger.rebuild_from(8)
    result = _range(ledger, 8, 9)
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (
        Problem.CHECKPOINT_MISMATCH,
        7,
        6,
    )


def test_forged_checkpoint_below_a_range_is_reported(ledger: Ledger) -> None:
    stored = Checkpoint.from_json(ledger.store.objects[checkpoint_key(TENANT, 6)])
    ledger.store.put(replace(stored, signature=b"forged"))
    result = _range(ledger, 7, 8)
    assert (result.problem, result.first_bad_seq) == (Problem.BAD_SIGNATURE, 6)


def test_range_without_a_checkpoint_near_it_is_unanchored(ledger: Ledger) -> None:
    # Given range 9..10 may only walk 2 records to reach a checkpoint, and checkpoint 6 is gone
    assert _range(ledger, 9, 10, max_range=3).ok
    del ledger.store.objects[checkpoint_key(TENANT, 6)]
    result = _range(ledger, 9, 10, max_range=3)
    assert (result.ok, result.problem, result.first_bad_seq) == (False, Problem.UNANCHORED, None)


def test_range_into_an_old_unsigned_tail_does_not_verify(
    ledger: Ledger, make_event: Callable[..., EventEnvelope]
) -> None:
    _unsigned_tail(ledger, make_event, 2)
    now = datetime.now(UTC) + timedelta(hours=1)
    result = _range(ledger, 11, 11, clock=lambda: now)
    assert (result.problem, result.first_bad_seq) == (Problem.UNSIGNED_TAIL, 11)
    assert _range(ledger, 4, 5, clock=lambda: now).ok


@pytest.mark.parametrize(("from_seq", "to_seq"), [(0, 3), (5, 4), (1, 10_001)])
def test_bad_ranges_are_refused(ledger: Ledger, from_seq: int, to_seq: int) -> None:
    with pytest.raises(ValueError, match=r"from_seq|at most"):
        _range(ledger, from_seq, to_seq)


@pytest.fixture
def dense(make_event: Callable[..., EventEnvelope]) -> Ledger:
    """Ten records, each checkpointed (one event per batch)."""
    ledger = Ledger(InMemoryAuditChainRepository(), InMemoryCheckpointStore(), InMemoryCheckpointSigner())
    appender = AuditAppender(ledger.repo)
    for seq in range(1, 11):
        appender.append(make_event(actor=f"user-{seq}"))
        write_checkpoint(TENANT, chain=ledger.repo, signer=ledger.signer, store=ledger.store)
    return ledger


def test_rebuilt_range_is_pinned_by_bisecting_the_checkpoints_inside_it(dense: Ledger) -> None:
    # Given a rebuild from 8 and a range whose upper checkpoint (9) disagrees
    dense.rebuild_from(8)
    reader = CountingStore(dense.store)
    verifier = ChainVerifier(dense.repo, reader, dense.signer)  # type: ignore[arg-type]

    result = verifier.verify_range(TENANT, 3, 9)

    # Then bisecting 3..9's checkpoints finds 7 as the last good one, in a few reads
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (
        Problem.CHECKPOINT_MISMATCH,
        8,
        7,
    )
    assert reader.gets <= 2 + 3


def test_tail_truncated_then_appended_to_is_pinned_at_the_first_replaced_seq(
    dense: Ledger, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given records 9..10 deleted and a new event appended at 9 (its link is valid)
    dense.repo.tamper_delete(TENANT, 10)
    dense.repo.tamper_delete(TENANT, 9)
    AuditAppender(dense.repo).append(make_event())
    result = _range(dense, 8, 10)
    assert (result.problem, result.first_bad_seq) == (Problem.CHECKPOINT_MISMATCH, 9)


class CountingStore:
    def __init__(self, inner: InMemoryCheckpointStore) -> None:
        self.inner = inner
        self.gets = 0

    def latest(self, tenant: str, *, at_or_below: int) -> StoredCheckpoint | None:
        self.gets += 1
        return self.inner.latest(tenant, at_or_below=at_or_below)

    def first_at_or_above(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        self.gets += 1
        return self.inner.first_at_or_above(tenant, seq)

    def get(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        self.gets += 1
        return self.inner.get(tenant, seq)

    def seqs_between(self, tenant: str, first: int, last: int) -> Sequence[int]:
        return self.inner.seqs_between(tenant, first, last)


def test_range_ending_in_a_gap_is_missing_not_truncated(dense: Ledger) -> None:
    # Given record 4 deleted: range 4..4 finds no record before the checkpoint at 4, but 5 exists
    dense.repo.tamper_delete(TENANT, 4)
    result = _range(dense, 4, 4)
    assert (result.problem, result.first_bad_seq, result.detail) == (
        Problem.MISSING_RECORD,
        4,
        "record(s) 4 missing",
    )


def test_rebuild_after_the_last_checkpoint_inside_a_range_is_pinned_after_it(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given checkpoints at 5, 10 and 15 and the chain rebuilt (consistent hashes) from seq 12
    repo, store, signer = (
        InMemoryAuditChainRepository(),
        InMemoryCheckpointStore(),
        InMemoryCheckpointSigner(),
    )
    appender = AuditAppender(repo)
    for seq in range(1, 16):
        appender.append(make_event(actor=f"user-{seq}"))
        if seq % 5 == 0:
            write_checkpoint(TENANT, chain=repo, signer=signer, store=store)
    ledger = Ledger(repo, store, signer)
    ledger.rebuild_from(12)
    # When a range from 8 to 14 is verified: walked from checkpoint 5 to checkpoint 15, with the
    # still matching checkpoint 10 inside
    result = ChainVerifier(repo, store, signer).verify_range(TENANT, 8, 14)
    # Then the seq is the full verification's: the first after checkpoint 10
    assert (result.problem, result.first_bad_seq, result.checkpoint_seq) == (
        Problem.CHECKPOINT_MISMATCH,
        11,
        10,
    )
    assert ledger.verify().first_bad_seq == 11
