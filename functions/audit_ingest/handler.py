"""SQS -> audit chain. Partial batch responses: only failed messages go back to the queue.

The whole batch is appended at once (grouped by tenant, see AuditAppender.append_batch). Poison
messages (not JSON, not an envelope) can never succeed: they go straight to the DLQ with the reason
as message attributes (`echo_failure_reason`, `echo_source_message_id`) and the reason is logged
with the message id, never the body. If the DLQ refuses one, the record fails and the queue's
redrive policy moves it there after maxReceiveCount: nothing is dropped.
"""

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from echo_shared.observability import count, get_logger, lambda_entrypoint

from audit_ingest.dependencies import get_dependencies, get_settings
from audit_ingest.logic import QueuedMessage, checkpoint_tenants, ingest_messages

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> PartialItemFailureResponse:
    deps = get_dependencies()
    messages = [
        QueuedMessage(message_id=str(record["messageId"]), body=_body(record))
        for record in event.get("Records", [])
    ]
    started = time.perf_counter()
    report = ingest_messages(messages, deps)
    appended = time.perf_counter()
    count("AuditEventsAppended", report.appended)
    count("AuditDuplicates", report.duplicates)
    count("AuditAppendsDeferred", report.deferred)
    count("AuditAppendRetries", report.retries)
    checkpoints = checkpoint_tenants(report.touched_tenants, deps)
    logger = get_logger()
    # Counts and durations only: where an invocation's time goes (docs/audit.md, the throughput table).
    logger.info(
        "audit batch done",
        extra={
            "messages": len(messages),
            "tenants": len(report.touched_tenants),
            "append_ms": round((appended - started) * 1000, 1),
            "checkpoint_ms": round((time.perf_counter() - appended) * 1000, 1),
        },
    )
    count("AuditCheckpointsWritten", len(checkpoints.written))
    count("AuditCheckpointFailures", len(checkpoints.failed))
    # Alarm on this metric: a chain segment did not verify, so its head was not signed.
    count("AuditTamperDetected", len(checkpoints.tampered))
    count("AuditTamperReportsRecorded", checkpoints.recorded)
    for tenant, error in checkpoints.failed.items():
        logger.warning(
            "checkpoint not written; the next batch retries", extra={"tenant": tenant, "error": str(error)}
        )
    for tenant, finding in checkpoints.tampered.items():
        # Seqs and the kind of problem only: never record contents.
        logger.error(
            "audit chain segment failed verification; head not signed",
            extra={
                "tenant": tenant,
                "problem": str(finding.problem),
                "first_bad_seq": finding.first_bad_seq,
                "checkpoint_seq": finding.checkpoint_seq,
                "recorded": tenant not in checkpoints.unrecorded,
            },
        )
    for tenant, unrecorded in checkpoints.unrecorded.items():
        logger.error(
            "tamper finding not written to the integrity log; the next batch retries",
            extra={"tenant": tenant, "error": type(unrecorded).__name__},
        )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in report.failed]}


def _body(record: dict[str, Any]) -> str:
    body = record.get("body")
    return body if isinstance(body, str) else ""
