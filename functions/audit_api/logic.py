"""Audit API logic: who may read what, filter checks, pagination, verification."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import islice

from echo_shared.audit import (
    AuditChainReader,
    AuditChainWriter,
    AuditRecord,
    AuditStoreThrottled,
    ChainVerifier,
    CheckpointStore,
    VerificationResult,
)
from echo_shared.audit.verification_jobs import JobQueue, VerificationJob, VerificationJobStore, new_job
from echo_shared.authz.caller import Caller
from echo_shared.filters import RecordFilter
from echo_shared.logs import LogEntry, LogRepository
from echo_shared.observability import get_logger

from audit_api.cursor import CursorScope, decode_audit_cursor, decode_log_cursor, encode_cursor
from audit_api.errors import Forbidden, InvalidFilter, InvalidRange, JobNotFound, RangeTooWide

AUDIT_READ = "audit:read"
AUDIT_VERIFY = "audit:verify"
LOG_READ = "log:read"

# May the caller take this action on its own tenant? Cedar answers (roles and token scopes).
type DecisionPoint = Callable[[str], bool]


class Order(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: RecordFilter
    limit: int
    cursor: str | None
    order: Order


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: list[T]
    next_cursor: str | None


def list_audit_events(
    reader: AuditChainReader, caller: Caller, may: DecisionPoint, query: ListQuery
) -> Page[AuditRecord]:
    """Those allowed `audit:read` see the tenant's whole trail; anyone else only the events they
    acted in, matched on the actor format every producer writes (`Caller.actor`)."""
    filters = _checked(query.filters)
    if not may(AUDIT_READ):
        if filters.actor not in (None, caller.actor):
            raise Forbidden("you may only read your own audit trail")
        filters = replace(filters, actor=caller.actor)
    scope = CursorScope("audit", caller.tenant, query.order is Order.NEWEST, filters)
    after = None if query.cursor is None else decode_audit_cursor(query.cursor, scope)
    found = reader.query(caller.tenant, filters, after_seq=after, newest_first=scope.newest_first)
    return _page(found, query.limit, scope, lambda record: record.seq)


def list_logs(
    repository: LogRepository, caller: Caller, may: DecisionPoint, query: ListQuery
) -> Page[LogEntry]:
    if not may(LOG_READ):
        raise Forbidden("reading logs needs the admin role and a token granted logs:read")
    filters = _checked(query.filters)
    scope = CursorScope("logs", caller.tenant, query.order is Order.NEWEST, filters)
    after = None if query.cursor is None else decode_log_cursor(query.cursor, scope)
    found = repository.query(caller.tenant, filters, after_sort_key=after, newest_first=scope.newest_first)
    return _page(found, query.limit, scope, lambda entry: entry.sort_key)


@dataclass(frozen=True, slots=True)
class SeqRange:
    from_seq: int | None
    to_seq: int | None


def verify_tenant_chain(
    verifier: ChainVerifier, caller: Caller, may: DecisionPoint, seqs: SeqRange | None = None
) -> VerificationResult:
    """The whole chain, or (both bounds given) records from_seq..to_seq against the signed
    checkpoints around them."""
    if not may(AUDIT_VERIFY):
        raise Forbidden("verifying the chain needs the auditor or admin role and a token granted audit:read")
    if seqs is None or (seqs.from_seq is None and seqs.to_seq is None):
        return verifier.verify(caller.tenant)
    if seqs.from_seq is None or seqs.to_seq is None:
        raise InvalidRange("from_seq and to_seq go together")
    if seqs.from_seq > seqs.to_seq:
        raise InvalidRange("from_seq must not be greater than to_seq")
    if seqs.to_seq - seqs.from_seq + 1 > verifier.max_range:
        raise RangeTooWide(
            f"one request verifies at most {verifier.max_range} records; verify a longer span as"
            " consecutive ranges of at most that size"
        )
    return verifier.verify_range(caller.tenant, seqs.from_seq, seqs.to_seq)


@dataclass(frozen=True, slots=True)
class VerificationJobs:
    """What starting and reading verification jobs needs (the job function does the verifying)."""

    store: VerificationJobStore
    queue: JobQueue
    chain: AuditChainWriter
    checkpoints: CheckpointStore


def start_verification(
    jobs: VerificationJobs, caller: Caller, may: DecisionPoint, *, request_id: str
) -> VerificationJob:
    """A job over the caller's tenant's chain as it is now; the job function runs it page by page."""
    if not may(AUDIT_VERIFY):
        raise Forbidden("verifying the chain needs the auditor or admin role and a token granted audit:read")
    job = new_job(
        caller.tenant,
        requested_by=caller.actor,
        request_id=request_id or "unknown",
        chain=jobs.chain,
        checkpoints=jobs.checkpoints,
    )
    jobs.store.create(job)
    try:
        jobs.queue.enqueue(job.tenant, job.job_id)
    except AuditStoreThrottled:
        # A job the job function will never hear of is not left to look as if it were running:
        # the caller gets a 503 and starts another.
        _withdraw(jobs, job)
        raise
    return job


def _withdraw(jobs: VerificationJobs, job: VerificationJob) -> None:
    try:
        jobs.store.withdraw(job)
    except AuditStoreThrottled:
        get_logger().error(
            "verification job left unqueued", extra={"job_id": job.job_id, "tenant": job.tenant}
        )


def get_verification(
    jobs: VerificationJobs, caller: Caller, may: DecisionPoint, job_id: str
) -> VerificationJob:
    """The caller's tenant's job only: another tenant's job id is not found, like an unknown one."""
    if not may(AUDIT_VERIFY):
        raise Forbidden("verifying the chain needs the auditor or admin role and a token granted audit:read")
    job = jobs.store.get(caller.tenant, job_id)
    if job is None:
        raise JobNotFound("no such verification job")
    return job


def _checked(filters: RecordFilter) -> RecordFilter:
    if filters.since is not None and filters.until is not None and filters.since >= filters.until:
        raise InvalidFilter("since must be earlier than until")
    return filters


def _page[T](
    found: Iterator[T], limit: int, scope: CursorScope, position: Callable[[T], int | str]
) -> Page[T]:
    # One extra item tells whether another page exists without an extra request.
    items = list(islice(found, limit + 1))
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(scope, position(items[-1])))
