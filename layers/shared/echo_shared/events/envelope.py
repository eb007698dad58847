"""The platform event envelope, defined once. Every service publishes and consumes this shape."""

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import rfc8785
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_serializer,
    field_validator,
)

from echo_shared.timeutil import Clock, coerce_utc, format_rfc3339, utc_now

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_DATA_BYTES = 64 * 1024

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
_TENANT_RE = re.compile(TENANT_PATTERN)

PRODUCER_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
type EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN, max_length=128)]
type TenantId = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]
type Text = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_PRINTABLE)]
type ProducerName = Annotated[str, StringConstraints(pattern=PRODUCER_PATTERN)]
type UtcTimestamp = Annotated[datetime, BeforeValidator(coerce_utc)]


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


def is_valid_tenant(value: str) -> bool:
    return _TENANT_RE.fullmatch(value) is not None


class EventEnvelope(BaseModel):
    """One platform event. `type` is `noun.verb` (lowercase, dotted); `occurred_at` is UTC.

    `producer` is who published it, as the audit ingest learned it from the delivering topic
    (ADR 0016); publishers leave it unset (a claim they make is checked, never trusted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: EventType
    tenant: TenantId
    actor: Text
    action: Text
    resource: Text
    outcome: Outcome
    occurred_at: UtcTimestamp
    request_id: Text
    data: dict[str, JsonValue] = Field(default_factory=dict)
    producer: ProducerName | None = None

    @field_validator("data")
    @classmethod
    def _data_is_canonical_json(cls, data: dict[str, JsonValue]) -> dict[str, JsonValue]:
        # Rejected here (not at hashing time): numbers outside I-JSON, NaN, oversized payloads.
        try:
            size = len(rfc8785.dumps(data))
        except rfc8785.CanonicalizationError as exc:
            raise ValueError(f"data is not canonical JSON ({type(exc).__name__})") from None
        if size > MAX_DATA_BYTES:
            raise ValueError(f"data exceeds {MAX_DATA_BYTES} bytes")
        return data

    @field_serializer("occurred_at")
    def _serialize_occurred_at(self, value: datetime) -> str:
        return format_rfc3339(value)

    def to_json(self) -> str:
        return self.model_dump_json(exclude=None if self.producer else {"producer"})

    def ledger_fields(self) -> dict[str, Any]:
        """The event as plain JSON values, exactly as the audit chain hashes and stores it (no
        `producer` key when it has none: such records hash as they did before ADR 0016)."""
        return self.model_dump(mode="json", exclude=None if self.producer else {"producer"})

    def from_producer(self, producer: str) -> "EventEnvelope":
        """This event as delivered by `producer` (the ingest's stamp; the model is frozen)."""
        return self.model_copy(update={"producer": producer})

    def canonical_data(self) -> str:
        return rfc8785.dumps(self.data).decode()


def new_event(
    *,
    type: str,
    tenant: str,
    actor: str,
    action: str,
    resource: str,
    outcome: Outcome | str,
    request_id: str,
    data: dict[str, JsonValue] | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    clock: Clock = utc_now,
) -> EventEnvelope:
    """Build a validated envelope; defaults: a fresh uuid4 and the current time."""
    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        type=type,
        tenant=tenant,
        actor=actor,
        action=action,
        resource=resource,
        outcome=Outcome(outcome),
        occurred_at=occurred_at or clock(),
        request_id=request_id,
        data=data or {},
    )
