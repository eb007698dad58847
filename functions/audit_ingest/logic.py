"""Ingest logic: parse every message, append the batch (exactly once), then checkpoint every tenant
the batch touched, each only after the segment since its last checkpoint verified (the notary);
what does not verify is written to the integrity log instead of being signed."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from echo_shared.audit import (
    INTEGRITY_CHAIN,
    AppendStatus,
    AuditAppender,
    AuditError,
    CheckpointError,
    CheckpointService,
    IntegrityLog,
    RetryableAuditError,
    ServiceOutcome,
    SignedHead,
    TamperReport,
)
from echo_shared.dead_letters import DeadLetterSink, reject_poison
from echo_shared.events import EventEnvelope, InvalidEvent
from echo_shared.events.parsing import parse_sqs_delivery
from echo_shared.events.producers import ForeignEvent, TopicProducers, attribute
from echo_shared.observability import get_logger


@dataclass(frozen=True, slots=True)
class IngestDependencies:
    appender: AuditAppender
    # Verifies and signs heads; in the deployed stack the notary function (the ingest cannot sign).
    notary: CheckpointService
    integrity: IntegrityLog
    dead_letters: DeadLetterSink
    # The deployment's topics: the producer of an event is the topic SNS delivered it from.
    producers: TopicProducers


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    message_id: str
    body: str


@dataclass(slots=True)
class BatchReport:
    """What one invocation did; `failed` are the message ids SQS must redeliver, in batch order."""

    failed: list[str] = field(default_factory=list)
    appended: int = 0
    duplicates: int = 0
    deferred: int = 0
    retries: int = 0
    touched_tenants: set[str] = field(default_factory=set)


def ingest_messages(messages: Sequence[QueuedMessage], deps: IngestDependencies) -> BatchReport:
    """Poison (never valid) and foreign events (a producer speaking outside its namespace, ADR
    0016) go to the DLQ with their reason; a deferred append fails its message (nothing of it was
    written); duplicates are acknowledged."""
    logger = get_logger()
    report = BatchReport()
    failed: set[str] = set()
    parsed: list[tuple[QueuedMessage, EventEnvelope]] = []
    for message in messages:
        try:
            parsed.append((message, attribute(parse_sqs_delivery(message.body), deps.producers)))
        except InvalidEvent as exc:
            if not reject_poison(
                deps.dead_letters,
                message_id=message.message_id,
                body=message.body,
                reason=exc.reason,
                metric="AuditForeignEvents" if isinstance(exc, ForeignEvent) else "AuditPoisonMessages",
            ):
                failed.add(message.message_id)
    outcomes = deps.appender.append_batch([event for _, event in parsed])
    attempts: dict[str, int] = {}
    for (message, event), outcome in zip(parsed, outcomes, strict=True):
        # Duplicates and deferrals count too: a redelivery may follow a batch whose checkpoint failed.
        report.touched_tenants.add(event.tenant)
        if isinstance(outcome, RetryableAuditError):
            report.deferred += 1
            failed.add(message.message_id)
            logger.warning(
                "append deferred; SQS redelivers",
                extra={"message_id": message.message_id, "error": str(outcome)},
            )
            continue
        attempts[event.tenant] = max(attempts.get(event.tenant, 1), outcome.attempts)
        if outcome.status is AppendStatus.DUPLICATE:
            report.duplicates += 1
            logger.info(
                "duplicate event ignored", extra={"message_id": message.message_id, "tenant": event.tenant}
            )
        else:
            report.appended += 1
    report.retries = sum(tenant_attempts - 1 for tenant_attempts in attempts.values())
    report.failed = [message.message_id for message in messages if message.message_id in failed]
    return report


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    written: list[SignedHead] = field(default_factory=list)
    failed: dict[str, CheckpointError] = field(default_factory=dict)
    # Tenants whose segment did not verify: nothing was signed for them.
    tampered: dict[str, TamperReport] = field(default_factory=dict)
    # Findings not yet in the integrity log (recorded = appended now; a repeat is not counted).
    recorded: int = 0
    unrecorded: dict[str, AuditError] = field(default_factory=dict)


def checkpoint_tenants(tenants: Iterable[str], deps: IngestDependencies) -> CheckpointReport:
    """Ask the notary to verify and sign each tenant's head. A failure loses nothing: the records
    are committed and the next batch that touches the tenant checkpoints its (later) head. A
    segment that does not verify is not signed (nor is any later head of that chain, until an
    operator repairs it); each distinct finding is appended once to the integrity log (the ingest
    writes it: the notary cannot write the chain), which is then verified and signed too."""
    ordered = sorted(set(tenants) - {INTEGRITY_CHAIN})
    report = CheckpointReport()
    _collect(report, ordered, deps.notary.checkpoint(ordered) if ordered else [])
    recorded = 0
    for tenant, finding in report.tampered.items():
        try:
            recorded += deps.integrity.record(finding) is not None
        except AuditError as exc:
            report.unrecorded[tenant] = exc
    if report.tampered:
        _collect(report, [INTEGRITY_CHAIN], deps.notary.checkpoint([INTEGRITY_CHAIN]))
    return replace(report, recorded=recorded)


def _collect(report: CheckpointReport, tenants: list[str], outcomes: list[ServiceOutcome]) -> None:
    for tenant, outcome in zip(tenants, outcomes, strict=True):
        if isinstance(outcome, CheckpointError):
            report.failed[tenant] = outcome
        elif isinstance(outcome, TamperReport):
            report.tampered[tenant] = outcome
        elif outcome is not None:
            report.written.append(outcome)
