import numpy as np
import pytest
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_retrieval.chunking import Chunk, chunk_document, search_text
from echo_retrieval.embedding import OnnxEmbedder
from echo_retrieval.fusion import Fusion
from echo_retrieval.index import (
    InvalidManifest,
    InvalidSegment,
    Manifest,
    TenantIndex,
    TenantIndexCache,
    build_segment,
    read_segment,
)

from tests.unit.retrieval.fakes import InMemoryIndexStore

DOCUMENTS = {
    "solar": "Solar panels convert sunlight into electricity using photovoltaic cells.",
    "bread": "Sourdough bread rises because wild yeast and bacteria ferment the dough.",
    "tokyo": "東京は日本の首都であり、人口は約千四百万人です。",
    "secret": "Solar panels on the secret project produce forty megawatts of electricity.",
    "mieten": "Die Mieten in München sind in zehn Jahren um die Hälfte gestiegen.",
    "greek": "Η Ακρόπολη της Αθήνας χτίστηκε τον πέμπτο αιώνα π.Χ.",  # noqa: RUF001
}


def _chunks(document_id: str, text: str) -> list[Chunk]:
    return chunk_document(
        document_id, ParsedDocument("text/plain", None, (TextBlock(text, None, (), "paragraph"),))
    )


def _segment(embedder: OnnxEmbedder, document_id: str, text: str) -> bytes:
    chunks = _chunks(document_id, text)
    return build_segment(
        document_id, chunks, embedder.embed([search_text(c) for c in chunks]), model_id=embedder.model_id
    )


@pytest.fixture
def store(embedder: OnnxEmbedder) -> InMemoryIndexStore:
    store = InMemoryIndexStore()
    for document_id, text in DOCUMENTS.items():
        store.put_segment("t1", document_id, _segment(embedder, document_id, text))
    return store


def _search(
    embedder: OnnxEmbedder, index: TenantIndex, question: str, allowed: list[str], top_k: int = 10
) -> list[str]:
    hits = index.search(question, embedder.embed([question])[0], allowed_document_ids=allowed, top_k=top_k)
    return [hit.chunk.document_id for hit in hits]


def test_segment_round_trip_keeps_chunks_and_vectors(embedder: OnnxEmbedder) -> None:
    data = _segment(embedder, "solar", DOCUMENTS["solar"])
    segment = read_segment(data)
    assert segment.document_id == "solar"
    assert segment.chunks == tuple(_chunks("solar", DOCUMENTS["solar"]))
    assert segment.vectors.shape == (1, embedder.dimension)
    assert segment.model_id == embedder.model_id


@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"ECHOSEG1\xff\xff\xff\x7fxx", b"ECHOSEG1\x03\x00\x00\x00abc"]
)
def test_corrupt_segments_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidSegment):
        read_segment(data)


def test_a_truncated_segment_is_refused(embedder: OnnxEmbedder) -> None:
    with pytest.raises(InvalidSegment, match="sizes"):
        read_segment(_segment(embedder, "solar", DOCUMENTS["solar"])[:-2])


def test_vectors_must_match_the_chunks() -> None:
    chunks = _chunks("d", "one sentence.")
    with pytest.raises(InvalidSegment):
        build_segment("d", chunks, np.zeros((2, 384)))
    with pytest.raises(InvalidSegment):
        build_segment("other", chunks, np.zeros((1, 384)))


def test_search_finds_the_relevant_document(embedder: OnnxEmbedder, store: InMemoryIndexStore) -> None:
    index = TenantIndexCache(store).index_for("t1")
    assert _search(embedder, index, "how does sourdough rise?", list(DOCUMENTS))[0] == "bread"
    assert _search(embedder, index, "東京の人口", list(DOCUMENTS))[0] == "tokyo"
    assert (
        _search(embedder, index, "Wie stark sind die Mieten in München gestiegen?", list(DOCUMENTS))[0]
        == "mieten"
    )
    assert _search(embedder, index, "Πότε χτίστηκε η Ακρόπολη;", list(DOCUMENTS))[0] == "greek"


