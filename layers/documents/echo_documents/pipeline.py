"""What the parse and embed consumers share: failing a document with a code, and the SQS batch loop.

Both consumers read SQS with partial batch responses; a body that can never be handled (not the
expected shape) goes to the consumer's DLQ at once with its reason (echo_shared.dead_letters), any
other error fails that record only, so SQS retries it and, after the redrive limit, dead-letters it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from echo_shared.dead_letters import DeadLetterSink, reject_poison
from echo_shared.events import InvalidEvent, Outcome
from echo_shared.timeutil import Clock

from echo_documents.errors import StaleStatus
from echo_documents.events import DocumentEvent, document_event
from echo_documents.records import DocumentRecord, DocumentStatus, Failure, StatusChange
from echo_documents.repository import DocumentRepository


@dataclass(frozen=True, slots=True)
class Stage:
    """A pipeline stage: its name in events, the status it works in, the actor it writes as."""

    name: str
    status: DocumentStatus
    actor: str


class PipelineService(Protocol):
    @property
    def repository(self) -> DocumentRepository: ...

    @property
    def clock(self) -> Clock: ...


def fail_document(
    service: PipelineService, record: DocumentRecord, failure: Failure, stage: Stage, request_id: str
) -> bool:
    """Move the document from the stage's status to `failed` with its `document.failed` (one
    transaction); False, and no event, if it had moved on already (deleted, or finished by another
    delivery)."""
    now = service.clock()
    change = StatusChange({stage.status}, DocumentStatus.FAILED, failure=failure)
    event = document_event(
        DocumentEvent.FAILED,
        change.applied_to(record, now),
        actor=stage.actor,
        request_id=request_id,
        data={"failure_code": failure.code, "stage": stage.name},
        outcome=Outcome.FAILURE,
        clock=service.clock,
    )
    try:
        service.repository.advance(record.tenant, record.document_id, change, now, events=[event])
    except StaleStatus:
        return False
    return True


def consume_batch[Body](
    event: dict[str, Any],
    context: LambdaContext,
    *,
    parse: Callable[[str], Body],
    handle: Callable[[SQSRecord, Body], None],
    dead_letters: Callable[[], DeadLetterSink],
    poison_metric: str,
) -> PartialItemFailureResponse:
    """Parse each record's body and handle it; poison bodies go to the DLQ, failures are reported."""

    def record_handler(record: SQSRecord) -> None:
        try:
            body = parse(record.body)
        except InvalidEvent as exc:
            if reject_poison(
                dead_letters(),
                message_id=record.message_id,
                body=record.body,
                reason=exc.reason,
                metric=poison_metric,
            ):
                return
            raise
        handle(record, body)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
