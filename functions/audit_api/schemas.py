"""Request parameter and response models of the audit API."""

from typing import Annotated, Any, Self

from echo_shared.audit import AuditRecord, Problem, VerificationResult
from echo_shared.audit.verification_jobs import JobStatus, VerificationJob
from echo_shared.events import EVENT_TYPE_PATTERN
from echo_shared.events.envelope import UtcTimestamp
from echo_shared.filters import RecordFilter
from echo_shared.logs import LogEntry
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from audit_api.cursor import MAX_CURSOR_LENGTH
from audit_api.logic import ListQuery, Order, Page, SeqRange

type FilterText = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ListParams(BaseModel):
    """Query string of `/audit/events` and `/logs`. `since` is inclusive, `until` exclusive (RFC 3339);
    results are newest first unless `order=oldest`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN, max_length=128)] | None = None
    actor: FilterText | None = None
    resource: FilterText | None = None
    since: UtcTimestamp | None = None
    until: UtcTimestamp | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CURSOR_LENGTH)] | None = None
    order: Order = Order.NEWEST

    def to_query(self) -> ListQuery:
        filters = RecordFilter(
            type=self.type, actor=self.actor, resource=self.resource, since=self.since, until=self.until
        )
        return ListQuery(filters=filters, limit=self.limit, cursor=self.cursor, order=self.order)


class EnvelopeOut(BaseModel):
    """The event-envelope fields of every stored event (audit records, log entries)."""

    event_id: str
    type: str
    actor: str
    action: str
    resource: str
    outcome: str
    occurred_at: str
    request_id: str
    data: dict[str, Any] | None

    @staticmethod
    def envelope_fields(stored: AuditRecord | LogEntry) -> dict[str, Any]:
        return {
            "event_id": stored.event_id,
            "type": stored.type,
            "actor": stored.actor,
            "action": stored.action,
            "resource": stored.resource,
            "outcome": stored.outcome,
            "occurred_at": stored.occurred_at,
            "request_id": stored.request_id,
            "data": stored.data_object(),
        }


class AuditEventOut(EnvelopeOut):
    seq: int
    hash: str
    prev_hash: str
    # Who published it, from the topic that delivered it (ADR 0016); None on older records.
    producer: str | None = None

    @classmethod
    def from_record(cls, record: AuditRecord) -> Self:
        return cls(
            seq=record.seq,
            hash=record.hash,
            prev_hash=record.prev_hash,
            producer=record.producer,
            **cls.envelope_fields(record),
        )


class AuditEventsPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: Page[AuditRecord]) -> Self:
        return cls(items=[AuditEventOut.from_record(r) for r in page.items], next_cursor=page.next_cursor)


class LogEntryOut(EnvelopeOut):
    expires_at: int

    @classmethod
    def from_entry(cls, entry: LogEntry) -> Self:
        return cls(expires_at=entry.expires_at, **cls.envelope_fields(entry))


class LogsPage(BaseModel):
    items: list[LogEntryOut]
    next_cursor: str | None

    @classmethod
    def from_page(cls, page: Page[LogEntry]) -> Self:
        return cls(items=[LogEntryOut.from_entry(e) for e in page.items], next_cursor=page.next_cursor)


class VerifyParams(BaseModel):
    """Query string of `/audit/verify`: both bounds (inclusive) for a range, neither for the chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_seq: int | None = Field(default=None, ge=1, le=2**53 - 1)
    to_seq: int | None = Field(default=None, ge=1, le=2**53 - 1)

    def to_range(self) -> SeqRange:
        return SeqRange(from_seq=self.from_seq, to_seq=self.to_seq)


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    first_bad_seq: int | None
    problem: Problem | None
    detail: str
    checkpoint_seq: int | None

    @classmethod
    def from_result(cls, result: VerificationResult) -> Self:
        return cls(
            ok=result.ok,
            checked=result.checked,
            head_seq=result.head_seq,
            first_bad_seq=result.first_bad_seq,
            problem=result.problem,
            detail=result.detail,
            checkpoint_seq=result.checkpoint_seq,
        )


class VerificationJobResultOut(BaseModel):
    ok: bool
    first_bad_seq: int | None
    problem: Problem | None
    detail: str
    checkpoint_seq: int | None


class VerificationJobOut(BaseModel):
    id: str
    status: JobStatus
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    end_seq: int
    last_verified_seq: int
    checked: int
    pages: int
    result: VerificationJobResultOut | None

    @classmethod
    def from_job(cls, job: VerificationJob) -> Self:
        result = job.result
        return cls(
            id=job.job_id,
            status=job.status,
            created_at=job.created_at,
            updated_at=job.updated_at,
            end_seq=job.end_seq,
            last_verified_seq=job.last_verified_seq,
            checked=job.checked,
            pages=job.pages,
            result=None
            if result is None
            else VerificationJobResultOut(
                ok=result.ok,
                first_bad_seq=result.first_bad_seq,
                problem=None if result.problem is None else Problem(result.problem),
                detail=result.detail,
                checkpoint_seq=result.checkpoint_seq,
            ),
        )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
