import random
from collections.abc import Callable

import pytest
from echo_shared.audit import (
    GENESIS_HASH,
    AppendStatus,
    AuditAppender,
    AuditStoreThrottled,
    AuditStoreUnavailable,
    ChainConflict,
    ChainContention,
    ChainVerifier,
    InMemoryAuditChainRepository,
    InMemoryCheckpointSigner,
    InMemoryCheckpointStore,
    RetryPolicy,
)
from echo_shared.events import EventEnvelope

from tests.unit.chain_doubles import FailingChain, InterleavingChain


def _no_sleep(_: float) -> None:
    return None


def _verify(repo: InMemoryAuditChainRepository, tenant: str = "acme") -> bool:
    return ChainVerifier(repo, InMemoryCheckpointStore(), InMemoryCheckpointSigner()).verify(tenant).ok


def test_first_event_starts_the_chain_at_seq_1_after_genesis(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given an empty chain
    repo = InMemoryAuditChainRepository()

    # When two events are appended
    appender = AuditAppender(repo, sleep=_no_sleep)
    first, second = appender.append(make_event()), appender.append(make_event())

    # Then they get seq 1 and 2, linked from genesis
    assert (first.status, first.seq, second.seq) == (AppendStatus.APPENDED, 1, 2)
    records = repo.stored("acme")
    assert records[0].prev_hash == GENESIS_HASH
    assert records[1].prev_hash == records[0].hash
    assert _verify(repo)


def test_each_tenant_has_its_own_chain(make_event: Callable[..., EventEnvelope]) -> None:
    repo = InMemoryAuditChainRepository()
    appender = AuditAppender(repo, sleep=_no_sleep)
    results = [appender.append(make_event(tenant=t)) for t in ("acme", "globex", "acme")]
    assert [(r.tenant, r.seq) for r in results] == [("acme", 1), ("globex", 1), ("acme", 2)]
    assert repo.stored("globex")[0].prev_hash == GENESIS_HASH


def test_duplicate_event_id_is_not_written_again(make_event: Callable[..., EventEnvelope]) -> None:
    # Given an event already in the chain
    repo = InMemoryAuditChainRepository()
    appender = AuditAppender(repo, sleep=_no_sleep)
    event = make_event()
    appender.append(event)

    # When the same event is appended again (redelivery), even after other events
    appender.append(make_event())
    result = appender.append(event)

    # Then it is reported as a duplicate and the chain is unchanged
    assert result.status is AppendStatus.DUPLICATE
    assert result.seq is None
    assert [r.event_id for r in repo.stored("acme")].count(str(event.event_id)) == 1
    assert len(repo.stored("acme")) == 2


def test_losing_a_race_rereads_the_head_and_links_after_the_winner(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given a rival consumer that appends right after our first head read
    repo = InMemoryAuditChainRepository()
    rival_event = make_event(actor="rival")
    rival = AuditAppender(repo, sleep=_no_sleep)
    pending = [lambda: rival.append(rival_event)]
    chain = InterleavingChain(repo, between=lambda: pending.pop()() if pending else None)
    delays: list[float] = []

    # When we append our event
    result = AuditAppender(chain, sleep=delays.append, rng=random.Random(7)).append(make_event(actor="us"))

    # Then our first commit lost (seq 1 taken), we retried once with backoff and landed at seq 2
    assert (result.status, result.seq, result.attempts, result.retries) == (AppendStatus.APPENDED, 2, 2, 1)
    assert chain.commits == 2
    assert len(delays) == 1
    assert 0 <= delays[0] <= RetryPolicy().base_delay_seconds
    assert [r.actor for r in repo.stored("acme")] == ["rival", "us"]
    assert _verify(repo)


def test_rival_delivering_the_same_event_makes_ours_a_duplicate(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given two consumers that received the same message; the rival commits between our read and write
    repo = InMemoryAuditChainRepository()
    event = make_event()
    pending = [lambda: AuditAppender(repo, sleep=_no_sleep).append(event)]
    chain = InterleavingChain(repo, between=lambda: pending.pop()() if pending else None)

    # When we append it
    result = AuditAppender(chain, sleep=_no_sleep).append(event)

    # Then the guard makes ours a duplicate: one record, no retry
    assert result.status is AppendStatus.DUPLICATE
    assert result.attempts == 1
    assert len(repo.stored("acme")) == 1


def test_endless_contention_gives_up_with_a_retryable_error(make_event: Callable[..., EventEnvelope]) -> None:
    # Given a chain where every commit loses a race
    policy = RetryPolicy(max_attempts=4, base_delay_seconds=0.01, max_delay_seconds=0.02)
    chain = FailingChain(InMemoryAuditChainRepository(), commit_failures=[ChainConflict("taken")] * 10)
    delays: list[float] = []

    # When appending, then it stops after the bounded attempts with backoff in between
    with pytest.raises(ChainContention):
        AuditAppender(chain, policy=policy, sleep=delays.append, rng=random.Random(1)).append(make_event())
    assert len(delays) == policy.max_attempts - 1
    assert all(0 <= d <= policy.max_delay_seconds for d in delays)
    assert chain.inner.stored("acme") == []


def test_throttling_is_retried_then_succeeds(make_event: Callable[..., EventEnvelope]) -> None:
    # Given a store that throttles the head read once and the commit twice
    chain = FailingChain(
        InMemoryAuditChainRepository(),
        head_failures=[AuditStoreThrottled("head")],
        commit_failures=[AuditStoreThrottled("tx"), AuditStoreThrottled("tx")],
    )

    # When appending
    result = AuditAppender(chain, sleep=_no_sleep).append(make_event())

    # Then it succeeds on the fourth attempt, exactly once
    assert (result.status, result.seq, result.attempts) == (AppendStatus.APPENDED, 1, 4)
    assert len(chain.inner.stored("acme")) == 1


def test_persistent_throttling_raises_store_unavailable(make_event: Callable[..., EventEnvelope]) -> None:
    chain = FailingChain(InMemoryAuditChainRepository(), commit_failures=[AuditStoreThrottled("tx")] * 3)
    with pytest.raises(AuditStoreUnavailable):
        AuditAppender(chain, policy=RetryPolicy(max_attempts=3), sleep=_no_sleep).append(make_event())
    assert chain.inner.stored("acme") == []


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_seconds=0.1, max_delay_seconds=0.5)

    class Ceiling(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [policy.delay(n, Ceiling()) for n in range(1, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)
