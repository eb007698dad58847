"""An in-memory AttemptStore with the DynamoDB adapter's semantics (one lock = one conditional update)."""

from __future__ import annotations

import threading
from dataclasses import replace

from echo_shared.identity.attempts import AttemptBudgetSpent, AttemptCounter, AttemptPolicy


class InMemoryAttemptStore:
    def __init__(self) -> None:
        self.counters: dict[str, AttemptCounter] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> AttemptCounter | None:
        return self.counters.get(key)

    def reserve(self, key: str, *, now: int, policy: AttemptPolicy) -> AttemptCounter:
        with self._lock:
            current = self.counters.get(key)
            if current is None or now - current.window_started_at >= current.window_seconds:
                counter = AttemptCounter(key, 1, now, policy.window_seconds, policy.limit)
            elif current.attempts < policy.limit:
                counter = replace(current, attempts=current.attempts + 1, limit=policy.limit)
            else:
                raise AttemptBudgetSpent(current)
            self.counters[key] = counter
            return counter

    def release(self, reservation: AttemptCounter) -> None:
        with self._lock:
            current = self.counters.get(reservation.key)
            if current is not None and current.window_started_at == reservation.window_started_at:
                self.counters[reservation.key] = replace(current, attempts=max(current.attempts - 1, 0))

    def reset(self, key: str) -> None:
        with self._lock:
            self.counters.pop(key, None)
