"""SQS -> audit chain. Partial batch responses: only failed messages go back to the queue.

Poison messages (not JSON, not an envelope) can never succeed: they go straight to the DLQ with
the reason as message attributes (`echo_failure_reason`, `echo_source_message_id`) and the reason
is logged with the message id, never the body. If the DLQ refuses one, the record fails and the
queue's redrive policy moves it there after maxReceiveCount: nothing is dropped.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from echo_shared.audit import AppendStatus, RetryableAuditError
from echo_shared.dead_letters import DeadLetterSink, reject_poison
from echo_shared.events import InvalidEvent
from echo_shared.observability import count, get_logger, lambda_entrypoint, set_correlation_id

from audit_ingest.dependencies import get_dependencies, get_settings
from audit_ingest.logic import AuditIngestBatch, checkpoint_tenants


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deps = get_dependencies()
    batch = AuditIngestBatch(deps.appender)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event,
        record_handler=lambda record: _ingest_record(batch, deps.dead_letters, record),
        processor=processor,
        context=context,
    )
    set_correlation_id(None)
    report = checkpoint_tenants(batch.touched_tenants, deps)
    count("AuditCheckpointsWritten", len(report.written))
    count("AuditCheckpointFailures", len(report.failed))
    for tenant, error in report.failed.items():
        get_logger().warning(
            "checkpoint not written; the next batch retries", extra={"tenant": tenant, "error": str(error)}
        )
    return response


def _ingest_record(batch: AuditIngestBatch, dead_letters: DeadLetterSink, record: SQSRecord) -> None:
    logger = get_logger()
    try:
        result = batch.ingest(record.body)
    except InvalidEvent as exc:
        if reject_poison(
            dead_letters,
            message_id=record.message_id,
            body=record.body,
            reason=exc.reason,
            metric="AuditPoisonMessages",
        ):
            return
        raise
    except RetryableAuditError as exc:
        count("AuditAppendsDeferred")
        logger.warning(
            "append deferred; SQS redelivers", extra={"message_id": record.message_id, "error": str(exc)}
        )
        raise
    count("AuditAppendRetries", result.retries)
    if result.status is AppendStatus.DUPLICATE:
        count("AuditDuplicates")
        logger.info(
            "duplicate event ignored", extra={"message_id": record.message_id, "tenant": result.tenant}
        )
    else:
        count("AuditEventsAppended")
