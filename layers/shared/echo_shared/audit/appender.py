"""Append events to a tenant's chain: exactly once per event id, safe with concurrent consumers."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from echo_shared.audit.errors import (
    AuditStoreThrottled,
    AuditStoreUnavailable,
    ChainConflict,
    ChainContention,
    DuplicateEvent,
)
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH
from echo_shared.audit.records import AuditRecord
from echo_shared.audit.repository import AuditChainWriter
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


class AuditAppender:
    def __init__(
        self,
        chain: AuditChainWriter,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._chain = chain
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.SystemRandom()

    def append(self, event: EventEnvelope) -> AppendResult:
        """Read the head, then commit guard + record in one transaction; retry lost races.

        Raises ChainContention / AuditStoreUnavailable (both retryable) when attempts run out.
        """
        last_failure: ChainConflict | AuditStoreThrottled | None = None
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                head = self._chain.head(event.tenant)
                seq, prev_hash = (FIRST_SEQ, GENESIS_HASH) if head is None else (head.seq + 1, head.hash)
                record = AuditRecord.link(event, seq=seq, prev_hash=prev_hash, recorded_at=self._clock())
                self._chain.commit(record)
            except DuplicateEvent:
                return AppendResult(AppendStatus.DUPLICATE, event.tenant, None, attempt)
            except (ChainConflict, AuditStoreThrottled) as exc:
                last_failure = exc
            else:
                return AppendResult(AppendStatus.APPENDED, event.tenant, seq, attempt)
            if attempt < self._policy.max_attempts:
                self._sleep(self._policy.delay(attempt, self._rng))
        if isinstance(last_failure, ChainConflict):
            raise ChainContention(f"gave up after {self._policy.max_attempts} attempts") from last_failure
        raise AuditStoreUnavailable(f"throttled {self._policy.max_attempts} times") from last_failure
