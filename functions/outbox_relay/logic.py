"""Outbox stream records -> their producers' topics, in stream order, 10 per PublishBatch;
relayed items deleted.

One outbox table per producer (identity, authz; ADR 0016): a record's producer is the table whose
stream it came from (its `eventSourceARN`, written by Lambda, never by the writer), as the audit
ingest takes it from the delivering topic. The event goes to that producer's topic, and a record
whose type that producer may not say (`may_say`), or from a table that is no producer's outbox,
is poison (the DLQ, with the reason): a writer of one outbox cannot speak for the other producer,
nor for documents, audit or platform.

Order: the stream hands one shard's records in order, and a tenant's items share a partition key,
so a tenant's events arrive here in outbox order. They are published in that order, and at the
first record that cannot go (the bus refused it, or it is poison and the DLQ refused it) the relay
stops and reports that record as the batch's failure: Lambda retries from there, so no later
event is published before an earlier one of its shard. Whatever was accepted before is published
again on that retry (at least once; the audit ingest keeps each event_id once).

Records that can never become an event (no image, not an envelope) go to the DLQ with their
reason and do not block the shard. REMOVE records (the relay's own deletes, TTL) carry nothing.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from echo_shared.dead_letters import DeadLetterSink, reject_poison
from echo_shared.events import MAX_BATCH_SIZE, EventEnvelope, EventPublisher, InvalidEvent, PublishFailed
from echo_shared.events.outbox import OutboxKey, OutboxUnavailable
from echo_shared.events.parsing import parse_envelope_json
from echo_shared.events.producers import may_say
from echo_shared.observability import get_logger


class StreamChange(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One DynamoDB stream record of the outbox table, as the relay needs it."""

    sequence_number: str
    change: StreamChange | None
    key: OutboxKey | None
    event_json: str | None
    raw: str  # the record as received, for the DLQ
    # The table whose stream delivered it (from eventSourceARN, set by Lambda).
    table: str | None = None

    @classmethod
    def from_stream(cls, raw: dict[str, Any]) -> "OutboxRecord":
        """A Lambda DynamoDB-stream record (NEW_IMAGE view); what is missing stays None."""
        stream = raw.get("dynamodb") or {}
        keys = stream.get("Keys") or {}
        image = stream.get("NewImage") or {}
        tenant, position = _string(keys, "tenant"), _string(keys, "position")
        name = raw.get("eventName")
        return cls(
            sequence_number=str(stream.get("SequenceNumber", "")),
            change=StreamChange(name) if isinstance(name, str) and name in StreamChange.__members__ else None,
            key=OutboxKey(tenant, position) if tenant and position else None,
            event_json=_string(image, "event"),
            raw=json.dumps(raw, separators=(",", ":")),
            table=_table_of(raw.get("eventSourceARN")),
        )


def _table_of(stream_arn: object) -> str | None:
    """`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`."""
    if not isinstance(stream_arn, str):
        return None
    parts = stream_arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if len(resource) < 4 or resource[0] != "table" or resource[2] != "stream" or not resource[1]:
        return None
    return resource[1]


