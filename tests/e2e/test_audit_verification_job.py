"""The asynchronous full verification through the gateway: POST /audit/verifications, the deployed
job function paging through the chain, GET /audit/verifications/{id}; every kind of tampering of
tests/e2e/test_audit_tamper.py is pinned to the same seq as GET /audit/verify."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import AuditApi, wait_for
from tests.e2e.test_audit_tamper import CHAIN_LENGTH, _delete, _item, _put, _rehash, chain  # noqa: F401


def _run_job(audit_api: AuditApi, tenant: str) -> dict[str, Any]:
    response = audit_api.post("/audit/verifications", tenant)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running"

    def finished() -> dict[str, Any] | None:
        polled = audit_api.get(f"/audit/verifications/{started['id']}", tenant)
        assert polled.status_code == 200, polled.text
        body: dict[str, Any] = polled.json()
        return body if body["status"] == "finished" else None

    job: dict[str, Any] = wait_for(finished, timeout=120, interval=1)
    return job


def test_an_intact_chain_verifies_through_the_job_and_is_audited(
    chain: dict[str, Any],  # noqa: F811
    audit_api: AuditApi,
) -> None:
    tenant = chain["tenant"]
    job = _run_job(audit_api, tenant)
    assert job["result"]["ok"] is True
    assert job["last_verified_seq"] >= CHAIN_LENGTH + 1
    # Another tenant does not see it
    other = audit_api.get(f"/audit/verifications/{job['id']}", f"{tenant}-other")
    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")

    # And its start and end are in the tenant's audit trail
    def audited() -> bool:
        types = {item["type"] for item in audit_api.all_events(tenant)}
        return {"audit.verification_started", "audit.verification_finished"} <= types

    wait_for(audited)


def test_modified_record_is_pinned_by_the_job(chain: dict[str, Any], audit_api: AuditApi) -> None:  # noqa: F811
    _put(chain, {**_item(chain, 4), "actor": {"S": "user:mallory"}})
    result = _run_job(audit_api, chain["tenant"])["result"]
    assert (result["ok"], result["first_bad_seq"], result["problem"]) == (False, 4, "hash_mismatch")


def test_deleted_record_is_pinned_by_the_job(chain: dict[str, Any], audit_api: AuditApi) -> None:  # noqa: F811
    _delete(chain, 4)
    result = _run_job(audit_api, chain["tenant"])["result"]
    assert (result["ok"], result["first_bad_seq"], result["problem"]) == (False, 4, "missing_record")


def test_swapped_records_are_pinned_by_the_job(chain: dict[str, Any], audit_api: AuditApi) -> None:  # noqa: F811
    second, third = _item(chain, 3), _item(chain, 4)
    _put(chain, {**third, "seq": {"N": "3"}})
    _put(chain, {**second, "seq": {"N": "4"}})
    result = _run_job(audit_api, chain["tenant"])["result"]
    assert (result["ok"], result["first_bad_seq"]) == (False, 3)


def test_truncated_tail_is_pinned_by_the_job(chain: dict[str, Any], audit_api: AuditApi) -> None:  # noqa: F811
    _delete(chain, 7)
    _delete(chain, 6)
    result = _run_job(audit_api, chain["tenant"])["result"]
    assert (result["ok"], result["first_bad_seq"]) == (False, 6)
    # As for GET /audit/verify: an audited decision appended meanwhile may take seq 6 again
    assert result["problem"] in ("truncated", "checkpoint_mismatch", "missing_record")


@pytest.mark.parametrize("from_seq", [4])
def test_rebuilt_chain_is_pinned_by_the_job(
    chain: dict[str, Any],  # noqa: F811
    audit_api: AuditApi,
    from_seq: int,
) -> None:
    prev_hash = _item(chain, from_seq - 1)["hash"]["S"]
    for seq in range(from_seq, CHAIN_LENGTH + 3):
        item = _item(chain, seq)
        if seq == from_seq:
            item = {**item, "actor": {"S": "user:mallory"}}
        rebuilt = _rehash(item, prev_hash)
        _put(chain, rebuilt)
        prev_hash = rebuilt["hash"]["S"]
    result = _run_job(audit_api, chain["tenant"])["result"]
    assert (result["ok"], result["first_bad_seq"], result["problem"]) == (
        False,
        from_seq,
        "checkpoint_mismatch",
    )
