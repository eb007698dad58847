"""Tampering with the deployed audit table is detected by /audit/verify at the exact seq."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from echo_shared.audit.hashing import record_hash

from tests.e2e.conftest import AuditApi, ServiceAccounts, make_event, wait_for

CHAIN_LENGTH = 5


@pytest.fixture
def chain(
    stack: dict[str, Any],
    aws: Callable[[str], Any],
    audit_api: AuditApi,
    accounts: ServiceAccounts,
    publish: Any,
    tenant: str,
) -> dict[str, Any]:
    """A quiet chain whose every record has its own signed checkpoint:

    seq 1 the token event of the test's service account, seq 2..6 our events, seq 7 the audited
    authz decision of the verification that proves the chain sound before tampering. Progress is
    read from the table directly: reading through the API would itself append audited decisions.
    """
    s3, dynamodb = aws("s3"), aws("dynamodb")
    table, bucket = stack["tables"]["audit_chain"], stack["buckets"]["audit_checkpoints"]

    def chained_and_checkpointed(seq: int) -> bool:
        count = dynamodb.query(
            TableName=table,
            KeyConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": tenant}},
            Select="COUNT",
            ConsistentRead=True,
        )["Count"]
        key = f"checkpoints/{tenant}/{seq:012d}"
        return count == seq and bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))

    accounts.token(tenant)
    wait_for(lambda: chained_and_checkpointed(1))
    for seq in range(2, CHAIN_LENGTH + 2):
        publish(make_event(tenant, "document.uploaded", data={"n": seq}))
        wait_for(lambda seq=seq: chained_and_checkpointed(seq))
    verdict = audit_api.verify(tenant)
    assert verdict["ok"] is True
    # The verification's own audited decision (seq 7) may already be chained when the walk reads
    # the chain: the ingest picks events up within tens of milliseconds.
    assert verdict["head_seq"] in (CHAIN_LENGTH + 1, CHAIN_LENGTH + 2)
    wait_for(lambda: chained_and_checkpointed(CHAIN_LENGTH + 2))
    return {"tenant": tenant, "table": table, "dynamodb": dynamodb}


def _item(chain: dict[str, Any], seq: int) -> dict[str, Any]:
    key = {"tenant": {"S": chain["tenant"]}, "seq": {"N": str(seq)}}
    return chain["dynamodb"].get_item(TableName=chain["table"], Key=key, ConsistentRead=True)["Item"]


def _put(chain: dict[str, Any], item: dict[str, Any]) -> None:
    chain["dynamodb"].put_item(TableName=chain["table"], Item=item)


def _delete(chain: dict[str, Any], seq: int) -> None:
    key = {"tenant": {"S": chain["tenant"]}, "seq": {"N": str(seq)}}
    chain["dynamodb"].delete_item(TableName=chain["table"], Key=key)


def _rehash(item: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """What an attacker with write access would do: recompute the record's hash after editing it."""
    fields = {
        name: item[name]["S"]
        for name in (
            "event_id",
            "type",
            "tenant",
            "actor",
            "action",
            "resource",
            "outcome",
            "occurred_at",
            "request_id",
        )
    }
    fields["data"] = json.loads(item["data"]["S"])
    if "producer" in item:  # hashed when present (ADR 0016)
        fields["producer"] = item["producer"]["S"]
    new_hash = record_hash(fields, seq=int(item["seq"]["N"]), prev_hash=prev_hash)
    return {**item, "prev_hash": {"S": prev_hash}, "hash": {"S": new_hash}}


def _verify_range(audit_api: AuditApi, tenant: str, from_seq: int, to_seq: int) -> dict[str, Any]:
    response = audit_api.get("/audit/verify", tenant, from_seq=from_seq, to_seq=to_seq)
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return verdict


def test_modified_record_is_detected_at_its_seq(chain: dict[str, Any], audit_api: AuditApi) -> None:
    item = _item(chain, 4)
    _put(chain, {**item, "actor": {"S": "user:mallory"}})
    verdict = audit_api.verify(chain["tenant"])
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 4
    assert verdict["problem"] == "hash_mismatch"
    ranged = _verify_range(audit_api, chain["tenant"], 3, 5)
    assert (ranged["ok"], ranged["first_bad_seq"], ranged["problem"]) == (False, 4, "hash_mismatch")
    assert _verify_range(audit_api, chain["tenant"], 5, 6)["ok"] is True


def test_deleted_record_is_detected_at_its_seq(chain: dict[str, Any], audit_api: AuditApi) -> None:
    _delete(chain, 4)
    verdict = audit_api.verify(chain["tenant"])
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 4
    assert verdict["problem"] == "missing_record"
    ranged = _verify_range(audit_api, chain["tenant"], 4, 4)
    assert (ranged["ok"], ranged["first_bad_seq"], ranged["problem"]) == (False, 4, "missing_record")


