"""Ingest logic: parse -> append (exactly once), then checkpoint every tenant the batch touched."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from echo_shared.audit import (
    AppendResult,
    AuditAppender,
    AuditChainWriter,
    Checkpoint,
    CheckpointError,
    CheckpointSigner,
    CheckpointStore,
    write_checkpoint,
)
from echo_shared.dead_letters import DeadLetterSink
from echo_shared.events import parse_sqs_body
from echo_shared.observability import set_correlation_id


@dataclass(frozen=True, slots=True)
class IngestDependencies:
    appender: AuditAppender
    chain: AuditChainWriter
    signer: CheckpointSigner
    checkpoints: CheckpointStore
    dead_letters: DeadLetterSink


class AuditIngestBatch:
    """One invocation's worth of messages; remembers which tenants' chains it touched."""

    def __init__(self, appender: AuditAppender) -> None:
        self._appender = appender
        self.touched_tenants: set[str] = set()

    def ingest(self, body: str) -> AppendResult:
        """Raises InvalidEvent (poison) or RetryableAuditError (redeliver); duplicates are a result."""
        event = parse_sqs_body(body)
        set_correlation_id(event.request_id)
        result = self._appender.append(event)
        # Duplicates count too: a redelivery may follow a batch whose checkpoint failed.
        self.touched_tenants.add(event.tenant)
        return result


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    written: list[Checkpoint] = field(default_factory=list)
    failed: dict[str, CheckpointError] = field(default_factory=dict)


def checkpoint_tenants(tenants: Iterable[str], deps: IngestDependencies) -> CheckpointReport:
    """Sign and store each tenant's head. A failure loses nothing: the records are committed and
    the next batch that touches the tenant checkpoints its (later) head."""
    report = CheckpointReport()
    for tenant in sorted(tenants):
        try:
            checkpoint = write_checkpoint(
                tenant, chain=deps.chain, signer=deps.signer, store=deps.checkpoints
            )
        except CheckpointError as exc:
            report.failed[tenant] = exc
            continue
        if checkpoint is not None:
            report.written.append(checkpoint)
    return report
