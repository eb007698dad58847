"""SQS (S3 ObjectCreated notifications of the documents bucket) -> parse, with partial batch responses.

A body that is no S3 notification goes straight to the DLQ with its reason (echo_shared.dead_letters).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from echo_shared.dead_letters import reject_poison
from echo_shared.events import InvalidEvent
from echo_shared.observability import count, get_logger, lambda_entrypoint

from parse.dependencies import get_dead_letters, get_parse_service, get_settings
from parse.logic import ParseOutcome, parse_object
from parse.notifications import created_objects

_METRICS = {
    ParseOutcome.PARSED: "DocumentsParsed",
    ParseOutcome.FAILED: "DocumentsFailed",
    ParseOutcome.DUPLICATE: "ParseDuplicates",
    ParseOutcome.NOT_A_DOCUMENT: "ParseForeignObjects",
    ParseOutcome.ORPHAN: "ParseOrphans",
}


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=_parse_record, processor=processor, context=context
    )


def _parse_record(record: SQSRecord) -> None:
    try:
        objects = created_objects(record.body)
    except InvalidEvent as exc:
        if reject_poison(
            get_dead_letters(),
            message_id=record.message_id,
            body=record.body,
            reason=exc.reason,
            metric="ParsePoisonMessages",
        ):
            return
        raise
    service = get_parse_service()
    for created in objects:
        outcome = parse_object(service, created.key, created.size, request_id=record.message_id)
        count(_METRICS[outcome])
        get_logger().info(
            "object processed",
            extra={"message_id": record.message_id, "outcome": outcome.value, "bytes": created.size},
        )
