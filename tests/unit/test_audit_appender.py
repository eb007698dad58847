import random
from collections.abc import Callable, Collection, Sequence

import pytest
from echo_shared.audit import (
    GENESIS_HASH,
    MAX_RECORDS_PER_COMMIT,
    AppendResult,
    AppendStatus,
    AuditAppender,
    AuditRecord,
    AuditStoreThrottled,
    AuditStoreUnavailable,
    ChainConflict,
    ChainContention,
    ChainHead,
    ChainVerifier,
    RetryPolicy,
)
from echo_shared.events import EventEnvelope

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore
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


class CountingChain(InterleavingChain):
    """Counts head reads and guard reads on top of the interleaving double."""

    def __init__(self, inner: InMemoryAuditChainRepository) -> None:
        super().__init__(inner, between=lambda: None)
        self.head_reads: list[str] = []
        self.guard_reads: list[int] = []

    def head(self, tenant: str) -> ChainHead | None:
        self.head_reads.append(tenant)
        return super().head(tenant)

    def chained(self, event_ids: Collection[str]) -> set[str]:
        self.guard_reads.append(len(event_ids))
        return super().chained(event_ids)


def test_batch_reads_each_head_once_and_the_guards_once_and_commits_in_chunks(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given 120 events for acme and 3 for globex, interleaved
    repo = InMemoryAuditChainRepository()
    chain = CountingChain(repo)
    events = [make_event(tenant="globex" if n % 41 == 0 else "acme") for n in range(123)]

    # When the batch is appended
    outcomes = AuditAppender(chain, sleep=_no_sleep).append_batch(events)

    # Then every event is chained once, gap-free, in delivery order per tenant
    assert all(isinstance(o, AppendResult) and o.status is AppendStatus.APPENDED for o in outcomes)
    assert [r.event_id for r in repo.stored("acme")] == [
        str(e.event_id) for e in events if e.tenant == "acme"
    ]
    assert [r.seq for r in repo.stored("acme")] == list(range(1, 121))
    assert [r.seq for r in repo.stored("globex")] == [1, 2, 3]
    # And it took one guard read, one head read per tenant, and transactions of at most 50 records
    assert chain.guard_reads == [123]
    assert sorted(chain.head_reads) == ["acme", "globex"]
    assert sorted(chain.committed_sizes) == [3, 20, MAX_RECORDS_PER_COMMIT, MAX_RECORDS_PER_COMMIT]
    assert _verify(repo, "acme")
    assert _verify(repo, "globex")


def test_duplicate_inside_one_batch_is_chained_once(make_event: Callable[..., EventEnvelope]) -> None:
    # Given a batch that carries the same event twice (SQS at-least-once delivery)
    repo = InMemoryAuditChainRepository()
    twice, other = make_event(), make_event()

    # When appended
    outcomes = AuditAppender(repo, sleep=_no_sleep).append_batch([twice, other, twice])

    # Then the second copy is a duplicate and the chain holds two records
    assert [o.status for o in outcomes if isinstance(o, AppendResult)] == [
        AppendStatus.APPENDED,
        AppendStatus.APPENDED,
        AppendStatus.DUPLICATE,
    ]
    assert [r.event_id for r in repo.stored("acme")] == [str(twice.event_id), str(other.event_id)]


def test_events_already_chained_are_dropped_before_any_transaction(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given an event chained by an earlier batch
    repo = InMemoryAuditChainRepository()
    old = make_event()
    AuditAppender(repo, sleep=_no_sleep).append(old)
    chain = CountingChain(repo)

    # When a batch redelivers it with a new event
    outcomes = AuditAppender(chain, sleep=_no_sleep).append_batch([old, make_event()])

    # Then the guard read drops it; one transaction carries only the new event
    assert [o.status for o in outcomes if isinstance(o, AppendResult)] == [
        AppendStatus.DUPLICATE,
        AppendStatus.APPENDED,
    ]
    assert chain.committed_sizes == [1]
    assert len(repo.stored("acme")) == 2


def test_event_chained_by_another_consumer_mid_batch_becomes_a_duplicate(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given a batch of 80 events; between our first and second transaction a rival consumer
    # chains event 60 of our batch (it received the same message)
    repo = InMemoryAuditChainRepository()
    events = [make_event(resource=f"doc/{n}") for n in range(80)]
    rival = AuditAppender(repo, sleep=_no_sleep)

    def rival_turn(commit_index: int) -> None:
        if commit_index == 1:
            rival.append(events[60])

    chain = InterleavingChain(repo, between=lambda: None, before_commit=rival_turn)

    # When we append the batch
    outcomes = AuditAppender(chain, sleep=_no_sleep).append_batch(events)

    # Then event 60 is a duplicate, every other event is chained exactly once, seqs stay gap-free
    results = [o for o in outcomes if isinstance(o, AppendResult)]
    assert len(results) == 80
    assert results[60].status is AppendStatus.DUPLICATE
    assert sum(r.status is AppendStatus.APPENDED for r in results) == 79
    stored = repo.stored("acme")
    assert [r.seq for r in stored] == list(range(1, 81))
    assert sorted(r.event_id for r in stored) == sorted(str(e.event_id) for e in events)
    assert stored[50].event_id == str(events[60].event_id)  # the rival took seq 51
    assert _verify(repo)


def test_transaction_cancelled_half_way_retries_only_what_did_not_commit(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given a batch of 120 events whose second transaction is cancelled (throttled), then succeeds
    repo = InMemoryAuditChainRepository()
    chain = FailingChain(repo, commit_failures=[None, AuditStoreThrottled("cancelled")])  # type: ignore[list-item]
    events = [make_event(resource=f"doc/{n}") for n in range(120)]

    # When appended
    outcomes = AuditAppender(chain, sleep=_no_sleep).append_batch(events)

    # Then the first 50 committed on attempt 1, the other 70 on attempt 2, nothing twice, no gap
    results = [o for o in outcomes if isinstance(o, AppendResult)]
    assert [r.attempts for r in results] == [1] * 50 + [2] * 70
    assert [r.seq for r in results] == list(range(1, 121))
    assert [r.event_id for r in repo.stored("acme")] == [str(e.event_id) for e in events]
    assert chain.commits == 1 + 1 + 2  # 50 | cancelled | 50 + 20
    assert _verify(repo)


def test_a_tenant_that_gives_up_defers_only_its_own_events(make_event: Callable[..., EventEnvelope]) -> None:
    # Given acme's commits keep losing races while globex's succeed
    repo = InMemoryAuditChainRepository()

    class AcmeContended(FailingChain):
        def commit(self, records: Sequence[AuditRecord]) -> None:
            if records[0].tenant == "acme":
                raise ChainConflict("taken")
            super().commit(records)

    chain = AcmeContended(repo)
    policy = RetryPolicy(max_attempts=3)

    # When a mixed batch is appended
    outcomes = AuditAppender(chain, policy=policy, sleep=_no_sleep).append_batch(
        [make_event(), make_event(tenant="globex"), make_event()]
    )

    # Then acme's events are deferred (retryable, nothing written) and globex's are chained
    assert isinstance(outcomes[0], ChainContention)
    assert isinstance(outcomes[2], ChainContention)
    assert isinstance(outcomes[1], AppendResult)
    assert outcomes[1].seq == 1
    assert repo.stored("acme") == []


def test_throttled_guard_read_falls_back_to_the_transaction_guard(
    make_event: Callable[..., EventEnvelope],
) -> None:
    # Given an event already chained and a guard read that is throttled
    repo = InMemoryAuditChainRepository()
    old = make_event()
    AuditAppender(repo, sleep=_no_sleep).append(old)
    chain = FailingChain(repo, guard_read_failures=[AuditStoreThrottled("batch get")])

    # When it is redelivered, then the transaction's guard condition still refuses it
    assert AuditAppender(chain, sleep=_no_sleep).append(old).status is AppendStatus.DUPLICATE
    assert len(repo.stored("acme")) == 1


def test_tenants_appended_concurrently_each_stay_gap_free(make_event: Callable[..., EventEnvelope]) -> None:
    # Given a batch spread over 12 tenants and an appender that works on 4 tenants at once
    repo = InMemoryAuditChainRepository()
    tenants = [f"t{n}" for n in range(12)]
    events = [make_event(tenant=tenants[n % 12]) for n in range(240)]

    # When appended
    outcomes = AuditAppender(repo, sleep=_no_sleep, tenant_concurrency=4).append_batch(events)

    # Then each outcome belongs to its own event and every chain is gap-free in delivery order
    assert [o.tenant for o in outcomes if isinstance(o, AppendResult)] == [e.tenant for e in events]
    for tenant in tenants:
        assert [r.event_id for r in repo.stored(tenant)] == [
            str(e.event_id) for e in events if e.tenant == tenant
        ]
        assert [r.seq for r in repo.stored(tenant)] == list(range(1, 21))
        assert _verify(repo, tenant)
