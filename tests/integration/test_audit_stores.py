"""The S3 checkpoint store finds the checkpoints around a seq without reading the whole prefix, and
the DynamoDB chain reads a seq range."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from echo_shared.audit import AuditAppender, Checkpoint, checkpoint_key
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.events import EventEnvelope

from tests.integration.conftest import AwsResources

SEQS = (1, 2, 70, 71, 500, 3000)


class CountingS3:
    """Wraps the boto3 client and counts GetObject calls."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.gets = 0

    def get_object(self, **kwargs: Any) -> Any:
        self.gets += 1
        return self._inner.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def store(aws: AwsResources) -> tuple[S3CheckpointStore, CountingS3]:
    client = CountingS3(aws.s3)
    store = S3CheckpointStore(aws.table("CHECKPOINT_BUCKET"), client=client)  # type: ignore[arg-type]
    for seq in SEQS:
        for tenant in ("acme", "acme2"):
            store.put(
                Checkpoint(
                    tenant, seq, "a" * 64, datetime(2026, 1, 5, tzinfo=UTC), "key", "ECDSA_SHA_256", b"s"
                )
            )
    aws.s3.put_object(Bucket=aws.table("CHECKPOINT_BUCKET"), Key="checkpoints/acme/notes.txt", Body=b"x")
    return store, client


@pytest.mark.parametrize(
    ("at_or_below", "expected"),
    [(0, None), (1, 1), (69, 2), (70, 70), (499, 71), (2999, 500), (10**9, 3000)],
)
def test_latest_at_or_below(
    store: tuple[S3CheckpointStore, CountingS3], at_or_below: int, expected: int | None
) -> None:
    s3_store, client = store
    found = s3_store.latest("acme", at_or_below=at_or_below)
    assert (None if found is None else found.key_seq) == expected
    assert client.gets == (0 if expected is None else 1)
    if found is not None:
        assert found.checkpoint is not None
        assert found.checkpoint.tenant == "acme"


@pytest.mark.parametrize(("seq", "expected"), [(1, 1), (3, 70), (72, 500), (3000, 3000), (3001, None)])
def test_first_at_or_above(
    store: tuple[S3CheckpointStore, CountingS3], seq: int, expected: int | None
) -> None:
    s3_store, client = store
    found = s3_store.first_at_or_above("acme", seq)
    assert (None if found is None else found.key_seq) == expected
    assert client.gets == (0 if expected is None else 1)


def test_list_still_returns_every_checkpoint(store: tuple[S3CheckpointStore, CountingS3]) -> None:
    s3_store, _ = store
    assert [entry.key_seq for entry in s3_store.list("acme")] == list(SEQS)
    assert checkpoint_key("acme", 1) == "checkpoints/acme/000000000001.json"


def test_records_between_reads_a_range_across_pages(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    AuditAppender(repo).append_batch([make_event() for _ in range(620)])
    assert [r.seq for r in repo.records_between("acme", 10, 15)] == list(range(10, 16))
    assert [r.seq for r in repo.records_between("acme", 600, None)] == list(range(600, 621))
    assert len(list(repo.records_between("acme", 1, 620))) == 620
