"""Audit verification on the deployed stack: records verified per second.

A fresh tenant's chain of VERIFY_RECORDS records is appended directly (the real appender and
notary against the deployed DynamoDB, S3 and KMS; a checkpoint after every SEGMENT records, as the
ingest signs after each batch). Then:

- `notary_segment`: what the ingest now pays per batch before it signs: verifying a SEGMENT-record
  segment (ms, median of the checkpoints written while building the chain);
- `range_in_process`: `ChainVerifier.verify_range` over the widest range one request may verify
  (MAX_RANGE_RECORDS), and over 1,000 records, called from here: records/s;
- `range_gateway`: `GET /audit/verify?from_seq=&to_seq=` through API Gateway for the same ranges
  (ms, records/s), the number that must stay below the gateway's 29 s;
- `full_gateway`: `GET /audit/verify` of the whole chain, for comparison;
- `job_in_process`: the full-verification job's pages (`run_pages`, pages of PAGE_RECORDS) over the
  whole chain, called from here: records/s;
- `job_gateway`: `POST /audit/verifications`, then polling `GET /audit/verifications/{id}` until
  the deployed job function finished (its queue hops included): records/s.

ECHO_BENCH_VERIFY_RECORDS lowers the size for a quick look.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from echo_shared.audit import MAX_RANGE_RECORDS, AuditAppender, ChainVerifier, Checkpoint, Notary
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.audit.verification_jobs import new_job, run_pages
from echo_shared.events import new_event

from tests.bench.common import contract
from tests.e2e.conftest import ServiceAccounts

VERIFY_RECORDS = int(os.environ.get("ECHO_BENCH_VERIFY_RECORDS") or 12_000)
SEGMENT = 1_000


def _environment(stack: dict[str, Any]) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": stack["endpoint_url"],
        "AWS_DEFAULT_REGION": stack["region"],
        "AWS_REGION": stack["region"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        os.environ[name] = value  # an earlier section may have pointed them elsewhere


def _build_chain(tenant: str, chain: DynamoAuditChainRepository, notary: Notary) -> dict[str, Any]:
    appender = AuditAppender(chain)
    notary_ms: list[float] = []
    started = time.perf_counter()
    head = chain.head(tenant)
    appended = 0 if head is None else head.seq
    while appended < VERIFY_RECORDS:
        size = min(SEGMENT, VERIFY_RECORDS - appended)
        now = datetime.now(UTC)
        appender.append_batch(
            [
                new_event(
                    type="bench.recorded",
                    tenant=tenant,
                    actor="bench",
                    action="record",
                    resource=f"bench/{appended + n}",
                    outcome="success",
                    request_id=f"bench-{appended + n}",
                    data={"i": appended + n},
                    occurred_at=now,
                )
                for n in range(size)
            ]
        )
        head = chain.head(tenant)
        appended = 0 if head is None else head.seq
        signed_at = time.perf_counter()
        outcome = notary.checkpoint(tenant)
        if isinstance(outcome, Checkpoint):
            notary_ms.append((time.perf_counter() - signed_at) * 1000)
    return {
        "records": appended,
        "build_s": round(time.perf_counter() - started, 1),
        "notary_segment": {
            "segment_records": SEGMENT,
            "p50_ms": round(statistics.median(notary_ms), 1) if notary_ms else None,
            "max_ms": round(max(notary_ms), 1) if notary_ms else None,
        },
    }


def _rate(records: int, seconds: float) -> float:
    return round(records / seconds, 1) if seconds else 0.0


def _in_process(verifier: ChainVerifier, tenant: str, from_seq: int, to_seq: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = verifier.verify_range(tenant, from_seq, to_seq)
    elapsed = time.perf_counter() - started
    assert result.ok, result
    return {
        "range": [from_seq, to_seq],
        "checked": result.checked,
        "ms": round(elapsed * 1000),
        "records_per_s": _rate(result.checked, elapsed),
    }


def _gateway(http: httpx.Client, **params: int) -> dict[str, Any]:
    started = time.perf_counter()
    response = http.get("audit/verify", params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    return {
        **({"range": [params["from_seq"], params["to_seq"]]} if params else {}),
        "ok": body["ok"],
        "checked": body["checked"],
        "ms": round(elapsed * 1000),
        "records_per_s": _rate(body["checked"], elapsed),
    }


def _job_in_process(
    verifier: ChainVerifier, chain: DynamoAuditChainRepository, store: S3CheckpointStore, tenant: str
) -> dict[str, Any]:
    started = time.perf_counter()
    job = new_job(tenant, requested_by="client:bench", request_id="bench", chain=chain, checkpoints=store)
    job = run_pages(job, verifier, pages=10**6)
    elapsed = time.perf_counter() - started
    assert job.result is not None, job
    assert job.result.ok, job
    return {
        "records": job.last_verified_seq,
        "pages": job.pages,
        "checked": job.checked,
        "ms": round(elapsed * 1000),
        "records_per_s": _rate(job.last_verified_seq, elapsed),
    }


def _job_gateway(http: httpx.Client) -> dict[str, Any]:
    started = time.perf_counter()
    response = http.post("audit/verifications")
    response.raise_for_status()
    job_id = response.json()["id"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        body = http.get(f"audit/verifications/{job_id}").raise_for_status().json()
        if body["status"] == "finished":
            elapsed = time.perf_counter() - started
            return {
                "ok": body["result"]["ok"],
                "records": body["last_verified_seq"],
                "pages": body["pages"],
                "ms": round(elapsed * 1000),
                "records_per_s": _rate(body["last_verified_seq"], elapsed),
            }
        time.sleep(0.5)
    raise TimeoutError("the verification job did not finish in 10 minutes")


def run() -> dict[str, Any]:
    stack = contract()
    _environment(stack)
    tenant = f"bench-verify-{uuid.uuid4().hex[:8]}"
    token = ServiceAccounts(stack).token(tenant)  # its token event is seq 1 of the chain
    chain = DynamoAuditChainRepository(stack["tables"]["audit_chain"], stack["tables"]["audit_event_ids"])
    deadline = time.monotonic() + 60
    while chain.head(tenant) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    store = S3CheckpointStore(stack["buckets"]["audit_checkpoints"])
    signer = KmsCheckpointSigner(stack["keys"]["checkpoint_signing"])
    built = _build_chain(tenant, chain, Notary(chain, signer, store))
    verifier = ChainVerifier(chain, store, signer)
    widest = (1_000, 1_000 + MAX_RANGE_RECORDS - 1)
    middle = (4_200, 5_199)
    http = httpx.Client(base_url=stack["api_url"], timeout=60, headers={"Authorization": f"Bearer {token}"})
    return {
        **built,
        "max_range_records": MAX_RANGE_RECORDS,
        "range_in_process": [_in_process(verifier, tenant, *middle), _in_process(verifier, tenant, *widest)],
        "range_gateway": [
            _gateway(http, from_seq=middle[0], to_seq=middle[1]),
            _gateway(http, from_seq=widest[0], to_seq=widest[1]),
        ],
        "full_gateway": _gateway(http),
        "job_in_process": _job_in_process(verifier, chain, store, tenant),
        "job_gateway": _job_gateway(http),
    }


def render(figures: dict[str, Any]) -> list[str]:
    lines = [
        "## Audit verification",
        "",
        f"A chain of {figures['records']:,} records checkpointed every {SEGMENT:,} (built in "
        f"{figures['build_s']} s). The ingest's verify-before-sign of a {SEGMENT:,}-record segment: "
        f"p50 {figures['notary_segment']['p50_ms']} ms, max {figures['notary_segment']['max_ms']} ms.",
        "",
        "| verification | range | records checked | ms | records/s |",
        "|---|---|---|---|---|",
    ]
    for label, rows in (
        ("in process", figures["range_in_process"]),
        ("API Gateway", figures["range_gateway"]),
    ):
        for row in rows:
            first, last = row["range"]
            lines.append(
                f"| {label} | {first:,}..{last:,} | {row['checked']:,} | {row['ms']:,} | {row['records_per_s']:,} |"
            )
    full = figures["full_gateway"]
    lines.append(
        f"| API Gateway, whole chain | all | {full['checked']:,} | {full['ms']:,} | {full['records_per_s']:,} |"
    )
    for label, key in (
        ("job, in process", "job_in_process"),
        ("job through API Gateway + queue", "job_gateway"),
    ):
        job = figures.get(key)
        if job:
            lines.append(
                f"| {label} ({job['pages']} pages) | all | {job['records']:,} | {job['ms']:,} | {job['records_per_s']:,} |"
            )
    return lines
