"""Append events to their tenants' chains in batches: exactly once per event id, gap-free seqs,
safe with concurrent consumers.

Per batch: duplicates inside the batch are dropped first, then one batch read of the exactly-once
guards drops events already chained. Per tenant: the head is read once, the remaining events are
linked in memory and committed in conditional transactions of up to MAX_RECORDS_PER_COMMIT records
(record + guard each). A refused transaction writes nothing: the events another consumer already
chained become duplicates, and if a seq was taken the head is read again and only what did not
commit is linked and retried, with backoff.
"""

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from echo_shared.audit.errors import (
    AuditStoreThrottled,
    AuditStoreUnavailable,
    ChainConflict,
    ChainContention,
    RetryableAuditError,
)
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH
from echo_shared.audit.records import AuditRecord
from echo_shared.audit.repository import MAX_RECORDS_PER_COMMIT, AuditChainWriter
from echo_shared.events import EventEnvelope
from echo_shared.timeutil import Clock, utc_now


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded attempts with full-jitter exponential backoff."""

    max_attempts: int = 8
    base_delay_seconds: float = 0.02
    max_delay_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling)


class AppendStatus(StrEnum):
    APPENDED = "appended"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class AppendResult:
    status: AppendStatus
    tenant: str
    seq: int | None
    attempts: int

    @property
    def retries(self) -> int:
        return self.attempts - 1


# What happened to one event of a batch: chained, recognised as a duplicate, or deferred (nothing
# written; SQS redelivers it).
type AppendOutcome = AppendResult | RetryableAuditError


class AuditAppender:
    def __init__(
        self,
        chain: AuditChainWriter,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        tenant_concurrency: int = 1,
    ) -> None:
        if tenant_concurrency < 1:
            raise ValueError("tenant_concurrency must be at least 1")
        self._tenant_concurrency = tenant_concurrency
        self._chain = chain
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.SystemRandom()

    def append(self, event: EventEnvelope) -> AppendResult:
        """Append one event. Raises ChainContention / AuditStoreUnavailable (both retryable)."""
        outcome = self.append_batch([event])[0]
        if isinstance(outcome, RetryableAuditError):
            raise outcome
        return outcome

    def append_batch(self, events: Sequence[EventEnvelope]) -> list[AppendOutcome]:
        """One outcome per event, in the order given; each tenant's events chain in that order."""
        outcomes: dict[int, AppendOutcome] = {}
        first_index: dict[str, int] = {}
        by_tenant: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            event_id = str(event.event_id)
            if event_id in first_index:
                outcomes[index] = AppendResult(AppendStatus.DUPLICATE, event.tenant, None, 1)
                continue
            first_index[event_id] = index
            by_tenant.setdefault(event.tenant, []).append(index)
        already = self._already_chained(list(first_index))
        work: list[tuple[str, list[int]]] = []
        for tenant, indices in by_tenant.items():
            pending = []
            for index in indices:
                if str(events[index].event_id) in already:
                    outcomes[index] = AppendResult(AppendStatus.DUPLICATE, tenant, None, 1)
                else:
                    pending.append(index)
            work.append((tenant, pending))
        # Tenants' chains are independent: their appends may overlap (each tenant stays sequential).
        if self._tenant_concurrency == 1 or len(work) <= 1:
            tenant_outcomes = [self._append_tenant(tenant, pending, events) for tenant, pending in work]
        else:
            # The first tenant runs here, so the chain's clients exist before other threads use them.
            first_tenant, first_pending = work[0]
            tenant_outcomes = [self._append_tenant(first_tenant, first_pending, events)]
            with ThreadPoolExecutor(min(self._tenant_concurrency, len(work) - 1)) as pool:
                tenant_outcomes += list(
                    pool.map(lambda item: self._append_tenant(item[0], item[1], events), work[1:])
                )
        for found in tenant_outcomes:
            outcomes.update(found)
        return [outcomes[index] for index in range(len(events))]

    def _already_chained(self, event_ids: list[str]) -> set[str]:
        try:
            return self._chain.chained(event_ids)
        except AuditStoreThrottled:
            return set()  # Only a shortcut: each commit's guard condition still refuses duplicates.

    def _append_tenant(
        self, tenant: str, pending: list[int], events: Sequence[EventEnvelope]
    ) -> dict[int, AppendOutcome]:
        outcomes: dict[int, AppendOutcome] = {}
        attempt = 0
        last_failure: ChainConflict | AuditStoreThrottled | None = None
        while pending and attempt < self._policy.max_attempts:
            attempt += 1
            try:
                self._link_and_commit(tenant, pending, events, outcomes, attempt)
            except ChainConflict as exc:
                chained_elsewhere = [i for i in pending if str(events[i].event_id) in exc.duplicates]
                for index in chained_elsewhere:
                    outcomes[index] = AppendResult(AppendStatus.DUPLICATE, tenant, None, attempt)
                    pending.remove(index)
                if chained_elsewhere and not exc.seq_taken:
                    attempt -= 1  # Dropping another consumer's events is progress, not a lost race.
                    continue
                last_failure = exc
            except AuditStoreThrottled as exc:
                last_failure = exc
            else:
                return outcomes
            if pending and attempt < self._policy.max_attempts:
                self._sleep(self._policy.delay(attempt, self._rng))
        if not pending:
            return outcomes
        deferred: RetryableAuditError
        if isinstance(last_failure, ChainConflict):
            deferred = ChainContention(f"gave up after {self._policy.max_attempts} attempts")
        else:
            deferred = AuditStoreUnavailable(f"throttled {self._policy.max_attempts} times")
        deferred.__cause__ = last_failure
        for index in pending:
            outcomes[index] = deferred
        return outcomes

    def _link_and_commit(
        self,
        tenant: str,
        pending: list[int],
        events: Sequence[EventEnvelope],
        outcomes: dict[int, AppendOutcome],
        attempt: int,
    ) -> None:
        """Link `pending` after the current head and commit it chunk by chunk; every committed
        chunk leaves `pending` at once, so a refused chunk leaves exactly what did not commit."""
        head = self._chain.head(tenant)
        seq, prev_hash = (FIRST_SEQ, GENESIS_HASH) if head is None else (head.seq + 1, head.hash)
        recorded_at = self._clock()
        while pending:
            chunk = pending[:MAX_RECORDS_PER_COMMIT]
            records = []
            for index in chunk:
                record = AuditRecord.link(
                    events[index], seq=seq, prev_hash=prev_hash, recorded_at=recorded_at
                )
                records.append(record)
                seq, prev_hash = seq + 1, record.hash
            self._chain.commit(records)
            for index, record in zip(chunk, records, strict=True):
                outcomes[index] = AppendResult(AppendStatus.APPENDED, tenant, record.seq, attempt)
            del pending[: len(chunk)]
