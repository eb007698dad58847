"""S3IndexStore against moto: keys, manifest ETags, conditional writes, and the cache on top."""

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_retrieval.chunking import chunk_document
from echo_retrieval.index import InvalidSegment, TenantIndexCache, build_segment
from echo_retrieval.s3_store import ManifestConflict, S3IndexStore
from moto import mock_aws

BUCKET = "echo-test-index"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def _segment(document_id: str, text: str = "Solar panels make electricity.") -> bytes:
    parsed = ParsedDocument("text/plain", None, (TextBlock(text, None, (), "paragraph"),))
    chunks = chunk_document(document_id, parsed)
    rng = np.random.default_rng(len(document_id))
    vectors = rng.normal(size=(len(chunks), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return build_segment(document_id, chunks, vectors, model_id="m")


def test_segments_and_manifest_use_the_documented_keys(s3: Any) -> None:
    store = S3IndexStore(s3, BUCKET)
    store.put_segment("acme", "doc-1", _segment("doc-1"))
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"index/acme/segments/doc-1.seg", "index/acme/manifest.json"}
    manifest, etag = store.read_manifest("acme") or (None, "")
    assert manifest is not None
    assert manifest.segments["doc-1"].chunks == 1
    assert etag.startswith('"')


def test_an_unchanged_manifest_answers_not_modified(s3: Any) -> None:
    store = S3IndexStore(s3, BUCKET)
    store.put_segment("acme", "doc-1", _segment("doc-1"))
    _, etag = store.read_manifest("acme") or (None, "")
    assert store.read_manifest("acme", if_none_match=etag) is None
    store.put_segment("acme", "doc-2", _segment("doc-2"))
    assert store.read_manifest("acme", if_none_match=etag) is not None


def test_a_missing_manifest_is_an_empty_index(s3: Any) -> None:
    store = S3IndexStore(s3, BUCKET)
    manifest, etag = store.read_manifest("nobody") or (None, "x")
    assert manifest is not None
    assert (dict(manifest.segments), etag) == ({}, "")
    assert store.read_manifest("nobody", if_none_match="") is None


def test_delete_removes_the_manifest_entry_and_the_object(s3: Any) -> None:
    store = S3IndexStore(s3, BUCKET)
    store.put_segment("acme", "doc-1", _segment("doc-1"))
    store.put_segment("acme", "doc-2", _segment("doc-2"))
    store.delete_segment("acme", "doc-1")
    manifest, _ = store.read_manifest("acme") or (None, "")
    assert manifest is not None
    assert set(manifest.segments) == {"doc-2"}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "index/acme/segments/doc-1.seg" not in keys
    store.delete_segment("acme", "doc-1")  # deleting twice is harmless (SQS redelivery)


def test_concurrent_writers_lose_no_update(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a writer that reads the manifest, then another writer commits before it writes
    first, second = S3IndexStore(s3, BUCKET), S3IndexStore(s3, BUCKET)
    original = first.read_manifest
    interleaved = {"done": False}

    def read_then_interleave(tenant: str, *, if_none_match: str | None = None) -> Any:
        snapshot = original(tenant, if_none_match=if_none_match)
        if not interleaved["done"]:
            interleaved["done"] = True
            second.put_segment("acme", "doc-b", _segment("doc-b"))
        return snapshot

    monkeypatch.setattr(first, "read_manifest", read_then_interleave)
    # When the first writer commits / Then its conditional write fails once, it retries, both survive
    first.put_segment("acme", "doc-a", _segment("doc-a"))
    manifest, _ = second.read_manifest("acme") or (None, "")
    assert manifest is not None
    assert set(manifest.segments) == {"doc-a", "doc-b"}


def test_a_manifest_that_never_settles_is_a_typed_error(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, other = S3IndexStore(s3, BUCKET), S3IndexStore(s3, BUCKET)
    other.put_segment("acme", "doc-0", _segment("doc-0"))
    original = store.read_manifest
    counter = iter(range(100))

    def always_interleave(tenant: str, *, if_none_match: str | None = None) -> Any:
        snapshot = original(tenant, if_none_match=if_none_match)
        other.put_segment("acme", f"doc-x{next(counter)}", _segment("doc-x"))
        return snapshot

    monkeypatch.setattr(store, "read_manifest", always_interleave)
    monkeypatch.setattr("echo_retrieval.s3_store.time.sleep", lambda _: None)
    with pytest.raises(ManifestConflict):
        store.put_segment("acme", "doc-a", _segment("doc-a"))


def test_bytes_that_are_not_a_segment_are_never_published(s3: Any) -> None:
    with pytest.raises(InvalidSegment):
        S3IndexStore(s3, BUCKET).put_segment("acme", "doc-1", b"not a segment")
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


@pytest.mark.parametrize(
    ("tenant", "document_id"), [("../x", "d"), ("acme", "a/b"), ("", "d"), ("acme", "..")]
)
def test_unsafe_identifiers_are_refused(s3: Any, tenant: str, document_id: str) -> None:
    with pytest.raises(ValueError, match="safe identifier"):
        S3IndexStore(s3, BUCKET).put_segment(tenant, document_id, _segment("d"))


def test_the_cache_reads_through_s3_and_refreshes_by_etag(s3: Any) -> None:
    store = S3IndexStore(s3, BUCKET)
    store.put_segment("acme", "doc-1", _segment("doc-1"))
    cache = TenantIndexCache(store)
    first = cache.index_for("acme")
    assert cache.index_for("acme") is first
    store.put_segment("acme", "doc-2", _segment("doc-2", "Wind turbines also make electricity."))
    second = cache.index_for("acme")
    assert {c.document_id for c in second.chunks} == {"doc-1", "doc-2"}
    store.delete_segment("acme", "doc-1")
    assert {c.document_id for c in cache.index_for("acme").chunks} == {"doc-2"}


def test_segment_keys_outside_the_index_prefix_are_refused(s3: Any) -> None:
    with pytest.raises(ValueError, match="prefix"):
        S3IndexStore(s3, BUCKET).get_segment("tenants/acme/users/u/doc/original.pdf")


def test_compaction_writes_one_snapshot_per_generation_and_prunes_the_previous(s3: Any) -> None:
    from echo_retrieval import snapshot

    store = S3IndexStore(s3, BUCKET)
    for n in range(snapshot.MIN_PENDING):
        store.put_segment("acme", f"d{n:03d}", _segment(f"d{n:03d}", f"Document {n} about solar panels."))
    # When the tenant is compacted
    assert snapshot.compact(store, "acme") == 1
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="index/acme/snapshots/")["Contents"]]
    [first] = listed
    assert first.startswith("index/acme/snapshots/0000000001-")
    state = store.read_manifest("acme")
    assert state is not None
    assert state[0].snapshot is not None
    assert state[0].snapshot.key == first
    # And a cold cache reads the snapshot: every document is searchable
    index = TenantIndexCache(store).index_for("acme")
    assert len(index.document_ids) == snapshot.MIN_PENDING
    # When a document is deleted, the next generation replaces the first one
    store.delete_segment("acme", "d000")
    assert snapshot.compact(store, "acme") == 1
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="index/acme/snapshots/")["Contents"]]
    assert len(listed) == 1
    assert listed[0].startswith("index/acme/snapshots/0000000002-")
    assert "d000" not in snapshot.read_snapshot(store.get_segment(listed[0])).documents


