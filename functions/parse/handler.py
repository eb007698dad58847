"""SQS (S3 ObjectCreated notifications of the documents bucket) -> parse, with partial batch responses.

A body that is no S3 notification goes straight to the DLQ with its reason (echo_shared.dead_letters).
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from echo_documents.pipeline import consume_batch
from echo_shared.observability import count, get_logger, lambda_entrypoint

from parse.dependencies import get_dead_letters, get_parse_service, get_settings
from parse.logic import ParseOutcome, parse_object
from parse.notifications import CreatedObject, created_objects

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_METRICS = {
    ParseOutcome.PARSED: "DocumentsParsed",
    ParseOutcome.FAILED: "DocumentsFailed",
    ParseOutcome.DUPLICATE: "ParseDuplicates",
    ParseOutcome.NOT_A_DOCUMENT: "ParseForeignObjects",
    ParseOutcome.ORPHAN: "ParseOrphans",
}


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> PartialItemFailureResponse:
    return consume_batch(
        event,
        context,
        parse=created_objects,
        handle=_parse_record,
        dead_letters=get_dead_letters,
        poison_metric="ParsePoisonMessages",
    )


def _parse_record(record: SQSRecord, objects: list[CreatedObject]) -> None:
    service = get_parse_service()
    for created in objects:
        outcome = parse_object(service, created.key, created.size, request_id=record.message_id)
        count(_METRICS[outcome])
        get_logger().info(
            "object processed",
            extra={"message_id": record.message_id, "outcome": outcome.value, "bytes": created.size},
        )
