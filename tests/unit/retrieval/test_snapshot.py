"""The compacted snapshot: BM25 equal to bm25s, snapshot + deltas - deletions equal to an index built
from scratch, compaction policy (threshold, deletion bound, pruning), and the cache's loads."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_retrieval import snapshot as snap
from echo_retrieval.analysis import analyze
from echo_retrieval.chunking import chunk_document
from echo_retrieval.index import Manifest, TenantIndex, TenantIndexCache, build_segment, read_segment

from tests.unit.retrieval.fakes import InMemoryIndexStore

WORDS = [
    "solar",
    "panel",
    "electricity",
    "harbour",
    "ferry",
    "pier",
    "reactor",
    "kelvin",
    "bread",
    "yeast",
    "dough",
    "glacier",
    "ice",
    "orchard",
    "apple",
    "satellite",
    "orbit",
    "turbine",
    "wind",
    "library",
    "book",
    "vineyard",
    "grape",
    "railway",
    "train",
]
QUESTIONS = [
    "Which pier does the ferry leave from?",
    "solar electricity from panels",
    "wind turbine near the railway",
    "grape harvest in the vineyard orchard",
    "ferry ferry ferry",  # a repeated term counts each time, as in bm25s
]


def _text(n: int) -> str:
    rng = np.random.default_rng(n)
    sentences = [" ".join(rng.choice(WORDS, size=int(rng.integers(4, 14)))) + "." for _ in range(3)]
    return " ".join(sentences)


def _segment(document_id: str, n: int) -> bytes:
    parsed = ParsedDocument("text/plain", None, (TextBlock(_text(n), None, (), "paragraph"),))
    chunks = chunk_document(document_id, parsed)
    rng = np.random.default_rng(1000 + n)
    vectors = rng.normal(size=(len(chunks), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return build_segment(document_id, chunks, vectors, model_id="m")


def _store(count: int, tenant: str = "t1") -> InMemoryIndexStore:
    store = InMemoryIndexStore()
    for n in range(count):
        store.put_segment(tenant, f"d{n:03d}", _segment(f"d{n:03d}", n))
    return store


def _query_vector(question: str) -> np.ndarray:
    rng = np.random.default_rng(len(question))
    vector = rng.normal(size=16).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _hits(index: TenantIndex, question: str, top_k: int = 10) -> list[tuple[str, float]]:
    return [
        (hit.chunk.chunk_id, round(hit.score, 4))
        for hit in index.search(question, _query_vector(question), allowed_document_ids=None, top_k=top_k)
    ]


def _from_scratch(store: InMemoryIndexStore, tenant: str = "t1") -> TenantIndex:
    state = store.read_manifest(tenant)
    assert state is not None
    return TenantIndex([read_segment(store.get_segment(e.key)) for e in state[0].segments.values()])


def test_bm25_scores_equal_bm25s_over_the_same_terms() -> None:
    # Given chunks analysed as the index does
    segments = [read_segment(_segment(f"d{n}", n)) for n in range(40)]
    term_lists = [list(terms) for s in segments for terms in s.terms]
    vocabulary: dict[str, int] = {"": 0}
    ids = [[vocabulary.setdefault(t, len(vocabulary)) for t in terms] for terms in term_lists]
    reference = bm25s.BM25(k1=1.5, b=0.75)
    reference.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
    lexicon = snap.Lexicon.from_term_lists(term_lists)
    lengths = np.asarray([len(t) for t in term_lists], dtype=np.float32)
    live = np.ones(len(term_lists), dtype=bool)
    for question in QUESTIONS:
        terms = analyze(question)
        expected = reference.get_scores_from_ids([vocabulary[t] for t in terms if t in vocabulary])
        # When Echo's own BM25 scores the same question / Then the scores are bm25s's
        ours = snap.bm25_scores(terms, [lexicon], live=live, lengths=lengths)
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_a_snapshot_searches_exactly_like_its_segments() -> None:
    segments = [read_segment(_segment(f"d{n:03d}", n)) for n in range(30)]
    data = snap.build_snapshot(None, [], [(s, f"sha-{s.document_id}") for s in segments])
    from_snapshot = TenantIndex(base=snap.read_snapshot(data))
    from_segments = TenantIndex(segments)
    for question in QUESTIONS:
        assert _hits(from_snapshot, question) == _hits(from_segments, question)


def test_snapshot_plus_deltas_minus_deletions_equals_an_index_from_scratch() -> None:
    # Given a tenant compacted into a snapshot, then three documents added and two deleted
    store = _store(snap.MIN_PENDING)
    assert snap.compact(store, "t1") == 1
    for n in range(100, 103):
        store.put_segment("t1", f"d{n}", _segment(f"d{n}", n))
    store.delete_segment("t1", "d004")
    store.put_segment("t1", "d007", _segment("d007", 700))  # re-indexed with other text
    cache = TenantIndexCache(store)
    index = cache.index_for("t1")
    # Then its documents are the manifest's, and every question ranks and scores as from scratch
    assert set(index.document_ids) == set(store.read_manifest("t1")[0].segments)  # type: ignore[index]
    for question in QUESTIONS:
        assert _hits(index, question) == _hits(_from_scratch(store), question)


def test_compaction_waits_for_enough_pending_segments() -> None:
    store = _store(snap.MIN_PENDING - 1)
    assert snap.compact(store, "t1") == 0
    assert store.snapshot_keys("t1") == []
    store.put_segment("t1", "last", _segment("last", 999))
    assert snap.compact(store, "t1") == 1
    manifest = store.read_manifest("t1")[0]  # type: ignore[index]
    assert manifest.snapshot is not None
    assert manifest.snapshot.generation == 1
    assert set(manifest.snapshot.documents) == set(manifest.segments)
    # Nothing pending: compacting again writes nothing
    assert snap.compact(store, "t1") == 0


def test_a_deleted_document_leaves_the_snapshot_bytes_and_old_generations_are_pruned() -> None:
    # Given a compacted tenant holding a document with a distinctive sentence
    store = _store(snap.MIN_PENDING)
    parsed = ParsedDocument(
        "text/plain", None, (TextBlock("The vault code is zebra-quartz-nine.", None, (), "paragraph"),)
    )
    chunks = chunk_document("vault", parsed)
    store.put_segment(
        "t1", "vault", build_segment("vault", chunks, np.eye(len(chunks), 16, dtype=np.float32), model_id="m")
    )
    snap.compact(store, "t1")
    [first] = store.snapshot_keys("t1")
    assert any("zebra" in c.text for c in snap.read_snapshot(store.objects[first]).chunks)
    # When it is deleted, one compaction is due at once (not waiting for the threshold)
    store.delete_segment("t1", "vault")
    assert snap.compaction_due(store.read_manifest("t1")[0])  # type: ignore[index]
    assert snap.compact(store, "t1") == 1
    # Then the only snapshot left is the new generation, without the document's text
    [second] = store.snapshot_keys("t1")
    assert second != first
    decoded = snap.read_snapshot(store.objects[second])
    assert "vault" not in decoded.documents
    assert not any("zebra" in c.text for c in decoded.chunks)


def test_a_cold_cache_reads_one_snapshot_and_only_the_deltas() -> None:
    store = _store(snap.MIN_PENDING + 10)
    snap.compact(store, "t1")
    store.put_segment("t1", "late", _segment("late", 500))
    store.gets = 0
    cache = TenantIndexCache(store)
    index = cache.index_for("t1")
    assert store.gets == 2  # the snapshot + the one segment written after it
    assert "late" in index.document_ids
    # A warm refresh after one more document downloads that segment only
    store.put_segment("t1", "later", _segment("later", 501))
    cache.index_for("t1")
    assert store.gets == 3


def test_a_warm_cache_keeps_its_snapshot_across_a_small_new_generation() -> None:
    store = _store(snap.MIN_PENDING)
    snap.compact(store, "t1")
    cache = TenantIndexCache(store)
    cache.index_for("t1")
    # When a deletion compacts a new generation (and prunes the one the cache holds)
    store.delete_segment("t1", "d001")
    snap.compact(store, "t1")
    store.gets = 0
    index = cache.index_for("t1")
    # Then nothing is downloaded: the held snapshot masks the deleted document
    assert store.gets == 0
    assert "d001" not in index.document_ids
    for question in QUESTIONS:
        assert _hits(index, question) == _hits(_from_scratch(store), question)


def test_a_snapshot_pruned_between_manifest_and_download_is_read_again() -> None:
    store = _store(snap.MIN_PENDING)
    snap.compact(store, "t1")
    real_get = store.get_segment
    raced = {"done": False}

    def racing_get(key: str) -> bytes:
        if "/snapshots/" in key and not raced["done"]:
            raced["done"] = True  # another compaction lands and prunes this generation first
            store.delete_segment("t1", "d002")
            snap.compact(store, "t1")
        return real_get(key)

    store.get_segment = racing_get  # type: ignore[method-assign]
    index = TenantIndexCache(store).index_for("t1")
    assert "d002" not in index.document_ids
    assert len(index.document_ids) == snap.MIN_PENDING - 1


@pytest.mark.parametrize("data", [b"", b"ECHOSNP1", b"ECHOSNP1\x05\x00\x00\x00abcde", b"not a snapshot"])
def test_corrupt_snapshots_are_refused(data: bytes) -> None:
    with pytest.raises(snap.InvalidSnapshot):
        snap.read_snapshot(data)


def test_a_truncated_snapshot_is_refused() -> None:
    data = snap.build_snapshot(None, [], [(read_segment(_segment("d1", 1)), "sha")])
    with pytest.raises(snap.InvalidSnapshot):
        snap.read_snapshot(data[:-7])


def test_version_one_manifests_still_read() -> None:
    manifest = Manifest.from_json_bytes(
        b'{"version": 1, "segments": {"d": {"key": "k", "sha256": "s", "chunks": 1}}}'
    )
    assert manifest.snapshot is None
    assert list(manifest.segments) == ["d"]


def test_a_snapshot_left_by_a_compactor_that_died_before_committing_is_swept() -> None:
    # Given a compacted tenant, and a compactor that wrote the next generation (holding a document's
    # text) and died before pointing the manifest at it
    store = _store(snap.MIN_PENDING)
    snap.compact(store, "t1")
    [committed] = store.snapshot_keys("t1")
    orphan = store.put_snapshot("t1", 2, store.objects[committed] + b"-unfinished")
    # When one more document is indexed (too few changes for a compaction on their own)
    store.put_segment("t1", "late", _segment("late", 500))
    assert not snap.compaction_due(store.read_manifest("t1")[0])  # type: ignore[index]
    assert snap.compact(store, "t1") == 1
    # Then the orphan is gone, and the only snapshot left is the committed new generation
    [left] = store.snapshot_keys("t1")
    assert orphan not in store.objects
    assert left == store.read_manifest("t1")[0].snapshot.key  # type: ignore[index,union-attr]
    assert left.startswith("index/t1/snapshots/0000000002-")
    # And with no orphan and nothing due, compaction writes nothing
    assert snap.compact(store, "t1") == 0