def test_documents_outside_the_allowed_set_are_never_candidates(
    embedder: OnnxEmbedder, store: InMemoryIndexStore
) -> None:
    # Given the best match for the question is a document the caller may not read
    index = TenantIndexCache(store).index_for("t1")
    question = "secret project solar megawatts"
    assert _search(embedder, index, question, list(DOCUMENTS))[0] == "secret"
    # When the caller may read the others only / Then the secret document never appears
    found = _search(embedder, index, question, ["solar", "bread", "tokyo", "mieten", "greek"], top_k=100)
    assert "secret" not in found
    assert found[0] == "solar"


def test_no_allowed_documents_means_no_hits(embedder: OnnxEmbedder, store: InMemoryIndexStore) -> None:
    index = TenantIndexCache(store).index_for("t1")
    assert _search(embedder, index, "solar", []) == []
    assert _search(embedder, index, "solar", ["unknown-document"]) == []


def test_hits_carry_both_scores_and_a_fused_score(embedder: OnnxEmbedder, store: InMemoryIndexStore) -> None:
    index = TenantIndexCache(store, fusion=Fusion(0.5)).index_for("t1")
    [hit, *_] = index.search(
        "photovoltaic sunlight",
        embedder.embed(["photovoltaic sunlight"])[0],
        allowed_document_ids=list(DOCUMENTS),
        top_k=2,
    )
    assert hit.chunk.document_id == "solar"
    assert hit.bm25 > 0
    assert 0 < hit.dense <= 1
    assert hit.score == pytest.approx(1.0)


def test_cache_refreshes_only_when_the_manifest_changes(
    embedder: OnnxEmbedder, store: InMemoryIndexStore
) -> None:
    cache = TenantIndexCache(store)
    first = cache.index_for("t1")
    assert store.gets == len(DOCUMENTS)
    # When nothing changed / Then the same index is served without a download
    assert cache.index_for("t1") is first
    assert store.gets == len(DOCUMENTS)
    # When one document is added / Then only its segment is downloaded
    store.put_segment("t1", "new", _segment(embedder, "new", "A brand new document about volcanoes."))
    second = cache.index_for("t1")
    assert store.gets == len(DOCUMENTS) + 1
    assert "new" in {c.document_id for c in second.chunks}
    # When a document is deleted / Then it leaves the index without downloads
    store.delete_segment("t1", "secret")
    third = cache.index_for("t1")
    assert store.gets == len(DOCUMENTS) + 1
    assert "secret" not in {c.document_id for c in third.chunks}


def test_tenants_have_separate_indexes(embedder: OnnxEmbedder, store: InMemoryIndexStore) -> None:
    store.put_segment(
        "t2", "other", _segment(embedder, "other", "Another tenant's document about solar panels.")
    )
    cache = TenantIndexCache(store)
    assert {c.document_id for c in cache.index_for("t2").chunks} == {"other"}
    assert "other" not in {c.document_id for c in cache.index_for("t1").chunks}


def test_an_empty_tenant_has_an_empty_index(embedder: OnnxEmbedder) -> None:
    index = TenantIndexCache(InMemoryIndexStore()).index_for("nobody")
    assert len(index) == 0
    assert _search(embedder, index, "anything", ["x"]) == []


def test_a_segment_that_does_not_match_the_manifest_is_refused(
    embedder: OnnxEmbedder, store: InMemoryIndexStore
) -> None:
    store.objects["index/t1/segments/bread.seg"] = _segment(embedder, "bread", "tampered text")
    with pytest.raises(InvalidSegment, match="sha256"):
        TenantIndexCache(store).index_for("t1")


def test_segments_of_different_models_are_not_mixed(embedder: OnnxEmbedder) -> None:
    chunks = _chunks("a", "text")
    one = read_segment(build_segment("a", chunks, np.ones((1, 384)), model_id="m1"))
    two = read_segment(build_segment("b", _chunks("b", "text"), np.ones((1, 384)), model_id="m2"))
    with pytest.raises(InvalidSegment, match="models"):
        TenantIndex([one, two])


@pytest.mark.parametrize("data", [b"[]", b"{}", b'{"version": 1, "segments": {"d": {"key": 1}}}', b"\xff"])
def test_corrupt_manifests_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidManifest):
        Manifest.from_json_bytes(data)
