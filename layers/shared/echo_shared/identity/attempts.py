"""Sign-in attempt budgets: an attempt is counted BEFORE its password is checked.

Each key (account + source, account, source) has a budget of `limit` attempts per fixed window
that starts with its first attempt. `reserve` takes one unit atomically (one conditional update),
so N parallel guesses can never check more than `limit` passwords per key and window; when the
budget is spent the key is locked until its window ends. A success deletes its own account+source
key and gives its unit back to the wider keys (`release`), so those count failures only.
The policy and its reasons are in docs/identity.md ("Passwords and brute force").
The account key is the normalized email's digest, so unknown emails lock exactly like real ones.
"""

import hashlib
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    limit: int
    window_seconds: int


# A stranger can only spend the budget of their own source: the user's own network keeps its own.
ACCOUNT_SOURCE_POLICY = AttemptPolicy(limit=5, window_seconds=900)
# The slower global cap bounds guessing from many sources (a botnet) to 20 passwords an hour.
ACCOUNT_POLICY = AttemptPolicy(limit=20, window_seconds=3600)
# One source spraying many accounts (each with few guesses).
SOURCE_POLICY = AttemptPolicy(limit=60, window_seconds=900)


@dataclass(frozen=True, slots=True)
class AttemptCounter:
    """A key's state: `attempts` counted in the window starting at `window_started_at`."""

    key: str
    attempts: int
    window_started_at: int
    window_seconds: int
    limit: int

    @property
    def failures(self) -> int:
        # Successes are released, so what stays counted is failures (and attempts in flight).
        return self.attempts

    @property
    def window_ends_at(self) -> int:
        return self.window_started_at + self.window_seconds

    @property
    def locked_until(self) -> int:
        return self.window_ends_at if self.attempts >= self.limit else 0

    def is_live(self, now: int) -> bool:
        return now < self.window_ends_at

    def is_locked(self, now: int) -> bool:
        return self.is_live(now) and self.attempts >= self.limit

    def exhausted(self) -> bool:
        """This attempt took the last unit of the budget."""
        return self.attempts >= self.limit


class AttemptBudgetSpent(Exception):
    """The key has no attempt left in its window."""

    def __init__(self, counter: AttemptCounter) -> None:
        super().__init__("attempt budget spent")
        self.counter = counter


def account_key(tenant: str, email: str) -> str:
    # The email is personal data: only its digest is a key (and it is deleted with the user anyway).
    return f"acct#{tenant}#{hashlib.sha256(email.encode('utf-8')).hexdigest()}"


def account_source_key(tenant: str, email: str, source_ip: str) -> str:
    return f"{account_key(tenant, email)}#src#{source_ip}"


def source_key(source_ip: str) -> str:
    return f"ip#{source_ip}"


class AttemptStore(Protocol):
    def get(self, key: str) -> AttemptCounter | None: ...

    def reserve(self, key: str, *, now: int, policy: AttemptPolicy) -> AttemptCounter:
        """Count one attempt atomically (a new window if the last one ended), or raise
        AttemptBudgetSpent without counting if the window's budget is spent."""
        ...

    def release(self, reservation: AttemptCounter) -> None:
        """Give back one unit taken by `reservation`, if its window is still the key's window."""
        ...

    def reset(self, key: str) -> None: ...
