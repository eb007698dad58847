"""The asynchronous full verification: page by page across invocations, it pins every kind of
tampering to the same seq and problem as the one-shot full verification."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from audit_verification.logic import JobDependencies, advance_job
from echo_shared.audit import AuditAppender, AuditRecord, ChainVerifier, Problem, write_checkpoint
from echo_shared.audit.verification_jobs import (
    VERIFICATION_FINISHED,
    VERIFICATION_STARTED,
    JobStatus,
    VerificationJob,
    new_job,
    run_pages,
)
from echo_shared.events import EventEnvelope

from tests.fakes.audit import (
    InMemoryAuditChainRepository,
    InMemoryCheckpointSigner,
    InMemoryCheckpointStore,
    InMemoryVerificationJobStore,
    RecordingJobQueue,
)
from tests.fakes.events import InMemoryEventPublisher
from tests.unit.test_chain_verifier import Ledger

TENANT = "acme"
LENGTH = 40
CHECKPOINT_EVERY = 5
PAGE = 7  # pages straddle checkpoints, so every page has a lead-in and a lead-out


class World:
    def __init__(self, make_event: Callable[..., EventEnvelope]) -> None:
        self.repo = InMemoryAuditChainRepository()
        self.checkpoints = InMemoryCheckpointStore()
        self.signer = InMemoryCheckpointSigner()
        self.jobs = InMemoryVerificationJobStore()
        self.queue = RecordingJobQueue()
        self.events = InMemoryEventPublisher()
        appender = AuditAppender(self.repo)
        for seq in range(1, LENGTH + 1):
            appender.append(make_event(actor=f"user-{seq}"))
            if seq % CHECKPOINT_EVERY == 0:
                write_checkpoint(TENANT, chain=self.repo, signer=self.signer, store=self.checkpoints)

    @property
    def verifier(self) -> ChainVerifier:
        return ChainVerifier(self.repo, self.checkpoints, self.signer)

    def deps(self, pages: int = 1, page_records: int = PAGE) -> JobDependencies:
        return JobDependencies(
            self.jobs, self.verifier, self.queue, self.events, pages=pages, page_records=page_records
        )

    def record(self, seq: int) -> AuditRecord:
        return next(r for r in self.repo.stored(TENANT) if r.seq == seq)

    def start(self) -> VerificationJob:
        job = new_job(
            TENANT,
            requested_by="user:auditor",
            request_id="req-1",
            chain=self.repo,
            checkpoints=self.checkpoints,
            clock=lambda: datetime(2026, 12, 2, tzinfo=UTC),
        )
        self.jobs.create(job)
        self.queue.enqueue(job.tenant, job.job_id)
        return job

    def drain(self, *, pages: int = 1, page_records: int = PAGE) -> VerificationJob:
        """Deliver queued messages until none is left, as the job's queue would."""
        deps = self.deps(pages, page_records)
        while self.queue.sent:
            tenant, job_id = self.queue.sent.pop(0)
            advance_job(tenant, job_id, deps)
        finished = self.jobs.get(TENANT, self.jobs_started()[0])
        assert finished is not None
        return finished

    def jobs_started(self) -> list[str]:
        return [job_id for (_, job_id) in self.jobs.jobs]

    def rebuild_from(self, seq: int) -> None:
        """The verifier tests' careful attacker: rewrite from `seq` on with re-linked hashes."""
        Ledger(self.repo, self.checkpoints, self.signer).rebuild_from(seq)


@pytest.fixture
def world(make_event: Callable[..., EventEnvelope]) -> World:
    return World(make_event)


def test_an_intact_chain_is_verified_page_by_page_across_invocations(world: World) -> None:
    # Given a job over a 40-record chain, one page of 7 records per invocation
    job = world.start()
    assert (job.end_seq, job.next_seq, job.status) == (LENGTH, 1, JobStatus.RUNNING)
    # When its queue is drained
    finished = world.drain()
    # Then it took one invocation per page, each saved, and verified everything
    assert finished.pages == 6  # ceil(40 / 7)
    assert world.jobs.saves == 6
    assert finished.result is not None
    assert (finished.result.ok, finished.last_verified_seq, finished.status) == (
        True,
        LENGTH,
        JobStatus.FINISHED,
    )
    assert finished.checked >= LENGTH  # each page's lead-in from the checkpoint below is walked again
    # And starting and finishing were announced once each, with seqs only
    types = [event.type for event in world.events.published]
    assert types == [VERIFICATION_STARTED, VERIFICATION_FINISHED]
    done = world.events.published[1]
    assert (done.tenant, done.actor, done.outcome) == (TENANT, "user:auditor", "success")
    assert done.data["ok"] is True
    assert done.data["last_verified_seq"] == LENGTH


