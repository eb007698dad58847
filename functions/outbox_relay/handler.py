"""DynamoDB Streams (outbox table) -> the event bus. The event source mapping reports batch item
failures: the relay names the first record it could not relay and Lambda resumes the shard there
(bisecting on errors, retrying, then sending the batch's description to the relay DLQ)."""

from typing import TYPE_CHECKING, Any

from echo_shared.observability import count, get_logger, lambda_entrypoint

from outbox_relay.dependencies import get_dependencies, get_settings
from outbox_relay.logic import OutboxRecord, relay

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    records = [OutboxRecord.from_stream(raw) for raw in event.get("Records", [])]
    report = relay(records, get_dependencies())
    count("OutboxEventsRelayed", report.published)
    count("OutboxItemsNotDeleted", report.not_deleted)
    if report.failed_sequence_number is None:
        return {"batchItemFailures": []}
    get_logger().warning(
        "outbox relay stopped; the shard resumes from the first record not relayed",
        extra={"sequence_number": report.failed_sequence_number, "codes": report.failure_codes},
    )
    count("OutboxRelayDeferred")
    return {"batchItemFailures": [{"itemIdentifier": report.failed_sequence_number}]}
