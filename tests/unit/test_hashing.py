import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import rfc8785
from echo_shared.audit import GENESIS_HASH, AuditRecord, canonical_record, record_hash
from echo_shared.events import EventEnvelope, new_event
from hypothesis import example, given
from hypothesis import strategies as st

EXPECTED_CANONICAL = (
    '{"action":"login","actor":"user-1","data":{"a":"\u00e9","b":1,"c":1,"d":[true,null,1.5e-7]},'
    '"event_id":"3f1c0a52-7d0e-4f57-9a0b-2d9b1f3b6c11","occurred_at":"2026-01-05T10:00:00.000000Z",'
    '"outcome":"success","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"request_id":"req-1","resource":"user:user-1","seq":1,"tenant":"acme","type":"user.logged_in"}'
)


def _reference_event() -> EventEnvelope:
    return new_event(
        event_id=uuid.UUID("3f1c0a52-7d0e-4f57-9a0b-2d9b1f3b6c11"),
        type="user.logged_in",
        tenant="acme",
        actor="user-1",
        action="login",
        resource="user:user-1",
        outcome="success",
        occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        request_id="req-1",
        data={"d": [True, None, 1.5e-7], "c": 1.0, "b": 1, "a": "\u00e9"},
    )


def test_canonical_form_matches_rfc8785_by_hand() -> None:
    # Given an event with unsorted keys, a float that is integral, an exponent and non-ASCII text
    event = _reference_event()

    # When its chain material is canonicalised at seq 1 after genesis
    canonical = canonical_record(event.ledger_fields(), seq=1, prev_hash=GENESIS_HASH)

    # Then it is exactly the hand-written RFC 8785 text, and the hash is its SHA-256
    assert canonical == EXPECTED_CANONICAL.encode()
    expected_hash = hashlib.sha256(EXPECTED_CANONICAL.encode()).hexdigest()
    assert record_hash(event.ledger_fields(), seq=1, prev_hash=GENESIS_HASH) == expected_hash


def test_hash_is_deterministic_and_independent_of_key_order() -> None:
    fields = _reference_event().ledger_fields()
    reordered = dict(reversed(list(fields.items())))
    reordered["data"] = dict(reversed(list(fields["data"].items())))
    assert record_hash(fields, seq=7, prev_hash="ab" * 32) == record_hash(
        reordered, seq=7, prev_hash="ab" * 32
    )


def test_every_hashed_field_and_the_position_change_the_hash() -> None:
    # Given the reference hash
    fields = _reference_event().ledger_fields()
    reference = record_hash(fields, seq=1, prev_hash=GENESIS_HASH)

    # When any single input changes, then the hash changes
    for name in fields:
        changed = fields | {name: {"other": 1} if name == "data" else "other"}
        assert record_hash(changed, seq=1, prev_hash=GENESIS_HASH) != reference, name
    assert record_hash(fields, seq=2, prev_hash=GENESIS_HASH) != reference
    assert record_hash(fields, seq=1, prev_hash="1" * 64) != reference


def test_linked_record_stores_canonical_data_and_recomputes_its_own_hash() -> None:
    # Given a record linked from an event
    record = AuditRecord.link(
        _reference_event(),
        seq=1,
        prev_hash=GENESIS_HASH,
        recorded_at=datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC),
    )

    # Then it stores the canonical data text, and re-reading the stored fields gives the same hash
    assert record.data == '{"a":"\u00e9","b":1,"c":1,"d":[true,null,1.5e-7]}'
    assert record.hash == hashlib.sha256(EXPECTED_CANONICAL.encode()).hexdigest()
    assert record.recomputed_hash() == record.hash
    assert record.recorded_at == "2026-01-05T10:00:01.000000Z"


def test_record_with_unreadable_data_cannot_be_rehashed() -> None:
    record = AuditRecord.link(
        _reference_event(), seq=1, prev_hash=GENESIS_HASH, recorded_at=datetime.now(UTC)
    )
    tampered = replace(record, data="{not json")
    assert tampered.data_object() is None


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(data=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
@example(data={"big": 1e16, "tiny": -0.0, "exp": 1e21})
def test_stored_record_rehashes_identically_for_any_json_data(data: dict[str, object]) -> None:
    # Given any I-JSON data (floats such as 1e16 that print as integers, exponents, unicode, nesting)
    event = _reference_event().model_copy(update={"data": data})

    # When the event is chained and the hash recomputed from the stored text
    record = AuditRecord.link(event, seq=3, prev_hash="c" * 64, recorded_at=datetime.now(UTC))

    # Then the stored text is the canonical form and the recomputed hash matches
    assert record.data == rfc8785.dumps(data).decode()
    assert record.recomputed_hash() == record.hash
