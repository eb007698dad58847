"""Verify a tenant's chain: recompute every hash, check seq continuity and links, and compare the
chain with its signed checkpoints (which catch truncation and a chain rebuilt with consistent hashes).
"""

from dataclasses import dataclass
from enum import StrEnum

from echo_shared.audit.checkpoints import (
    SIGNING_ALGORITHM,
    CheckpointSigner,
    CheckpointStore,
    StoredCheckpoint,
)
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH
from echo_shared.audit.records import AuditRecord
from echo_shared.audit.repository import AuditChainReader


class Problem(StrEnum):
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_LINK = "broken_link"
    MISSING_RECORD = "missing_record"
    TRUNCATED = "truncated"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    BAD_SIGNATURE = "bad_signature"


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


class _ChainBroken(Exception):
    def __init__(self, problem: Problem, seq: int, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.seq = seq
        self.detail = detail


class ChainVerifier:
    def __init__(
        self, chain: AuditChainReader, checkpoints: CheckpointStore, signer: CheckpointSigner
    ) -> None:
        self._chain = chain
        self._checkpoints = checkpoints
        self._signer = signer

    def verify(self, tenant: str) -> VerificationResult:
        # Checkpoints first: any checkpoint listed now covers records that are already committed,
        # so an ingest running concurrently cannot make the chain look truncated.
        walk = _Walk(tenant, self._checkpoints.list(tenant), self._signer)
        records = self._chain.records(tenant)
        try:
            for record in records:
                walk.step(record.seq, record.prev_hash, record.hash, _recompute(record))
            walk.finish()
        except _ChainBroken as broken:
            head_seq = walk.head_seq
            for record in records:  # ascending: the last one left is the head
                head_seq = record.seq
            return VerificationResult(
                ok=False,
                checked=walk.checked,
                head_seq=head_seq,
                first_bad_seq=broken.seq,
                problem=broken.problem,
                detail=broken.detail,
                checkpoint_seq=walk.last_good_checkpoint,
            )
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

    def __init__(self, tenant: str, stored: list[StoredCheckpoint], signer: CheckpointSigner) -> None:
        self._tenant = tenant
        self._signer = signer
        self._by_seq = {entry.key_seq: entry for entry in stored}
        self._expected = FIRST_SEQ
        self._prev_hash = GENESIS_HASH
        self.checked = 0
        self.head_seq = FIRST_SEQ - 1
        self.last_good_checkpoint: int | None = None
        self.checkpoints_used = 0

    def step(self, seq: int, prev_hash: str, stored_hash: str, recomputed: str | None) -> None:
        self.head_seq = seq
        if seq != self._expected:
            missing = f"{self._expected}" if seq == self._expected + 1 else f"{self._expected}..{seq - 1}"
            raise _ChainBroken(Problem.MISSING_RECORD, self._expected, f"record(s) {missing} missing")
        if recomputed is None:
            raise _ChainBroken(Problem.HASH_MISMATCH, seq, "stored data is no longer a JSON object")
        if recomputed != stored_hash:
            raise _ChainBroken(Problem.HASH_MISMATCH, seq, "stored hash does not match the record's contents")
        if prev_hash != self._prev_hash:
            raise _ChainBroken(
                Problem.BROKEN_LINK, seq, f"prev_hash does not match the hash of seq {seq - 1}"
            )
        stored = self._by_seq.get(seq)
        if stored is not None:
            signed_hash = self._verified_hash(stored)
            if signed_hash != recomputed:
                good = self.last_good_checkpoint or FIRST_SEQ - 1
                raise _ChainBroken(
                    Problem.CHECKPOINT_MISMATCH,
                    good + 1,
                    f"checkpoint at seq {seq} signed a different hash: records after seq {good} were rewritten",
                )
            self.last_good_checkpoint = seq
            self.checkpoints_used += 1
        self.checked += 1
        self._prev_hash = stored_hash
        self._expected = seq + 1

    def finish(self) -> None:
        beyond = sorted(seq for seq in self._by_seq if seq > self.head_seq)
        if beyond:
            self._verified_hash(self._by_seq[beyond[0]])
            raise _ChainBroken(
                Problem.TRUNCATED,
                self.head_seq + 1,
                f"a signed checkpoint covers seq {beyond[0]} but the chain ends at seq {self.head_seq}",
            )

    def _verified_hash(self, stored: StoredCheckpoint) -> str:
        checkpoint = stored.checkpoint
        seq = stored.key_seq
        if checkpoint is None:
            raise _ChainBroken(Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} is unreadable")
        if checkpoint.tenant != self._tenant or checkpoint.seq != seq:
            raise _ChainBroken(
                Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} was signed for another position"
            )
        if checkpoint.signing_algorithm != SIGNING_ALGORITHM or not self._signer.verify(
            checkpoint.message, checkpoint.signature
        ):
            raise _ChainBroken(
                Problem.BAD_SIGNATURE, seq, f"checkpoint at seq {seq} has an invalid signature"
            )
        return checkpoint.hash