def test_swapped_records_are_detected_at_the_first(chain: dict[str, Any], audit_api: AuditApi) -> None:
    second, third = _item(chain, 3), _item(chain, 4)
    _put(chain, {**third, "seq": {"N": "3"}})
    _put(chain, {**second, "seq": {"N": "4"}})
    verdict = audit_api.verify(chain["tenant"])
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 3
    ranged = _verify_range(audit_api, chain["tenant"], 3, 4)
    assert (ranged["ok"], ranged["first_bad_seq"]) == (False, 3)


def test_truncated_tail_is_detected_by_the_signed_checkpoint(
    chain: dict[str, Any], audit_api: AuditApi
) -> None:
    _delete(chain, 7)
    _delete(chain, 6)
    verdict = audit_api.verify(chain["tenant"])
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 6
    # The verification's own audited decision is appended at once and may land at seq 6 before the
    # walk reads the chain: the new record then disagrees with the checkpoint signed at seq 6.
    assert verdict["problem"] in ("truncated", "checkpoint_mismatch")
    ranged = _verify_range(audit_api, chain["tenant"], 5, 7)
    assert (ranged["ok"], ranged["first_bad_seq"]) == (False, 6)
    assert ranged["problem"] in ("truncated", "checkpoint_mismatch")


def test_rebuilt_chain_with_consistent_hashes_is_detected_by_checkpoints(
    chain: dict[str, Any], audit_api: AuditApi
) -> None:
    # Given an attacker who edits seq 4 and recomputes every hash from there on
    prev_hash = _item(chain, 3)["hash"]["S"]
    for seq in range(4, CHAIN_LENGTH + 3):
        item = _item(chain, seq)
        if seq == 4:
            item = {**item, "actor": {"S": "user:mallory"}}
        rebuilt = _rehash(item, prev_hash)
        _put(chain, rebuilt)
        prev_hash = rebuilt["hash"]["S"]
    # Then the chain is internally consistent but disagrees with the signed checkpoint at seq 4
    verdict = audit_api.verify(chain["tenant"])
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 4
    assert verdict["problem"] == "checkpoint_mismatch"
    # And the range path, reading only the checkpoints it bisects, pins the same seq
    ranged = _verify_range(audit_api, chain["tenant"], 2, 6)
    assert (ranged["ok"], ranged["first_bad_seq"], ranged["problem"]) == (False, 4, "checkpoint_mismatch")


def _integrity_findings(chain: dict[str, Any]) -> list[dict[str, Any]]:
    """The integrity log's findings about this test's tenant (read from the table: no tenant can)."""
    items = chain["dynamodb"].query(
        TableName=chain["table"],
        KeyConditionExpression="tenant = :t",
        ExpressionAttributeValues={":t": {"S": "_integrity"}},
        ConsistentRead=True,
    )["Items"]
    findings = [
        {"type": item["type"]["S"], **json.loads(item["data"]["S"])}
        for item in items
        if item["resource"]["S"] == f"audit-chain/{chain['tenant']}"
    ]
    return findings


def test_rewrite_before_the_next_batch_is_reported_and_not_signed_over(
    chain: dict[str, Any], stack: dict[str, Any], aws: Callable[[str], Any], publish: Any
) -> None:
    # Given the quiet chain, signed at its head (seq 7), and its head rewritten in DynamoDB
    tenant = chain["tenant"]
    head = CHAIN_LENGTH + 2
    _put(chain, {**_item(chain, head), "actor": {"S": "user:mallory"}})

    # When one more event arrives
    publish(make_event(tenant, "document.uploaded", data={"n": head + 1}))

    # Then the ingest reports the rewritten seq in the integrity log
    findings = wait_for(lambda: _integrity_findings(chain))
    assert findings == [
        {
            "type": "audit.tamper_detected",
            "tenant": tenant,
            "problem": "hash_mismatch",
            "first_bad_seq": head,
            # The rewritten record is the checkpointed one: no checkpoint of the segment held
            "checkpoint_seq": None,
            "detail": "stored hash does not match the record's contents",
        }
    ]
    # And the new event is chained, but no checkpoint signs over the bad head
    assert len(_records(chain)) == head + 1
    bucket = stack["buckets"]["audit_checkpoints"]
    listed = aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"checkpoints/{tenant}/")
    signed = sorted(int(entry["Key"].rsplit("/", 1)[1].split(".")[0]) for entry in listed.get("Contents", []))
    assert signed[-1] == head


def _records(chain: dict[str, Any]) -> list[dict[str, Any]]:
    return list(
        chain["dynamodb"].query(
            TableName=chain["table"],
            KeyConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": chain["tenant"]}},
            ConsistentRead=True,
        )["Items"]
    )
