"""Test doubles around the in-memory audit chain: interleaved rivals and injected failures."""

from collections.abc import Callable, Collection, Iterator, Sequence

from echo_shared.audit import AuditRecord, ChainHead

from tests.fakes.audit import InMemoryAuditChainRepository


class InterleavingChain:
    """Wraps the fake; after each head read, `between` may let a rival write before we commit.

    `before_commit` (if given) runs before each commit with the commit's index (0-based), so a rival
    can also act between two transactions of one batch.
    """

    def __init__(
        self,
        inner: InMemoryAuditChainRepository,
        between: Callable[[], None],
        *,
        before_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.inner = inner
        self._between = between
        self._before_commit = before_commit
        self.commits = 0
        self.committed_sizes: list[int] = []

    def head(self, tenant: str) -> ChainHead | None:
        head = self.inner.head(tenant)
        self._between()
        return head

    def chained(self, event_ids: Collection[str]) -> set[str]:
        return self.inner.chained(event_ids)

    def commit(self, records: Sequence[AuditRecord]) -> None:
        if self._before_commit is not None:
            self._before_commit(self.commits)
        self.commits += 1
        self.inner.commit(records)
        self.committed_sizes.append(len(records))


class FailingChain:
    """Wraps the fake; raises the queued exceptions from head()/chained()/commit() before delegating."""

    def __init__(
        self,
        inner: InMemoryAuditChainRepository,
        *,
        head_failures: list[Exception] | None = None,
        commit_failures: list[Exception] | None = None,
        guard_read_failures: list[Exception] | None = None,
    ) -> None:
        self.inner = inner
        self._head_failures = iter(head_failures or [])
        self._commit_failures = iter(commit_failures or [])
        self._guard_read_failures = iter(guard_read_failures or [])
        self.commits = 0

    def head(self, tenant: str) -> ChainHead | None:
        _raise_next(self._head_failures)
        return self.inner.head(tenant)

    def chained(self, event_ids: Collection[str]) -> set[str]:
        _raise_next(self._guard_read_failures)
        return self.inner.chained(event_ids)

    def commit(self, records: Sequence[AuditRecord]) -> None:
        self.commits += 1
        _raise_next(self._commit_failures)
        self.inner.commit(records)


def _raise_next(failures: Iterator[Exception]) -> None:
    failure = next(failures, None)
    if failure is not None:
        raise failure
