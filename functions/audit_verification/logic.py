"""Advance one verification job by a few pages; announce its start and its end on the bus."""

from dataclasses import dataclass

from echo_shared.audit import ChainVerifier
from echo_shared.audit.verification_jobs import (
    PAGE_RECORDS,
    PAGES_PER_INVOCATION,
    VERIFICATION_FINISHED,
    VERIFICATION_STARTED,
    JobQueue,
    VerificationJob,
    VerificationJobStore,
    run_pages,
)
from echo_shared.events import EventPublisher, Outcome, new_event
from pydantic import JsonValue


@dataclass(frozen=True, slots=True)
class JobDependencies:
    store: VerificationJobStore
    verifier: ChainVerifier
    queue: JobQueue
    publisher: EventPublisher
    pages: int = PAGES_PER_INVOCATION
    page_records: int = PAGE_RECORDS


def advance_job(tenant: str, job_id: str, deps: JobDependencies) -> VerificationJob | None:
    """Run the job's next pages and save them; queue the rest. None if there is nothing to do
    (unknown, already finished, or moved on meanwhile by a duplicate message).

    Raises on store, queue or bus failures: the message comes back and the job resumes from its
    last saved page. Both events have ids derived from the job, so a retry never records them twice.
    """
    job = deps.store.get(tenant, job_id)
    if job is None or job.result is not None:
        return None
    if job.pages == 0:
        _announce(job, VERIFICATION_STARTED, deps)
    advanced = run_pages(job, deps.verifier, pages=deps.pages, page_records=deps.page_records)
    if advanced.result is not None:
        _announce(advanced, VERIFICATION_FINISHED, deps)
    if not deps.store.save(advanced, expected_next_seq=job.next_seq):
        return None
    if advanced.result is None:
        deps.queue.enqueue(tenant, job_id)
    return advanced


def _announce(job: VerificationJob, type_: str, deps: JobDependencies) -> None:
    data: dict[str, JsonValue] = {"job_id": job.job_id, "end_seq": job.end_seq}
    outcome = Outcome.SUCCESS
    if job.result is not None:
        data |= {
            "ok": job.result.ok,
            "first_bad_seq": job.result.first_bad_seq,
            "problem": job.result.problem,
            "checked": job.checked,
            "last_verified_seq": job.last_verified_seq,
        }
        outcome = Outcome.SUCCESS if job.result.ok else Outcome.FAILURE
    deps.publisher.publish(
        new_event(
            type=type_,
            tenant=job.tenant,
            actor=job.requested_by,
            action="audit:verify",
            resource=f"audit-verification:{job.job_id}",
            outcome=outcome,
            request_id=job.request_id,
            data=data,
            event_id=job.event_id(type_),
        )
    )
