"""Record hashing: SHA-256 over the RFC 8785 canonical JSON of the event fields, `seq` and `prev_hash`.

`producer` (ADR 0016) is hashed when the record has one: records chained before it have none and
hash exactly as they did, so existing chains still verify; removing a record's producer changes
its hash like any other edit."""

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64
FIRST_SEQ = 1
LEDGER_FIELDS = (
    "event_id",
    "type",
    "tenant",
    "actor",
    "action",
    "resource",
    "outcome",
    "occurred_at",
    "request_id",
    "data",
)
PRODUCER_FIELD = "producer"


def canonical_record(ledger_fields: Mapping[str, Any], *, seq: int, prev_hash: str) -> bytes:
    material = {name: ledger_fields[name] for name in LEDGER_FIELDS}
    if ledger_fields.get(PRODUCER_FIELD) is not None:
        material[PRODUCER_FIELD] = ledger_fields[PRODUCER_FIELD]
    material["seq"] = seq
    material["prev_hash"] = prev_hash
    return rfc8785.dumps(material)


def record_hash(ledger_fields: Mapping[str, Any], *, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical_record(ledger_fields, seq=seq, prev_hash=prev_hash)).hexdigest()
