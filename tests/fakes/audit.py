"""In-memory fakes of the audit ports, with the production semantics plus tamper helpers.

They live in tests/ so no production bundle carries them (nor the fixed-secret HMAC signer).
"""

import hashlib
import hmac
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace

from echo_shared.audit import (
    MAX_RECORDS_PER_COMMIT,
    AuditRecord,
    ChainConflict,
    ChainHead,
    Checkpoint,
    StoredCheckpoint,
)
from echo_shared.audit.checkpoints import checkpoint_prefix, read_checkpoint, seq_from_key
from echo_shared.audit.verification_jobs import JobExists, VerificationJob
from echo_shared.filters import RecordFilter


class InMemoryAuditChainRepository:
    """Same conflict semantics as the DynamoDB adapter: a commit is all or nothing."""

    def __init__(self) -> None:
        self._chains: dict[str, dict[int, AuditRecord]] = {}
        self._guards: dict[str, tuple[str, int]] = {}

    def head(self, tenant: str) -> ChainHead | None:
        chain = self._chains.get(tenant)
        if not chain:
            return None
        latest = chain[max(chain)]
        return ChainHead(seq=latest.seq, hash=latest.hash)

    def chained(self, event_ids: Collection[str]) -> set[str]:
        return {event_id for event_id in event_ids if event_id in self._guards}

    def commit(self, records: Sequence[AuditRecord]) -> None:
        if not 0 < len(records) <= MAX_RECORDS_PER_COMMIT:
            raise ValueError(f"a commit holds 1..{MAX_RECORDS_PER_COMMIT} records")
        duplicates = frozenset(r.event_id for r in records if r.event_id in self._guards)
        taken = any(r.seq in self._chains.get(r.tenant, {}) for r in records)
        if duplicates or taken:
            raise ChainConflict("commit refused", duplicates=duplicates, seq_taken=taken)
        for record in records:
            self._guards[record.event_id] = (record.tenant, record.seq)
            self._chains.setdefault(record.tenant, {})[record.seq] = record

    def records(self, tenant: str) -> Iterator[AuditRecord]:
        chain = self._chains.get(tenant, {})
        yield from (chain[seq] for seq in sorted(chain))

    def records_between(self, tenant: str, from_seq: int, to_seq: int | None) -> Iterator[AuditRecord]:
        chain = self._chains.get(tenant, {})
        for seq in sorted(chain):
            if seq >= from_seq and (to_seq is None or seq <= to_seq):
                yield chain[seq]

    def query(
        self, tenant: str, filters: RecordFilter, *, after_seq: int | None, newest_first: bool
    ) -> Iterator[AuditRecord]:
        chain = self._chains.get(tenant, {})
        for seq in sorted(chain, reverse=newest_first):
            if after_seq is not None and (seq >= after_seq if newest_first else seq <= after_seq):
                continue
            record = chain[seq]
            if filters.matches(
                type=record.type, actor=record.actor, resource=record.resource, occurred_at=record.occurred_at
            ):
                yield record

    def stored(self, tenant: str) -> list[AuditRecord]:
        return list(self.records(tenant))

    def guarded_event_ids(self) -> set[str]:
        return set(self._guards)

    def tamper_overwrite(self, record: AuditRecord) -> None:
        self._chains.setdefault(record.tenant, {})[record.seq] = record

    def tamper_delete(self, tenant: str, seq: int) -> None:
        del self._chains[tenant][seq]

    def tamper_move(self, record: AuditRecord, *, to_seq: int) -> None:
        """Store `record`'s contents under another seq (keeping its stored hash and prev_hash)."""
        self._chains[record.tenant][to_seq] = replace(record, seq=to_seq)


class InMemoryCheckpointSigner:
    """HMAC-SHA256 stands in for the KMS ECDSA key."""

    def __init__(self, key_id: str = "test-checkpoint-key", secret: bytes = b"test-only-secret") -> None:
        self._key_id = key_id
        self._secret = secret

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> tuple[str, bytes]:
        return self._key_id, hmac.new(self._secret, message, hashlib.sha256).digest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(hmac.new(self._secret, message, hashlib.sha256).digest(), signature)


class InMemoryCheckpointStore:
    """Keyed like the S3 layout; `objects` may be edited to simulate tampering."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, checkpoint: Checkpoint) -> None:
        self.objects[checkpoint.key] = checkpoint.to_json()

    def latest(self, tenant: str, *, at_or_below: int) -> StoredCheckpoint | None:
        found = [entry for entry in self.list(tenant) if entry.key_seq <= at_or_below]
        return found[-1] if found else None

    def first_at_or_above(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        return next((entry for entry in self.list(tenant) if entry.key_seq >= seq), None)

    def seqs_between(self, tenant: str, first: int, last: int) -> Sequence[int]:
        return [entry.key_seq for entry in self.list(tenant) if first <= entry.key_seq <= last]

    def get(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        return next((entry for entry in self.list(tenant) if entry.key_seq == seq), None)

    def list(self, tenant: str) -> list[StoredCheckpoint]:
        prefix = checkpoint_prefix(tenant)
        found = []
        for key in sorted(self.objects):
            key_seq = seq_from_key(key)
            if key.startswith(prefix) and key_seq is not None:
                found.append(StoredCheckpoint(key_seq, read_checkpoint(self.objects[key])))
        return found


class InMemoryVerificationJobStore:
    """Verification jobs with the DynamoDB store's conditional save."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], VerificationJob] = {}
        self.saves = 0

    def create(self, job: VerificationJob) -> None:
        if (job.tenant, job.job_id) in self.jobs:
            raise JobExists(job.job_id)
        self.jobs[(job.tenant, job.job_id)] = job

    def get(self, tenant: str, job_id: str) -> VerificationJob | None:
        return self.jobs.get((tenant, job_id))

    def save(self, job: VerificationJob, *, expected_next_seq: int) -> bool:
        stored = self.jobs.get((job.tenant, job.job_id))
        if stored is None or stored.result is not None or stored.next_seq != expected_next_seq:
            return False
        self.saves += 1
        self.jobs[(job.tenant, job.job_id)] = job
        return True

    def withdraw(self, job: VerificationJob) -> None:
        stored = self.jobs.get((job.tenant, job.job_id))
        if stored is not None and stored.pages == 0:
            del self.jobs[(job.tenant, job.job_id)]


class RecordingJobQueue:
    """The job queue: what was enqueued, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def enqueue(self, tenant: str, job_id: str) -> None:
        self.sent.append((tenant, job_id))
