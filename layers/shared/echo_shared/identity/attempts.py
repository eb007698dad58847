"""Failed-login counters per account and per source IP, with exponential lockout.

Below the threshold nothing is delayed (a Lambda never sleeps); from the threshold on, each further
failure locks the key for twice as long as the previous one, up to a ceiling. A quiet window
resets the count. The account key is the normalized email, so unknown emails lock exactly like
real ones and the lockout reveals nothing about who has an account.
"""

import hashlib
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int
    base_lock_seconds: int
    max_lock_seconds: int
    window_seconds: int

    def lock_seconds(self, failures: int) -> int:
        if failures < self.threshold:
            return 0
        return min(self.base_lock_seconds * 2 ** (failures - self.threshold), self.max_lock_seconds)


ACCOUNT_POLICY = LockoutPolicy(threshold=5, base_lock_seconds=30, max_lock_seconds=900, window_seconds=900)
IP_POLICY = LockoutPolicy(threshold=30, base_lock_seconds=60, max_lock_seconds=900, window_seconds=900)


@dataclass(frozen=True, slots=True)
class AttemptCounter:
    key: str
    failures: int
    last_failure_at: int
    locked_until: int = 0

    def is_locked(self, now: int) -> bool:
        return self.locked_until > now


def account_key(tenant: str, email: str) -> str:
    # The email is personal data: only its digest is a key (and it is deleted with the user anyway).
    return f"acct#{tenant}#{hashlib.sha256(email.encode('utf-8')).hexdigest()}"


def ip_key(source_ip: str) -> str:
    return f"ip#{source_ip}"


class AttemptStore(Protocol):
    def get(self, key: str) -> AttemptCounter | None: ...

    def record_failure(self, key: str, *, now: int, policy: LockoutPolicy) -> AttemptCounter:
        """Count one failure (restarting the count after a quiet window) and apply the lock."""
        ...

    def reset(self, key: str) -> None: ...


class InMemoryAttemptStore:
    def __init__(self) -> None:
        self.counters: dict[str, AttemptCounter] = {}

    def get(self, key: str) -> AttemptCounter | None:
        return self.counters.get(key)

    def record_failure(self, key: str, *, now: int, policy: LockoutPolicy) -> AttemptCounter:
        previous = self.counters.get(key)
        failures = 1
        if previous is not None and now - previous.last_failure_at < policy.window_seconds:
            failures = previous.failures + 1
        lock = policy.lock_seconds(failures)
        counter = AttemptCounter(key, failures, now, now + lock if lock else 0)
        self.counters[key] = counter
        return counter

    def reset(self, key: str) -> None:
        self.counters.pop(key, None)
