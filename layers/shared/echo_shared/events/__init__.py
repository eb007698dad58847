"""The event envelope, the bus port (SNS adapter) and the SQS body parser."""

from echo_shared.events.envelope import (
    EVENT_TYPE_PATTERN,
    TENANT_PATTERN,
    EventEnvelope,
    Outcome,
    is_valid_tenant,
    new_event,
)
from echo_shared.events.parsing import InvalidEvent, parse_envelope, parse_sqs_body
from echo_shared.events.publisher import (
    MAX_BATCH_SIZE,
    EventPublisher,
    PublishFailed,
    SnsEventPublisher,
)

__all__ = [
    "EVENT_TYPE_PATTERN",
    "MAX_BATCH_SIZE",
    "TENANT_PATTERN",
    "EventEnvelope",
    "EventPublisher",
    "InvalidEvent",
    "Outcome",
    "PublishFailed",
    "SnsEventPublisher",
    "is_valid_tenant",
    "new_event",
    "parse_envelope",
    "parse_sqs_body",
]
