import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from echo_shared.events import EventEnvelope, Outcome, new_event
from echo_shared.events.envelope import MAX_DATA_BYTES
from pydantic import ValidationError


def _valid_document() -> dict[str, object]:
    return {
        "event_id": "3f1c0a52-7d0e-4f57-9a0b-2d9b1f3b6c11",
        "type": "user.logged_in",
        "tenant": "acme",
        "actor": "user-1",
        "action": "login",
        "resource": "user:user-1",
        "outcome": "success",
        "occurred_at": "2026-01-05T10:00:00Z",
        "request_id": "req-1",
        "data": {"method": "password"},
    }


def test_valid_document_parses_and_normalises_time_to_utc() -> None:
    # Given an envelope whose timestamp carries a +02:00 offset
    document = _valid_document() | {"occurred_at": "2026-01-05T12:00:00.5+02:00"}

    # When it is validated
    event = EventEnvelope.model_validate(document)

    # Then the time is kept as the same instant in UTC and serialised with a Z
    assert event.occurred_at == datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC)
    assert json.loads(event.to_json())["occurred_at"] == "2026-01-05T10:00:00.500000Z"
    assert event.outcome is Outcome.SUCCESS


def test_json_round_trip_is_lossless() -> None:
    event = EventEnvelope.model_validate(_valid_document())
    assert EventEnvelope.model_validate_json(event.to_json()) == event


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "UserLoggedIn"),
        ("type", "user"),
        ("type", "user..logged_in"),
        ("type", "user.logged-in"),
        ("type", ".user.login"),
        ("tenant", ""),
        ("tenant", "acme/other"),
        ("tenant", "-acme"),
        ("tenant", "a" * 65),
        ("event_id", "not-a-uuid"),
        ("outcome", "maybe"),
        ("occurred_at", "2026-01-05T10:00:00"),
        ("occurred_at", "2026-01-05"),
        ("occurred_at", 1767607200),
        ("occurred_at", "2026-02-30T10:00:00Z"),
        ("actor", ""),
        ("actor", "line\nbreak"),
        ("request_id", 42),
        ("data", ["not", "an", "object"]),
        ("data", {"too_big": 2**60}),
    ],
)
def test_invalid_field_values_are_rejected(field: str, value: object) -> None:
    # Given a valid envelope with one field made invalid
    document = _valid_document() | {field: value}

    # When / Then validation fails on that field
    with pytest.raises(ValidationError) as caught:
        EventEnvelope.model_validate(document)
    assert {error["loc"][0] for error in caught.value.errors()} == {field}


@pytest.mark.parametrize("missing", ["event_id", "type", "tenant", "actor", "occurred_at", "request_id"])
def test_required_fields(missing: str) -> None:
    document = _valid_document()
    del document[missing]
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(document)


def test_unknown_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        EventEnvelope.model_validate(_valid_document() | {"Type": "Notification"})


def test_oversized_data_is_rejected() -> None:
    with pytest.raises(ValidationError, match="exceeds"):
        EventEnvelope.model_validate(_valid_document() | {"data": {"blob": "x" * MAX_DATA_BYTES}})


def test_non_finite_numbers_in_data_are_rejected() -> None:
    with pytest.raises(ValidationError, match="canonical JSON"):
        new_event(
            type="a.b",
            tenant="t",
            actor="a",
            action="x",
            resource="r",
            outcome="success",
            request_id="r",
            data={"x": float("nan")},
        )


def test_envelope_is_frozen() -> None:
    event = EventEnvelope.model_validate(_valid_document())
    with pytest.raises(ValidationError):
        event.tenant = "other"  # type: ignore[misc]


def test_factory_defaults_to_a_new_uuid4_and_now() -> None:
    # Given a fixed clock
    now = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=1)))

    # When two events are built without ids or timestamps
    first, second = (
        new_event(
            type="token.issued",
            tenant="acme",
            actor="u",
            action="issue",
            resource="client:web",
            outcome="success",
            request_id="r",
            clock=lambda: now,
        )
        for _ in range(2)
    )

    # Then each has its own version-4 id and the clock's instant in UTC
    assert first.event_id != second.event_id
    assert first.event_id.version == 4
    assert isinstance(first.event_id, uuid.UUID)
    assert first.occurred_at == now.astimezone(UTC)
    assert first.data == {}


def test_factory_rejects_naive_datetimes() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        new_event(
            type="a.b",
            tenant="t",
            actor="a",
            action="x",
            resource="r",
            outcome="success",
            request_id="r",
            occurred_at=datetime(2026, 1, 1, 0, 0),
        )
