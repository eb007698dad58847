"""Test doubles around the in-memory audit chain: interleaved rivals and injected failures."""

from collections.abc import Callable, Iterator

from echo_shared.audit import AuditRecord, ChainHead, InMemoryAuditChainRepository


class InterleavingChain:
    """Wraps the fake; after each head read, `between` may let a rival write before we commit."""

    def __init__(self, inner: InMemoryAuditChainRepository, between: Callable[[], None]) -> None:
        self.inner = inner
        self._between = between
        self.commits = 0

    def head(self, tenant: str) -> ChainHead | None:
        head = self.inner.head(tenant)
        self._between()
        return head

    def commit(self, record: AuditRecord) -> None:
        self.commits += 1
        self.inner.commit(record)


class FailingChain:
    """Wraps the fake; raises the queued exceptions from head()/commit() before delegating."""

    def __init__(
        self,
        inner: InMemoryAuditChainRepository,
        *,
        head_failures: list[Exception] | None = None,
        commit_failures: list[Exception] | None = None,
    ) -> None:
        self.inner = inner
        self._head_failures = iter(head_failures or [])
        self._commit_failures = iter(commit_failures or [])

    def head(self, tenant: str) -> ChainHead | None:
        _raise_next(self._head_failures)
        return self.inner.head(tenant)

    def commit(self, record: AuditRecord) -> None:
        _raise_next(self._commit_failures)
        self.inner.commit(record)


def _raise_next(failures: Iterator[Exception]) -> None:
    failure = next(failures, None)
    if failure is not None:
        raise failure
