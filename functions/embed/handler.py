"""SQS (document.parsed and document.deleted from the bus) -> index or purge, with partial batch responses."""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from echo_documents.pipeline import consume_batch
from echo_shared.events import EventEnvelope, parse_sqs_body
from echo_shared.observability import count, get_logger, lambda_entrypoint

from embed.dependencies import get_dead_letters, get_embed_service, get_settings
from embed.logic import EmbedOutcome, handle_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_METRICS = {
    EmbedOutcome.INDEXED: "DocumentsIndexed",
    EmbedOutcome.FAILED: "DocumentsFailed",
    EmbedOutcome.PURGED: "DocumentsPurged",
    EmbedOutcome.DUPLICATE: "EmbedDuplicates",
    EmbedOutcome.IGNORED: "EmbedIgnored",
}


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> PartialItemFailureResponse:
    return consume_batch(
        event,
        context,
        parse=parse_sqs_body,
        handle=_embed_record,
        dead_letters=get_dead_letters,
        poison_metric="EmbedPoisonMessages",
    )


def _embed_record(record: SQSRecord, envelope: EventEnvelope) -> None:
    receives = int(record.attributes.approximate_receive_count or 1)
    outcome = handle_event(
        get_embed_service(), envelope, final_attempt=receives >= get_settings().max_receives
    )
    count(_METRICS[outcome])
    get_logger().info(
        "event processed",
        extra={"message_id": record.message_id, "event_type": envelope.type, "outcome": outcome.value},
    )