def _tamper_cases() -> list[tuple[str, Callable[[World], None]]]:
    def modify(w: World) -> None:
        w.repo.tamper_overwrite(replace(w.record(23), outcome="failure"))

    def delete(w: World) -> None:
        w.repo.tamper_delete(TENANT, 17)

    def swap(w: World) -> None:
        nine, thirty = w.record(9), w.record(30)
        w.repo.tamper_move(thirty, to_seq=9)
        w.repo.tamper_move(nine, to_seq=30)

    def truncate(w: World) -> None:
        for seq in range(33, LENGTH + 1):
            w.repo.tamper_delete(TENANT, seq)

    def truncate_everything(w: World) -> None:
        for seq in range(1, LENGTH + 1):
            w.repo.tamper_delete(TENANT, seq)

    def rebuild(w: World) -> None:
        w.rebuild_from(12)

    return [
        ("modify", modify),
        ("delete", delete),
        ("swap", swap),
        ("truncate", truncate),
        ("truncate_everything", truncate_everything),
        ("rebuild", rebuild),
    ]


@pytest.mark.parametrize(("kind", "tamper"), _tamper_cases(), ids=[name for name, _ in _tamper_cases()])
@pytest.mark.parametrize("started", ["before", "after"])
def test_the_job_pins_tampering_to_the_full_verifications_seq(
    world: World, kind: str, tamper: Callable[[World], None], started: str
) -> None:
    # Given the chain tampered with before the job starts, or after it started (its end is fixed)
    if started == "after":
        world.start()
    tamper(world)
    if started == "before":
        world.start()
    expected = world.verifier.verify(TENANT)
    assert not expected.ok
    # When the job runs to its end
    finished = world.drain()
    # Then it reports the same first bad seq and problem as the full verification
    assert finished.result is not None
    assert (finished.result.ok, finished.result.first_bad_seq, finished.result.problem) == (
        False,
        expected.first_bad_seq,
        None if expected.problem is None else expected.problem.value,
    ), kind
    assert finished.last_verified_seq == (expected.first_bad_seq or 1) - 1
    done = world.events.published[-1]
    assert (done.type, done.outcome, done.data["first_bad_seq"]) == (
        VERIFICATION_FINISHED,
        "failure",
        expected.first_bad_seq,
    )


def test_expected_problems_of_the_tamper_cases(world: World) -> None:
    # The full verification's verdicts the job is compared with (so the comparison cannot be vacuous)
    world.rebuild_from(12)
    assert (world.verifier.verify(TENANT).problem, world.verifier.verify(TENANT).first_bad_seq) == (
        Problem.CHECKPOINT_MISMATCH,
        11,
    )


def test_an_empty_chain_finishes_at_once_as_ok(world: World) -> None:
    job = new_job(
        "nobody", requested_by="user:a", request_id="r", chain=world.repo, checkpoints=world.checkpoints
    )
    finished = run_pages(job, world.verifier)
    assert finished.result is not None
    assert (finished.end_seq, finished.result.ok, finished.checked) == (0, True, 0)


def test_a_duplicated_message_repeats_no_page_and_skips_none(world: World) -> None:
    # Given the first message delivered twice
    job = world.start()
    world.queue.sent.append((job.tenant, job.job_id))
    # When both copies are processed one after the other, then the rest
    finished = world.drain()
    # Then the job still finished after each page was saved once, and announced its end once
    assert finished.result is not None
    assert finished.result.ok
    assert [e.type for e in world.events.published].count(VERIFICATION_FINISHED) == 1


def test_a_stale_run_that_loses_the_race_saves_nothing_and_enqueues_nothing(world: World) -> None:
    # Given a job another run moved on meanwhile
    job = world.start()
    world.queue.sent.clear()
    moved_on = replace(job, next_seq=8, pages=1)
    deps = world.deps()
    original_get = world.jobs.get
    world.jobs.get = lambda tenant, job_id: job  # type: ignore[method-assign]
    world.jobs.jobs[(job.tenant, job.job_id)] = moved_on
    # When the stale run finishes its page
    assert advance_job(job.tenant, job.job_id, deps) is None
    world.jobs.get = original_get  # type: ignore[method-assign]
    # Then the stored progress is the other run's and no continuation was queued
    assert world.jobs.jobs[(job.tenant, job.job_id)] == moved_on
    assert world.queue.sent == []


def test_started_and_finished_events_keep_their_ids_across_retries(world: World) -> None:
    job = world.start()
    assert job.event_id(VERIFICATION_STARTED) == job.event_id(VERIFICATION_STARTED)
    assert job.event_id(VERIFICATION_STARTED) != job.event_id(VERIFICATION_FINISHED)
    other = replace(job, job_id="another")
    assert other.event_id(VERIFICATION_STARTED) != job.event_id(VERIFICATION_STARTED)
