"""Verify a tenant's chain: recompute every hash, check seq continuity and links, and compare the
chain with its signed checkpoints (which catch truncation and a chain rebuilt with consistent hashes).

Three walks share one set of rules:
- `verify` walks the whole chain against every checkpoint;
- `verify_range` walks from the signed checkpoint just below `from_seq` to the first one at or
  above `to_seq`, so a range costs what it spans, not what the chain holds;
- `verify_segment` (the notary, before it signs a new head) walks from the latest checkpoint to
  the head.

A checkpoint counts only if it is readable, names this tenant and seq, names a known signing key
(the signer's key id, or another name of that same key listed in `known_key_ids`; the signature is
always checked with the configured key, never with one read from storage) and its signature
verifies. Records after the last checkpoint (the unsigned tail) are fine only
while they are recent (`Freshness`): the ingest checkpoints after every batch, so an old or long
unsigned tail means checkpoints are failing or were deleted.
"""

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from echo_shared.audit.checkpoints import (
    SIGNING_ALGORITHM,
    Checkpoint,
    CheckpointSigner,
    CheckpointStore,
    StoredCheckpoint,
)
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH
from echo_shared.audit.records import AuditRecord
from echo_shared.audit.repository import AuditChainReader
from echo_shared.timeutil import Clock, coerce_utc, utc_now

# The widest range one request verifies; also how far below `from_seq` (or above `to_seq`) the
# walk may have to go to reach a signed checkpoint. Wider spans are verified as consecutive ranges.
MAX_RANGE_RECORDS = 10_000


