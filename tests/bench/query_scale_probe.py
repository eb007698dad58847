"""One measurement of POST /query's logic at scale, in process, for the retrieval bench.

Run as a script with a source tree's layers and functions on PYTHONPATH (this branch's, or a base
commit's exported tree), so the same seeded tenant is measured with the current code and the code
it replaces, in one bench run. AWS is moto (S3 + DynamoDB, in process): the query path's real
adapters (DynamoDocumentRepository, S3IndexStore, the authz client with the records provider, the
ONNX embedder, the extractive answerer); policies in memory (the baseline). The tenant holds N
ready `internal` documents of alice (SciFact abstracts, chunked by Echo, random unit vectors:
dense cost does not depend on the values); bob, a member, asks SciFact claims.

Prints one JSON line: seeding and compaction seconds, the first (cold) query, warm p50/p95.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TENANT = "bench"
TABLE = "bench-documents"
BUCKET = "bench-index"


class _RecordingBus:
    """The bus the query publishes to: kept here, not imported, so a base tree's ports need no fake."""

    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, event: Any) -> None:
        self.published.append(event)

    def publish_batch(self, events: Any) -> None:
        self.published.extend(events)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _seed(documents: int, texts: list[list[str]], model_id: str, dimension: int) -> list[str]:
    import boto3
    import numpy as np
    from echo_documents.parsed import ParsedDocument, TextBlock
    from echo_retrieval.chunking import chunk_document
    from echo_retrieval.index import build_segment, segment_sha256

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "document_id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "document_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    corpus = [
        ParsedDocument(
            "text/plain",
            None,
            (TextBlock(title, None, (title,), "heading"), TextBlock(abstract, None, (title,), "paragraph")),
        )
        for title, abstract in texts
    ]
    rng = np.random.default_rng(7)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ids = [f"doc-{n:05d}" for n in range(documents)]
    segments: dict[str, dict[str, Any]] = {}
    items = []
    for n, document_id in enumerate(ids):
        chunks = chunk_document(document_id, corpus[n % len(corpus)])
        vectors = rng.normal(size=(len(chunks), dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        segment = build_segment(document_id, chunks, vectors, model_id=model_id)
        key = f"index/{TENANT}/segments/{document_id}.seg"
        s3.put_object(Bucket=BUCKET, Key=key, Body=segment)
        segments[document_id] = {"key": key, "sha256": segment_sha256(segment), "chunks": len(chunks)}
        items.append(
            {
                "tenant": {"S": TENANT},
                "document_id": {"S": document_id},
                "owner": {"S": "alice"},
                "classification": {"S": "internal"},
                "filename": {"S": f"{document_id}.pdf"},
                "object_key": {"S": f"tenants/{TENANT}/users/alice/{document_id}/a.pdf"},
                "status": {"S": "ready"},
                "created_at": {"S": now},
                "updated_at": {"S": now},
                "chunks": {"N": str(len(chunks))},
            }
        )
    for start in range(0, len(items), 25):
        batch: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={TABLE: batch})
    # A version 1 manifest: what both the base commit and this branch read.
    manifest = json.dumps({"version": 1, "segments": segments}, sort_keys=True).encode()
    s3.put_object(Bucket=BUCKET, Key=f"index/{TENANT}/manifest.json", Body=manifest)
    return ids


def measure(documents: int, queries: int, data: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from botocore.config import Config
    from echo_documents.access import ANSWERABLE_STATUSES, DocumentRecordsProvider
    from echo_documents.repository import DynamoDocumentRepository
    from echo_retrieval.answering import ExtractiveAnswerer
    from echo_retrieval.embedding import OnnxEmbedder
    from echo_retrieval.index import TenantIndexCache
    from echo_retrieval.s3_store import S3IndexStore
    from echo_shared.authz import AuthzClient
    from echo_shared.authz.caller import Caller, TokenType
    from echo_shared.timeutil import utc_now
    from moto import mock_aws
    from query.logic import QueryService, Question, answer_question

    from tests.fakes.authz import InMemoryPolicyStore

    embedder = OnnxEmbedder(Path(os.environ["ECHO_MODEL_DIR"]), threads=1)
    claims = data["claims"][: queries + 1]
    bob = Caller(
        "bob", TENANT, TokenType.USER, frozenset({"member"}), frozenset({"documents:read"}), "web", "j"
    )
    with mock_aws():
        started = time.perf_counter()
        _seed(documents, data["documents"], embedder.model_id, embedder.dimension)
        seed_seconds = time.perf_counter() - started
        store = S3IndexStore(boto3.client("s3", config=Config(max_pool_connections=32)), BUCKET)
        compaction_seconds = None
        try:
            from echo_retrieval.snapshot import compact
        except ImportError:  # the base commit has no snapshot: queries load every segment
            pass
        else:
            started = time.perf_counter()
            compact(store, TENANT)  # what the embed function does after its index writes
            compaction_seconds = round(time.perf_counter() - started, 2)
        repository = DynamoDocumentRepository(TABLE)
        publisher = _RecordingBus()
        records = DocumentRecordsProvider(repository, ANSWERABLE_STATUSES)
        # The base commit's QueryService has no `records` (it read records one by one).
        fields = QueryService.__dataclass_fields__
        extra: dict[str, Any] = {"records": records} if "records" in fields else {}
        # Since RequestEvents, one publisher collects the decisions' and the answer's events.
        bus: Any = publisher
        if "events" in fields:
            from echo_shared.events.request_events import RequestEvents

            bus = RequestEvents(publisher)
            extra["events"] = bus
        else:
            extra["publisher"] = publisher
        service = QueryService(
            repository=repository,
            **extra,
            authz=AuthzClient(
                store=InMemoryPolicyStore(),
                entities=records,
                publisher=bus,
                asked_by="service:bench",
            ),
            indexes=TenantIndexCache(store, max_workers=32),
            embedder=embedder,
            answerer=ExtractiveAnswerer(),
            clock=utc_now,
        )
        started = time.perf_counter()
        answer_question(service, bob, Question(claims[0], None, 5), "cold")
        cold_ms = (time.perf_counter() - started) * 1000
        warm: list[float] = []
        for n, claim in enumerate(claims[1:]):
            publisher.published.clear()
            started = time.perf_counter()
            answer_question(service, bob, Question(claim, None, 5), f"warm-{n}")
            warm.append((time.perf_counter() - started) * 1000)
    return {
        "documents": documents,
        "seed_s": round(seed_seconds, 1),
        "compaction_s": compaction_seconds,
        "cold_first_query_ms": round(cold_ms, 1),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(_percentile(warm, 0.95), 1),
        "queries": len(warm),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, required=True)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--data", type=Path, required=True, help="JSON: documents [[title, abstract]], claims"
    )
    arguments = parser.parse_args()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }.items():
        os.environ[name] = value  # an earlier section may have pointed them elsewhere
    os.environ.pop("AWS_ENDPOINT_URL", None)
    data = json.loads(arguments.data.read_text())
    print(json.dumps(measure(arguments.documents, arguments.queries, data)))


if __name__ == "__main__":
    main()
