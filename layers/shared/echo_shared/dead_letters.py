"""Poison messages go straight to the consumer's DLQ, with the reason as message attributes.

A message that can never succeed (not JSON, not an envelope) would otherwise be retried until the
queue's maxReceiveCount and reach the DLQ minutes later with no reason attached. Quarantining it at
once keeps the queue moving and tells the DLQ reader why. If quarantining fails, the caller lets
the record fail, so SQS's redrive policy remains the safety net: nothing is ever dropped.
"""

from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared.observability import count, get_logger

REASON_ATTRIBUTE = "echo_failure_reason"
SOURCE_MESSAGE_ATTRIBUTE = "echo_source_message_id"
MAX_REASON_LENGTH = 1024


class DeadLetterError(Exception):
    """The DLQ did not accept the message."""


class DeadLetterSink(Protocol):
    def quarantine(self, *, message_id: str, body: str, reason: str) -> None: ...


class SqsDeadLetterSink:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def quarantine(self, *, message_id: str, body: str, reason: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes={
                    REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:MAX_REASON_LENGTH]},
                    SOURCE_MESSAGE_ATTRIBUTE: {"DataType": "String", "StringValue": message_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeadLetterError(f"DLQ refused message {message_id}: {type(exc).__name__}") from exc


def reject_poison(sink: DeadLetterSink, *, message_id: str, body: str, reason: str, metric: str) -> bool:
    """Log why (message id only, never the body) and quarantine the message.

    Returns False when the DLQ refused it: the caller then fails the record so SQS redrives it.
    """
    logger = get_logger()
    count(metric)
    try:
        sink.quarantine(message_id=message_id, body=body, reason=reason)
    except DeadLetterError as exc:
        logger.warning(
            "poison message rejected; DLQ unavailable, left to SQS redrive",
            extra={"message_id": message_id, "reason": reason, "error": str(exc)},
        )
        return False
    logger.warning("poison message rejected", extra={"message_id": message_id, "reason": reason})
    return True
