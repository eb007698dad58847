"""SQS (log.* events) -> LOG_TABLE, with partial batch responses.

Poison messages go straight to the DLQ with the reason attached (see echo_shared.dead_letters);
if the DLQ refuses one, the record fails and the redrive policy takes over.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from echo_shared.dead_letters import DeadLetterSink, reject_poison
from echo_shared.events import InvalidEvent
from echo_shared.observability import count, get_logger, lambda_entrypoint

from log_sink.dependencies import get_dead_letters, get_log_sink, get_settings
from log_sink.logic import LogSink, SinkOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_METRICS = {
    SinkOutcome.STORED: "LogEntriesStored",
    SinkOutcome.DUPLICATE: "LogDuplicates",
    SinkOutcome.NOT_A_LOG_EVENT: "LogEventsSkipped",
}


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> PartialItemFailureResponse:
    sink = get_log_sink()
    dead_letters = get_dead_letters()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event,
        record_handler=lambda record: _sink_record(sink, dead_letters, record),
        processor=processor,
        context=context,
    )


def _sink_record(sink: LogSink, dead_letters: DeadLetterSink, record: SQSRecord) -> None:
    try:
        outcome = sink.accept(record.body)
    except InvalidEvent as exc:
        if reject_poison(
            dead_letters,
            message_id=record.message_id,
            body=record.body,
            reason=exc.reason,
            metric="LogPoisonMessages",
        ):
            return
        raise
    count(_METRICS[outcome])
    if outcome is SinkOutcome.NOT_A_LOG_EVENT:
        get_logger().warning("non-log event skipped", extra={"message_id": record.message_id})
