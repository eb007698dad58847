"""Turn an SQS record body into an envelope, whether SNS delivered it raw or wrapped."""

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from echo_shared.events.envelope import EventEnvelope


class InvalidEvent(ValueError):
    """A message that can never become a valid envelope. `reason` never quotes the payload."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_envelope(document: Any) -> EventEnvelope:
    try:
        return EventEnvelope.model_validate(document)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid envelope: {_describe(exc)}") from None


def parse_envelope_json(text: str) -> EventEnvelope:
    """An envelope stored as JSON (the outbox's `event` attribute)."""
    return parse_envelope(_load_json_object(text, what="event"))


@dataclass(frozen=True, slots=True)
class Delivery:
    """An envelope and the topic SNS delivered it from (None: raw delivery, no SNS envelope)."""

    event: EventEnvelope
    topic_arn: str | None


def parse_sqs_body(body: str) -> EventEnvelope:
    """Accept a raw-delivery body (the envelope JSON) or an SNS notification wrapping it."""
    return parse_sqs_delivery(body).event


def parse_sqs_delivery(body: str) -> Delivery:
    """Like parse_sqs_body, keeping the SNS notification's `TopicArn` (written by SNS, not by the
    publisher: the only trustworthy word on who published)."""
    document = _load_json_object(body, what="body")
    topic_arn: str | None = None
    if "Type" in document or "TopicArn" in document:
        if document.get("Type") != "Notification":
            raise InvalidEvent("SNS message is not a Notification")
        message = document.get("Message")
        if not isinstance(message, str):
            raise InvalidEvent("SNS notification has no string Message")
        arn = document.get("TopicArn")
        topic_arn = arn if isinstance(arn, str) and arn else None
        document = _load_json_object(message, what="SNS Message")
    return Delivery(parse_envelope(document), topic_arn)


def _load_json_object(text: str, *, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidEvent(f"{what} is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidEvent(f"{what} is not a JSON object")
    return document


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'envelope'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    )
