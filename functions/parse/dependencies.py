"""The parse function's adapters, built once per warm process."""

from echo_documents.objects import S3ObjectStore
from echo_documents.repository import DynamoDocumentRepository
from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now

from parse.extraction import ExtractionLimits, extract_in_sandbox
from parse.logic import ParseService
from parse.settings import ParseSettings


@cached_resource
def get_settings() -> ParseSettings:
    return ParseSettings.from_env()


@cached_resource
def get_parse_service() -> ParseService:
    settings = get_settings()
    limits = ExtractionLimits.from_env()
    return ParseService(
        # Status changes commit with their document.* events in the documents outbox (ADR 0014).
        repository=DynamoDocumentRepository(
            settings.documents_table, outbox=DynamoOutbox(settings.outbox_table)
        ),
        objects=S3ObjectStore(settings.documents_bucket),
        extract=lambda data: extract_in_sandbox(data, limits),
        max_bytes=limits.max_bytes,
        clock=utc_now,
    )


@cached_resource
def get_dead_letters() -> SqsDeadLetterSink:
    return SqsDeadLetterSink(get_settings().dead_letter_queue_url)
