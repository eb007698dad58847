"""Asynchronous full verification of a tenant's chain, in bounded pages (issue 9).

A job verifies the chain as consecutive ranges of `PAGE_RECORDS` records with
`ChainVerifier.verify_range`, from seq 1 to its `end_seq`: the head when the job started, or the
first signed checkpoint above the head (then a truncated tail is proved missing). Each range is
anchored on the signed checkpoints around it, so the first bad seq of every kind of tampering is
the one the full verification reports. Progress is saved after each invocation's pages with a
conditional write, so a redelivered or duplicated message can only repeat work, never skip it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from echo_shared.audit.checkpoints import CheckpointStore
from echo_shared.audit.repository import AuditChainWriter
from echo_shared.audit.verifier import MAX_RANGE_RECORDS, ChainVerifier, VerificationResult
from echo_shared.timeutil import Clock, utc_now

# One page is one `verify_range` call: as wide as one request may verify.
PAGE_RECORDS = MAX_RANGE_RECORDS
# Pages per invocation: two pages take ~10 s on LocalStack, well inside the function's timeout.
PAGES_PER_INVOCATION = 2

VERIFICATION_STARTED = "audit.verification_started"
VERIFICATION_FINISHED = "audit.verification_finished"
_EVENT_NAMESPACE = uuid.UUID("6d1b3e1c-6a55-4a0e-9f55-0a9d0e0c7a11")


class JobStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class JobResult:
    """The verdict: ok, or the first bad seq with its problem (seqs and kinds only, no contents)."""

    ok: bool
    first_bad_seq: int | None
    problem: str | None
    detail: str
    checkpoint_seq: int | None

    @classmethod
    def from_verification(cls, result: VerificationResult, *, checked: int) -> "JobResult":
        detail = f"{checked} records verified" if result.ok else result.detail
        return cls(
            ok=result.ok,
            first_bad_seq=result.first_bad_seq,
            problem=None if result.problem is None else result.problem.value,
            detail=detail,
            checkpoint_seq=result.checkpoint_seq,
        )


@dataclass(frozen=True, slots=True)
class VerificationJob:
    """`next_seq` is the first seq not verified yet; `checked` counts every record walked (a page's
    lead-in from the checkpoint below it included)."""

    tenant: str
    job_id: str
    requested_by: str
    request_id: str
    created_at: datetime
    updated_at: datetime
    end_seq: int
    next_seq: int = 1
    checked: int = 0
    pages: int = 0
    result: JobResult | None = None

    @property
    def status(self) -> JobStatus:
        return JobStatus.RUNNING if self.result is None else JobStatus.FINISHED

    @property
    def last_verified_seq(self) -> int:
        return self.next_seq - 1

    def event_id(self, type_: str) -> uuid.UUID:
        """Started and finished are recorded once per job however often a message is redelivered."""
        return uuid.uuid5(_EVENT_NAMESPACE, f"{self.tenant}/{self.job_id}/{type_}")


class VerificationJobStore(Protocol):
    def create(self, job: VerificationJob) -> None:
        """Store a new job; raises JobExists if the id is taken."""
        ...

    def get(self, tenant: str, job_id: str) -> VerificationJob | None:
        """The tenant's job, or None (another tenant's job id is not found)."""
        ...

    def save(self, job: VerificationJob, *, expected_next_seq: int) -> bool:
        """Store the job's progress if nobody moved it on from `expected_next_seq`; False if someone did."""
        ...

    def withdraw(self, job: VerificationJob) -> None:
        """Delete a job that was never queued (no page verified yet; otherwise leave it)."""
        ...


class JobQueue(Protocol):
    def enqueue(self, tenant: str, job_id: str) -> None:
        """Ask the job function to continue (or start) the job."""
        ...


class JobExists(Exception):
    """A job with this id is already stored."""


def new_job(
    tenant: str,
    *,
    requested_by: str,
    request_id: str,
    chain: AuditChainWriter,
    checkpoints: CheckpointStore,
    clock: Clock = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> VerificationJob:
    """A job over the chain as it is now: up to its head, or to the first checkpoint above it."""
    head = chain.head(tenant)
    head_seq = 0 if head is None else head.seq
    above = checkpoints.first_at_or_above(tenant, head_seq + 1)
    now = clock()
    return VerificationJob(
        tenant=tenant,
        job_id=new_id(),
        requested_by=requested_by,
        request_id=request_id,
        created_at=now,
        updated_at=now,
        end_seq=head_seq if above is None else above.key_seq,
    )


def run_pages(
    job: VerificationJob,
    verifier: ChainVerifier,
    *,
    pages: int = PAGES_PER_INVOCATION,
    page_records: int = PAGE_RECORDS,
    clock: Clock = utc_now,
) -> VerificationJob:
    """Verify up to `pages` more pages; the job comes back finished (with its result) or further on."""
    for _ in range(pages):
        if job.result is not None:
            break
        if job.end_seq < job.next_seq:  # an empty chain
            job = replace(job, result=JobResult(True, None, None, "0 records verified", None))
            break
        to_seq = min(job.next_seq + page_records - 1, job.end_seq)
        result = verifier.verify_range(job.tenant, job.next_seq, to_seq)
        checked = job.checked + result.checked
        job = replace(job, checked=checked, pages=job.pages + 1)
        if not result.ok:
            # Everything before the first bad seq verified.
            bad = job.next_seq if result.first_bad_seq is None else result.first_bad_seq
            job = replace(job, next_seq=bad, result=JobResult.from_verification(result, checked=checked))
        elif to_seq == job.end_seq:
            job = replace(
                job, next_seq=to_seq + 1, result=JobResult.from_verification(result, checked=checked)
            )
        else:
            job = replace(job, next_seq=to_seq + 1)
    return replace(job, updated_at=clock())