class Problem(StrEnum):
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_LINK = "broken_link"
    MISSING_RECORD = "missing_record"
    TRUNCATED = "truncated"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    UNSIGNED_TAIL = "unsigned_tail"
    UNANCHORED = "unanchored"


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long, and over how many records, the unsigned tail may be before verification fails."""

    max_unsigned_age: timedelta = timedelta(minutes=5)
    max_unsigned_records: int = 10_000


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """`checkpoint_seq` is the latest checkpoint that verified before the first problem (if any)."""

    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None
    problem: Problem | None
    detail: str
    checkpoint_seq: int | None


@dataclass(frozen=True, slots=True)
class SegmentVerdict:
    """What the notary may sign: the verified head, or the problem found (`result`)."""

    result: VerificationResult
    head: AuditRecord | None


class _ChainBroken(Exception):
    def __init__(self, problem: Problem, seq: int | None, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.seq = seq
        self.detail = detail


class ChainVerifier:
    def __init__(
        self,
        chain: AuditChainReader,
        checkpoints: CheckpointStore,
        signer: CheckpointSigner,
        *,
        freshness: Freshness | None = None,
        known_key_ids: Collection[str] = (),
        clock: Clock = utc_now,
        max_range: int = MAX_RANGE_RECORDS,
    ) -> None:
        self._chain = chain
        self._checkpoints = checkpoints
        self._signer = signer
        self._freshness = freshness or Freshness()
        self._known_keys = frozenset({signer.key_id, *known_key_ids})
        self._clock = clock
        self.max_range = max_range

    def verify(self, tenant: str) -> VerificationResult:
        # Checkpoints first: any checkpoint listed now covers records that are already committed,
        # so an ingest running concurrently cannot make the chain look truncated.
        walk = self._walk(tenant, self._checkpoints.list(tenant))
        return self._run(walk, self._chain.records(tenant), check_tail=True)

    def verify_range(self, tenant: str, from_seq: int, to_seq: int) -> VerificationResult:
        """Verify records from_seq..to_seq between the signed checkpoints around them.

        Raises ValueError if the range is empty or wider than `max_range`.
        """
        if not FIRST_SEQ <= from_seq <= to_seq:
            raise ValueError("from_seq must be at least 1 and at most to_seq")
        if to_seq - from_seq + 1 > self.max_range:
            raise ValueError(f"a range holds at most {self.max_range} records")
        upper = self._checkpoints.first_at_or_above(tenant, to_seq)
        lower = self._checkpoints.latest(tenant, at_or_below=from_seq - 1)
        walk = self._walk(tenant, [] if upper is None else [upper])
        try:
            if lower is not None:
                walk.start_after(lower)
            if from_seq - walk.expected > self.max_range:
                raise _ChainBroken(
                    Problem.UNANCHORED,
                    None,
                    f"no signed checkpoint within {self.max_range} records below seq {from_seq}",
                )
            if upper is not None and upper.key_seq - to_seq > self.max_range:
                raise _ChainBroken(
                    Problem.UNANCHORED,
                    None,
                    f"no signed checkpoint within {self.max_range} records above seq {to_seq}",
                )
        except _ChainBroken as broken:
            return walk.failed(broken)
        end = to_seq if upper is None else upper.key_seq
        records = self._chain.records_between(tenant, walk.expected, end)
        walk.hashes = {}
        # Without a checkpoint at or above to_seq the range runs into the unsigned tail.
        result = self._run(walk, records, check_tail=upper is None)
        if result.problem is Problem.TRUNCATED and result.first_bad_seq is not None:
            # The range ended before the checkpoint above it: a gap if the chain goes on beyond it.
            later = next(iter(self._chain.records_between(tenant, result.first_bad_seq, None)), None)
            if later is not None:
                gap = result.first_bad_seq
                missing = f"{gap}" if later.seq == gap + 1 else f"{gap}..{later.seq - 1}"
                return replace(result, problem=Problem.MISSING_RECORD, detail=f"record(s) {missing} missing")
        if result.problem in (Problem.TRUNCATED, Problem.CHECKPOINT_MISMATCH):
            return self._pinpoint(tenant, walk, result, upper_seq=None if upper is None else upper.key_seq)
        return result

    def _pinpoint(
        self, tenant: str, walk: "_Walk", result: VerificationResult, *, upper_seq: int | None
    ) -> VerificationResult:
        """The walk read only the checkpoints around the range; bisect those inside it to find the
        last one that still matches (a checkpoint matches iff every record up to it is intact,
        since the walk already checked each hash and link): O(log n) checkpoint reads."""
        hashes = walk.hashes or {}
        floor = walk.start_seq - 1
        seqs = self._checkpoints.seqs_between(tenant, floor + 1, max(hashes, default=floor))
        last_good, first_bad = result.checkpoint_seq, None
        low, high = 0, len(seqs) - 1
        try:
            while low <= high:
                middle = (low + high) // 2
                stored = self._checkpoints.get(tenant, seqs[middle])
                if stored is None:
                    break
                if walk.verified(stored).hash == hashes.get(seqs[middle]):
                    last_good, low = seqs[middle], middle + 1
                else:
                    first_bad, high = seqs[middle], middle - 1
        except _ChainBroken as broken:
            return walk.failed(broken)
        if (
            first_bad is None
            and result.problem is Problem.CHECKPOINT_MISMATCH
            and last_good != result.checkpoint_seq
        ):
            # Every checkpoint inside the range still matches: the one above it is the first that does not.
            first_bad = upper_seq
        if first_bad is None:
            return result
        good = floor if last_good is None else max(last_good, floor)
        return replace(
            result,
            first_bad_seq=good + 1,
            problem=Problem.CHECKPOINT_MISMATCH,
            detail=f"checkpoint at seq {first_bad} signed a different hash: records after seq {good} were rewritten",
            checkpoint_seq=None if last_good is None else good,
        )

    def verify_segment(self, tenant: str, *, head_seq: int) -> SegmentVerdict:
        """Walk from the latest checkpoint at or below `head_seq` to the end of the chain.

        The record at that checkpoint is read again: it must still hash to what was signed. A
        checkpoint above `head_seq` must be reached by the walk (records appended meanwhile),
        or the chain was truncated. Freshness is not checked: signing a verified tail is the cure.
        """
        beyond = self._checkpoints.first_at_or_above(tenant, head_seq + 1)
        latest = self._checkpoints.latest(tenant, at_or_below=head_seq)
        walk = self._walk(tenant, [entry for entry in (latest, beyond) if entry is not None])
        start = FIRST_SEQ
        if latest is not None:
            try:
                walk.resume_at(latest)
            except _ChainBroken as broken:
                return SegmentVerdict(walk.failed(broken), None)
            start = latest.key_seq
        head: AuditRecord | None = None

        def tracked(records: Iterable[AuditRecord]) -> Iterator[AuditRecord]:
            nonlocal head
            for record in records:
                head = record
                yield record

        result = self._run(walk, tracked(self._chain.records_between(tenant, start, None)), check_tail=False)
        return SegmentVerdict(result, head if result.ok else None)

    def _walk(self, tenant: str, stored: list[StoredCheckpoint]) -> "_Walk":
        return _Walk(tenant, stored, self._signer, self._known_keys)

    def _run(self, walk: "_Walk", records: Iterable[AuditRecord], *, check_tail: bool) -> VerificationResult:
        records = iter(records)
        try:
            for record in records:
                walk.step(record)
            walk.finish()
            if check_tail:
                walk.check_tail(self._freshness, self._clock())
        except _ChainBroken as broken:
            for record in records:  # what is left of the walk: its last one is the head
                walk.head_seq = record.seq
            return walk.failed(broken)
        return VerificationResult(
            ok=True,
            checked=walk.checked,
            head_seq=walk.head_seq,
            first_bad_seq=None,
            problem=None,
            detail=f"{walk.checked} records verified against {walk.checkpoints_used} signed checkpoints",
            checkpoint_seq=walk.last_good_checkpoint,
        )


def _recompute(record: AuditRecord) -> str | None:
    try:
        return record.recomputed_hash()
    except ValueError:
        return None


class _Walk:
    """State of one walk along the chain in ascending seq order."""

    def __init__(
        self,
        tenant: str,
        stored: list[StoredCheckpoint],
        signer: CheckpointSigner,
        known_keys: frozenset[str],
    ) -> None:
        self._tenant = tenant
        self._signer = signer
        self._known_keys = known_keys
        self._by_seq = {entry.key_seq: entry for entry in stored}
        self.expected = FIRST_SEQ
        self._prev_hash = GENESIS_HASH
        self.checked = 0
        self.head_seq = FIRST_SEQ - 1
        self.last_good_checkpoint: int | None = None
        self.checkpoints_used = 0
        self._first_unsigned_at: str | None = None
        self._verified: dict[int, Checkpoint] = {}
        # The seq below which this walk trusts the chain without having read it.
        self._floor = FIRST_SEQ - 1
        self.start_seq = FIRST_SEQ
        # Range walks remember each record's hash (a range is bounded) for `_pinpoint`.
        self.hashes: dict[int, str] | None = None

    def start_after(self, anchor: StoredCheckpoint) -> None:
        """Begin at the record after a signed checkpoint, linked to the hash it signed."""
        self._prev_hash = self.verified(anchor).hash
        self.expected = anchor.key_seq + 1
        self.start_seq = anchor.key_seq + 1
        self.head_seq = anchor.key_seq
        self.last_good_checkpoint = anchor.key_seq
        self.checkpoints_used += 1
        self._by_seq.pop(anchor.key_seq, None)

    def resume_at(self, anchor: StoredCheckpoint) -> None:
        """Begin at the checkpointed record itself, which must still hash to the signed hash."""
        self.verified(anchor)
        self.expected = anchor.key_seq
        self.head_seq = anchor.key_seq - 1
        self._floor = anchor.key_seq - 1
        self._prev_hash = ""  # not known: the checkpoint signs the record's hash, not its link

    def step(self, record: AuditRecord) -> None:
        seq, recomputed = record.seq, _recompute(record)
        self.head_seq = seq
        if seq != self.expected:
            missing = f"{self.expected}" if seq == self.expected + 1 else f"{self.expected}..{seq - 1}"
            raise _ChainBroken(Problem.MISSING_RECORD, self.expected, f"record(s) {missing} missing")
        if recomputed is None:
            raise _ChainBroken(Problem.HASH_MISMATCH, seq, "stored data is no longer a JSON object")
        if recomputed != record.hash:
            raise _ChainBroken(Problem.HASH_MISMATCH, seq, "stored hash does not match the record's contents")
        if self._prev_hash and record.prev_hash != self._prev_hash:
            raise _ChainBroken(
                Problem.BROKEN_LINK, seq, f"prev_hash does not match the hash of seq {seq - 1}"
            )
        stored = self._by_seq.get(seq)
        if stored is not None:
            if self.verified(stored).hash != recomputed:
                good = self._floor if self.last_good_checkpoint is None else self.last_good_checkpoint
                raise _ChainBroken(
                    Problem.CHECKPOINT_MISMATCH,
                    good + 1,
                    f"checkpoint at seq {seq} signed a different hash: records after seq {good} were rewritten",
                )
            self.last_good_checkpoint = seq
            self.checkpoints_used += 1
            self._first_unsigned_at = None
        elif self._first_unsigned_at is None:
            self._first_unsigned_at = record.recorded_at
        self.checked += 1
        if self.hashes is not None:
            self.hashes[seq] = record.hash
        self._prev_hash = record.hash
        self.expected = seq + 1

    def finish(self) -> None:
        beyond = sorted(seq for seq in self._by_seq if seq > self.head_seq)
        if beyond:
            self.verified(self._by_seq[beyond[0]])
            raise _ChainBroken(
                Problem.TRUNCATED,
                self.head_seq + 1,
                f"a signed checkpoint covers seq {beyond[0]} but the chain ends at seq {self.head_seq}",
            )

    def check_tail(self, freshness: Freshness, now: datetime) -> None:
        """Records after the last checkpoint must be few and recent."""
        signed = self.last_good_checkpoint or FIRST_SEQ - 1
        unsigned = self.head_seq - signed
        if unsigned <= 0:
            return
        try:
            age = now - coerce_utc(self._first_unsigned_at)
        except (TypeError, ValueError):
            age = timedelta.max
        if unsigned > freshness.max_unsigned_records or age > freshness.max_unsigned_age:
            raise _ChainBroken(
                Problem.UNSIGNED_TAIL,
                signed + 1,
                f"records {signed + 1}..{self.head_seq} are not covered by a recent signed checkpoint",
            )

    def failed(self, broken: _ChainBroken) -> VerificationResult:
        return VerificationResult(
            ok=False,
            checked=self.checked,
            head_seq=self.head_seq,
            first_bad_seq=broken.seq,
            problem=broken.problem,
            detail=broken.detail,
            checkpoint_seq=self.last_good_checkpoint,
        )

    def verified(self, stored: StoredCheckpoint) -> Checkpoint:
        seq = stored.key_seq
        known = self._verified.get(seq)
        if known is not None:
            return known
        checkpoint = stored.checkpoint
        if checkpoint is None:
            raise _ChainBroken(Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} is unreadable")
        if checkpoint.tenant != self._tenant or checkpoint.seq != seq:
            raise _ChainBroken(
                Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} was signed for another position"
            )
        if checkpoint.key_id not in self._known_keys:
            raise _ChainBroken(
                Problem.UNKNOWN_KEY, seq, f"checkpoint at seq {seq} names a signing key that is not trusted"
            )
        if checkpoint.signing_algorithm != SIGNING_ALGORITHM or not self._signer.verify(
            checkpoint.message, checkpoint.signature
        ):
            raise _ChainBroken(
                Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} has an invalid signature"
            )
        self._verified[seq] = checkpoint
        return checkpoint
