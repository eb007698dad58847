"""The transactional outbox (ADR 0014): events are written to the `outbox` table, in the same
DynamoDB transaction as the state change they report, and the stream-driven relay
(`functions/outbox_relay`) publishes them to the bus. A bus outage only delays events.

One item per event: partition key `tenant` (one tenant's events share a stream shard, in order),
sort key `position` = `<occurred_at>#<event_id>` (RFC 3339 with microseconds, so string order is
time order), the envelope JSON in `event`, and a TTL `expires_at` as a backstop: the relay deletes
what it published; an item that stays is not published yet (the runbook redrives it).

`DynamoOutbox` is an `EventPublisher` for events without a state change of their own (one PutItem,
or one transaction for a batch) and `add_to(transaction, events)` lets a store put a state change's
events into the store's own `TransactWrite`. Stores take the events as plain envelopes, so domain
code never sees DynamoDB.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from echo_shared.dynamodb import bind_table
from echo_shared.errors import Unavailable
from echo_shared.events.envelope import EventEnvelope
from echo_shared.events.publisher import check_batch
from echo_shared.timeutil import format_rfc3339

# Far beyond the stream's 24 h retention: an item outlives the stream records that announced it,
# so an event the relay could not publish in time can still be redriven from the table.
OUTBOX_TTL = timedelta(days=14)


class OutboxUnavailable(Unavailable):
    """DynamoDB did not take the outbox write: nothing of the request's events was stored."""


class OutboxItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)
    event = UnicodeAttribute()
    expires_at = NumberAttribute()


class OutboxKey(NamedTuple):
    tenant: str
    position: str


def outbox_position(event: EventEnvelope) -> str:
    return f"{format_rfc3339(event.occurred_at)}#{event.event_id}"


class DynamoOutbox:
    def __init__(self, table_name: str, connection: Connection | None = None) -> None:
        self._items = bind_table(OutboxItem, table_name)
        self._connection = connection or Connection()

    def add_to(self, transaction: TransactWrite, events: Sequence[EventEnvelope]) -> None:
        """Put `events` into a store's transaction: they commit with its state change, or nothing does."""
        for event in events:
            transaction.save(self._item(event), condition=self._items.position.does_not_exist())

    def publish(self, event: EventEnvelope) -> None:
        try:
            self._item(event).save(condition=self._items.position.does_not_exist())
        except PynamoDBException as exc:
            raise OutboxUnavailable(f"outbox write failed ({exc.cause_response_code})") from exc

    def publish_batch(self, events: Sequence[EventEnvelope]) -> None:
        """All of the events or none (one transaction)."""
        check_batch(events)
        if not events:
            return
        try:
            with TransactWrite(connection=self._connection) as transaction:
                self.add_to(transaction, events)
        except PynamoDBException as exc:
            raise OutboxUnavailable(f"outbox write failed ({exc.cause_response_code})") from exc

    def _item(self, event: EventEnvelope) -> OutboxItem:
        return self._items(
            event.tenant,
            outbox_position(event),
            event=event.to_json(),
            expires_at=int((event.occurred_at + OUTBOX_TTL).timestamp()),
        )

    def delete(self, keys: Sequence[OutboxKey]) -> None:
        """Forget relayed items (BatchWriteItem, unprocessed ones retried by PynamoDB)."""
        try:
            with self._items.batch_write() as batch:
                for key in keys:
                    batch.delete(self._items(key.tenant, key.position))
        except PynamoDBException as exc:
            raise OutboxUnavailable(f"outbox delete failed ({exc.cause_response_code})") from exc
