"""The event bus port and its adapters: SNS for real, a list for tests."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from echo_shared import aws
from echo_shared.events.envelope import EventEnvelope
from echo_shared.observability import count

if TYPE_CHECKING:
    from types_boto3_sns.client import SNSClient
    from types_boto3_sns.type_defs import MessageAttributeValueTypeDef

MAX_BATCH_SIZE = 10
# Counted wherever the bus refuses events, whatever the caller then does with them (alarmed on).
NOT_PUBLISHED_METRIC = "EventsNotPublished"


class PublishFailed(Exception):
    """Some events were not accepted by the bus; the caller decides whether to retry them."""

    def __init__(self, failed_event_ids: Sequence[str], codes: Sequence[str]) -> None:
        super().__init__(f"{len(failed_event_ids)} event(s) not published: {', '.join(sorted(set(codes)))}")
        self.failed_event_ids = tuple(failed_event_ids)
        self.codes = tuple(codes)


def _not_published(failed_event_ids: Sequence[str], codes: Sequence[str]) -> PublishFailed:
    count(NOT_PUBLISHED_METRIC, len(failed_event_ids))
    return PublishFailed(failed_event_ids, codes)


class EventPublisher(Protocol):
    def publish(self, event: EventEnvelope) -> None: ...

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None: ...


def check_batch(events: Sequence[EventEnvelope]) -> None:
    if len(events) > MAX_BATCH_SIZE:
        raise ValueError(f"a batch holds at most {MAX_BATCH_SIZE} events")
    if len({event.event_id for event in events}) != len(events):
        raise ValueError("a batch must not repeat an event_id")


def _attributes(event: EventEnvelope) -> dict[str, "MessageAttributeValueTypeDef"]:
    # Subscriptions filter on these (e.g. the log queue takes `type` prefix `log.`).
    return {
        "type": {"DataType": "String", "StringValue": event.type},
        "tenant": {"DataType": "String", "StringValue": event.tenant},
    }


class SnsEventPublisher:
    def __init__(self, topic_arn: str, client: "SNSClient | None" = None) -> None:
        self._topic_arn = topic_arn
        self._client = client or aws.client("sns")

    def publish(self, event: EventEnvelope) -> None:
        try:
            self._client.publish(
                TopicArn=self._topic_arn, Message=event.to_json(), MessageAttributes=_attributes(event)
            )
        except ClientError as exc:
            raise _not_published([str(event.event_id)], [exc.response["Error"]["Code"]]) from exc
        except BotoCoreError as exc:
            raise _not_published([str(event.event_id)], [type(exc).__name__]) from exc

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        check_batch(events)
        if not events:
            return
        try:
            response = self._client.publish_batch(
                TopicArn=self._topic_arn,
                PublishBatchRequestEntries=[
                    {
                        "Id": str(event.event_id),
                        "Message": event.to_json(),
                        "MessageAttributes": _attributes(event),
                    }
                    for event in events
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            raise _not_published([str(event.event_id) for event in events], [code] * len(events)) from exc
        failed = response.get("Failed", [])
        if failed:
            raise _not_published([entry["Id"] for entry in failed], [entry["Code"] for entry in failed])