def test_an_uncommitted_snapshot_object_is_swept_by_the_next_compaction(s3: Any) -> None:
    from echo_retrieval import snapshot

    # Given a compacted tenant and a next generation written but never committed (a crash)
    store = S3IndexStore(s3, BUCKET)
    for n in range(snapshot.MIN_PENDING):
        store.put_segment("acme", f"d{n:03d}", _segment(f"d{n:03d}", f"Document {n} about solar panels."))
    snapshot.compact(store, "acme")
    orphan = store.put_snapshot("acme", 2, b"an unfinished generation")
    assert orphan in store.snapshot_generations("acme")
    # When the tenant is compacted again, with nothing else due
    assert snapshot.compact(store, "acme") == 1
    # Then S3 holds only the committed generation 2
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="index/acme/snapshots/")["Contents"]]
    state = store.read_manifest("acme")
    assert state is not None
    assert state[0].snapshot is not None
    assert listed == [state[0].snapshot.key]
    assert listed[0].startswith("index/acme/snapshots/0000000002-")


def test_a_missing_object_is_a_lookup_error(s3: Any) -> None:
    from echo_retrieval.index import IndexObjectMissing

    with pytest.raises(IndexObjectMissing):
        S3IndexStore(s3, BUCKET).get_segment("index/acme/snapshots/0000000009-abc.snap")