def _string(attributes: dict[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    text = value.get("S") if isinstance(value, dict) else None
    return text if isinstance(text, str) else None


class RelayedItems(Protocol):
    def delete(self, keys: Sequence[OutboxKey]) -> None: ...


@dataclass(frozen=True, slots=True)
class RelayDependencies:
    # One publisher per relayed producer (its topic).
    buses: Mapping[str, EventPublisher]
    # Producer -> its outbox table's name, and the items of that table (what is deleted once relayed).
    tables: Mapping[str, str]
    outboxes: Mapping[str, RelayedItems]
    dead_letters: DeadLetterSink

    def producer_of_table(self, table: str | None) -> str | None:
        return next((producer for producer, name in self.tables.items() if name == table), None)


# A record's event and the producer whose outbox it came from.
type Pending = tuple[OutboxRecord, EventEnvelope, str]


@dataclass(slots=True)
class RelayReport:
    published: int = 0
    poison: int = 0
    skipped: int = 0
    not_deleted: int = 0
    # The first record not relayed: Lambda resumes the shard from it.
    failed_sequence_number: str | None = None
    failure_codes: list[str] = field(default_factory=list)


def relay(records: Sequence[OutboxRecord], deps: RelayDependencies) -> RelayReport:
    report = RelayReport()
    pending, stopped_at = _events_to_publish(records, deps, report)
    published = _publish_in_order(pending, deps.buses, report)
    if report.failed_sequence_number is None:
        report.failed_sequence_number = stopped_at
    _forget(published, deps.outboxes, report)
    return report


def _events_to_publish(
    records: Sequence[OutboxRecord], deps: RelayDependencies, report: RelayReport
) -> tuple[list[Pending], str | None]:
    """The records' events in stream order (each event once), up to the first record that must be
    retried (a poison record the DLQ refused): that one's sequence number is returned."""
    pending: list[Pending] = []
    seen: set[str] = set()
    for record in records:
        if record.change is StreamChange.REMOVE:
            report.skipped += 1
            continue
        try:
            event, producer = _event_of(record, deps)
        except InvalidEvent as exc:
            if not reject_poison(
                deps.dead_letters,
                message_id=record.sequence_number,
                body=record.raw,
                reason=exc.reason,
                metric="OutboxPoisonRecords",
            ):
                return pending, record.sequence_number
            report.poison += 1
            continue
        if str(event.event_id) in seen:  # a redrive touched an item whose insert is in this batch
            report.skipped += 1
            continue
        seen.add(str(event.event_id))
        pending.append((record, event, producer))
    return pending, None


def _event_of(record: OutboxRecord, deps: RelayDependencies) -> tuple[EventEnvelope, str]:
    if record.change is None:
        raise InvalidEvent("not an INSERT, MODIFY or REMOVE stream record")
    if record.key is None or record.event_json is None:
        raise InvalidEvent("stream record has no outbox key or no event in its new image")
    producer = deps.producer_of_table(record.table)
    if producer is None or producer not in deps.buses:
        raise InvalidEvent("stream record from a table that is no producer's outbox")
    event = parse_envelope_json(record.event_json)
    if event.tenant != record.key.tenant:
        raise InvalidEvent("event tenant does not match the outbox partition key")
    if not may_say(producer, event.type):
        prefix = event.type.split(".", 1)[0]
        raise InvalidEvent(f"type {prefix}.* is outside the {producer} producer's namespace")
    return event, producer


def _chunks(pending: list[Pending]) -> list[tuple[str, list[tuple[OutboxRecord, EventEnvelope]]]]:
    """Stream order kept: runs of one producer's events, cut at MAX_BATCH_SIZE."""
    chunks: list[tuple[str, list[tuple[OutboxRecord, EventEnvelope]]]] = []
    for record, event, producer in pending:
        if not chunks or chunks[-1][0] != producer or len(chunks[-1][1]) == MAX_BATCH_SIZE:
            chunks.append((producer, []))
        chunks[-1][1].append((record, event))
    return chunks


def _publish_in_order(
    pending: list[Pending], buses: Mapping[str, EventPublisher], report: RelayReport
) -> list[tuple[OutboxRecord, str]]:
    """Publish chunk by chunk, each to its producer's topic; at the first refused event stop and
    mark its record failed. Returns the records the bus accepted, with their producer."""
    accepted: list[tuple[OutboxRecord, str]] = []
    for producer, chunk in _chunks(pending):
        try:
            buses[producer].publish_batch([event for _, event in chunk])
        except PublishFailed as exc:
            refused = set(exc.failed_event_ids)
            first = next(record for record, event in chunk if str(event.event_id) in refused)
            report.failed_sequence_number = first.sequence_number
            report.failure_codes = sorted(set(exc.codes))
            accepted += [(record, producer) for record, event in chunk if str(event.event_id) not in refused]
            report.published += len(chunk) - len(refused)
            return accepted
        accepted += [(record, producer) for record, _ in chunk]
        report.published += len(chunk)
    return accepted


def _forget(
    published: list[tuple[OutboxRecord, str]], outboxes: Mapping[str, RelayedItems], report: RelayReport
) -> None:
    """A relayed item is deleted from its producer's outbox; if the delete fails the item waits for
    its TTL (publishing it again would be harmless, but it is not retried for that)."""
    keys: dict[str, list[OutboxKey]] = {}
    for record, producer in published:
        if record.key is not None:
            keys.setdefault(producer, []).append(record.key)
    for producer, producer_keys in keys.items():
        try:
            outboxes[producer].delete(producer_keys)
        except OutboxUnavailable as exc:
            report.not_deleted += len(producer_keys)
            get_logger().warning(
                "relayed outbox items not deleted; their TTL removes them", extra={"error": str(exc)}
            )
