"""Outbox stream records -> their producers' topics, in stream order, 10 per PublishBatch;
relayed items deleted.

Each event goes to the topic of the producer whose namespace holds its type (ADR 0016): the relay
holds sns:Publish on the identity and authz topics only, and an item of any other type is poison
(the DLQ, with the reason): the outbox cannot be used to speak for documents, audit or platform.

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
from echo_shared.events.producers import UnknownProducer, producer_of
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
        )


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
    outbox: RelayedItems
    dead_letters: DeadLetterSink


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
    _forget(published, deps.outbox, report)
    return report


def _events_to_publish(
    records: Sequence[OutboxRecord], deps: RelayDependencies, report: RelayReport
) -> tuple[list[tuple[OutboxRecord, EventEnvelope]], str | None]:
    """The records' events in stream order (each event once), up to the first record that must be
    retried (a poison record the DLQ refused): that one's sequence number is returned."""
    pending: list[tuple[OutboxRecord, EventEnvelope]] = []
    seen: set[str] = set()
    for record in records:
        if record.change is StreamChange.REMOVE:
            report.skipped += 1
            continue
        try:
            event = _event_of(record, deps.buses)
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
        pending.append((record, event))
    return pending, None


def _event_of(record: OutboxRecord, buses: Mapping[str, EventPublisher]) -> EventEnvelope:
    if record.change is None:
        raise InvalidEvent("not an INSERT, MODIFY or REMOVE stream record")
    if record.key is None or record.event_json is None:
        raise InvalidEvent("stream record has no outbox key or no event in its new image")
    event = parse_envelope_json(record.event_json)
    if event.tenant != record.key.tenant:
        raise InvalidEvent("event tenant does not match the outbox partition key")
    try:
        producer = producer_of(event.type)
    except UnknownProducer as exc:
        raise InvalidEvent(str(exc)) from None
    if producer not in buses:
        raise InvalidEvent(f"the outbox does not relay for the {producer} producer")
    return event


def _chunks(
    pending: list[tuple[OutboxRecord, EventEnvelope]],
) -> list[tuple[str, list[tuple[OutboxRecord, EventEnvelope]]]]:
    """Stream order kept: runs of one producer's events, cut at MAX_BATCH_SIZE."""
    chunks: list[tuple[str, list[tuple[OutboxRecord, EventEnvelope]]]] = []
    for record, event in pending:
        producer = producer_of(event.type)
        if not chunks or chunks[-1][0] != producer or len(chunks[-1][1]) == MAX_BATCH_SIZE:
            chunks.append((producer, []))
        chunks[-1][1].append((record, event))
    return chunks


def _publish_in_order(
    pending: list[tuple[OutboxRecord, EventEnvelope]],
    buses: Mapping[str, EventPublisher],
    report: RelayReport,
) -> list[OutboxRecord]:
    """Publish chunk by chunk, each to its producer's topic; at the first refused event stop and
    mark its record failed. Returns the records the bus accepted."""
    accepted: list[OutboxRecord] = []
    for producer, chunk in _chunks(pending):
        try:
            buses[producer].publish_batch([event for _, event in chunk])
        except PublishFailed as exc:
            refused = set(exc.failed_event_ids)
            first = next(record for record, event in chunk if str(event.event_id) in refused)
            report.failed_sequence_number = first.sequence_number
            report.failure_codes = sorted(set(exc.codes))
            accepted += [record for record, event in chunk if str(event.event_id) not in refused]
            report.published += len(chunk) - len(refused)
            return accepted
        accepted += [record for record, _ in chunk]
        report.published += len(chunk)
    return accepted


def _forget(published: list[OutboxRecord], outbox: RelayedItems, report: RelayReport) -> None:
    """A relayed item is deleted; if the delete fails the item waits for its TTL (publishing it
    again would be harmless, but it is not retried for that)."""
    keys = [record.key for record in published if record.key is not None]
    if not keys:
        return
    try:
        outbox.delete(keys)
    except OutboxUnavailable as exc:
        report.not_deleted = len(keys)
        get_logger().warning(
            "relayed outbox items not deleted; their TTL removes them", extra={"error": str(exc)}
        )
