"""Attempt budgets under real parallel requests against DynamoDB Local: the conditional update is
the only thing between N threads and the budget, so the count must never pass it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from echo_shared.identity.attempts import AttemptBudgetSpent, AttemptPolicy
from echo_shared.identity.dynamodb import DynamoAttemptStore

THREADS = 16


def _race(store: DynamoAttemptStore, key: str, policy: AttemptPolicy, *, now: int, guesses: int) -> list[int]:
    """`guesses` reservations released at the same instant; the attempt numbers that were granted."""
    barrier = Barrier(THREADS)

    def guess(_: int) -> int:
        barrier.wait()
        try:
            return store.reserve(key, now=now, policy=policy).attempts
        except AttemptBudgetSpent:
            return 0

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return [n for n in pool.map(guess, range(guesses)) if n]


def test_parallel_guesses_never_take_more_than_the_budget(ddb_identity_table: str) -> None:
    store = DynamoAttemptStore(ddb_identity_table)
    policy = AttemptPolicy(limit=5, window_seconds=900)
    # When 16 guesses at one account+source key start together
    granted = _race(store, "acct#demo#race#src#192.0.2.1", policy, now=1_000, guesses=THREADS)
    # Then exactly five were granted, numbered 1..5, and the key is locked
    assert sorted(granted) == [1, 2, 3, 4, 5]
    counter = store.get("acct#demo#race#src#192.0.2.1")
    assert counter is not None
    assert counter.attempts == 5
    assert counter.is_locked(1_000)


def test_a_new_window_is_started_once_however_many_race_for_it(ddb_identity_table: str) -> None:
    store = DynamoAttemptStore(ddb_identity_table)
    policy = AttemptPolicy(limit=5, window_seconds=900)
    key = "acct#demo#window#src#192.0.2.2"
    assert len(_race(store, key, policy, now=1_000, guesses=THREADS)) == 5
    # When the window has ended and 16 guesses race to restart it
    granted = _race(store, key, policy, now=1_900, guesses=THREADS)
    # Then the new window, too, grants exactly its budget
    assert sorted(granted) == [1, 2, 3, 4, 5]
    counter = store.get(key)
    assert counter is not None
    assert counter.window_started_at == 1_900


def test_releases_and_reservations_interleave_without_losing_count(ddb_identity_table: str) -> None:
    store = DynamoAttemptStore(ddb_identity_table)
    policy = AttemptPolicy(limit=1_000, window_seconds=900)
    key = "acct#demo#release"
    # When 16 threads each reserve and release 10 times, all at once
    barrier = Barrier(THREADS)

    def sign_in_and_succeed(_: int) -> None:
        barrier.wait()
        for _ in range(10):
            store.release(store.reserve(key, now=1_000, policy=policy))

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(sign_in_and_succeed, range(THREADS)))
    # Then every unit came back
    counter = store.get(key)
    assert counter is not None
    assert counter.attempts == 0
