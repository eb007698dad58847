"""The per-tenant hybrid index: immutable per-document segments, a manifest, and the in-memory index.

A segment holds one document's chunks, their BM25 terms and their embeddings (float16). It is
written once per (re)index of that document and never changed. The manifest lists the live
segments of a tenant; a warm query function keeps a `TenantIndex` per tenant and refreshes it only
when the manifest's ETag changes, downloading only the segments it does not hold yet. Search
restricts both BM25 and dense scoring to the chunks of the allowed documents before anything is
ranked, then fuses the two normalised scores (see `fusion`).
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from echo_retrieval.analysis import ANALYZER_VERSION, analyze
from echo_retrieval.chunking import Chunk, search_text
from echo_retrieval.fusion import DEFAULT_FUSION, Fusion

if TYPE_CHECKING:
    import numpy as np

SEGMENT_MAGIC = b"ECHOSEG1"
MANIFEST_VERSION = 1


class IndexDataError(ValueError):
    """Base of the index's typed errors."""


class InvalidSegment(IndexDataError):
    """Bytes that are not a segment of this format (corrupt, foreign or of another model)."""


class InvalidManifest(IndexDataError):
    """A manifest that is not JSON of this schema."""


@dataclass(frozen=True, slots=True)
class Segment:
    document_id: str
    model_id: str
    chunks: tuple[Chunk, ...]
    terms: tuple[tuple[str, ...], ...]
    vectors: np.ndarray  # float16 (n, d)


def build_segment(document_id: str, chunks: Sequence[Chunk], vectors: Any, *, model_id: str = "") -> bytes:
    """One document's segment: zlib-compressed JSON header + float16 vectors, hashed by its key."""
    import numpy as np

    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != len(chunks):
        raise InvalidSegment("vectors must be (len(chunks), dimension)")
    if any(chunk.document_id != document_id for chunk in chunks):
        raise InvalidSegment("every chunk must belong to the segment's document")
    header = {
        "document_id": document_id,
        "model_id": model_id,
        "analyzer": ANALYZER_VERSION,
        "dimension": int(array.shape[1]),
        "chunks": [
            {
                "ordinal": c.ordinal,
                "text": c.text,
                "page": c.page,
                "section": list(c.section),
                "chunk_hash": c.chunk_hash,
            }
            for c in chunks
        ],
        "terms": [analyze(search_text(c)) for c in chunks],
    }
    body = zlib.compress(json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    return SEGMENT_MAGIC + struct.pack("<I", len(body)) + body + array.astype("<f2").tobytes()


def read_segment(data: bytes) -> Segment:
    import numpy as np

    if not data.startswith(SEGMENT_MAGIC) or len(data) < len(SEGMENT_MAGIC) + 4:
        raise InvalidSegment("not an Echo segment")
    (length,) = struct.unpack_from("<I", data, len(SEGMENT_MAGIC))
    start = len(SEGMENT_MAGIC) + 4
    try:
        header = json.loads(zlib.decompress(data[start : start + length]))
        document_id = str(header["document_id"])
        dimension = int(header["dimension"])
        if header["analyzer"] != ANALYZER_VERSION:
            raise InvalidSegment("segment built with another analyzer: re-index the document")
        chunks = tuple(
            Chunk(
                chunk_id=f"{document_id}:{int(c['ordinal'])}",
                document_id=document_id,
                ordinal=int(c["ordinal"]),
                text=str(c["text"]),
                page=None if c["page"] is None else int(c["page"]),
                section=tuple(str(title) for title in c["section"]),
                chunk_hash=str(c["chunk_hash"]),
            )
            for c in header["chunks"]
        )
        terms = tuple(tuple(str(term) for term in t) for t in header["terms"])
    except (zlib.error, ValueError, KeyError, TypeError) as error:
        raise InvalidSegment("corrupt segment header") from error
    raw = data[start + length :]
    if len(terms) != len(chunks) or len(raw) != len(chunks) * dimension * 2:
        raise InvalidSegment("segment sizes do not match")
    vectors = np.frombuffer(raw, dtype="<f2").reshape(len(chunks), dimension)
    return Segment(document_id, str(header["model_id"]), chunks, terms, vectors)


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    key: str
    sha256: str
    chunks: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """The live segments of one tenant, by document id."""

    segments: Mapping[str, SegmentEntry] = field(default_factory=dict)

    def to_json_bytes(self) -> bytes:
        entries = {
            d: {"key": e.key, "sha256": e.sha256, "chunks": e.chunks} for d, e in self.segments.items()
        }
        return json.dumps({"version": MANIFEST_VERSION, "segments": entries}, sort_keys=True).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("version") != MANIFEST_VERSION:
                raise InvalidManifest("unknown manifest version")
            segments = {
                str(document_id): SegmentEntry(str(e["key"]), str(e["sha256"]), int(e["chunks"]))
                for document_id, e in raw["segments"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidManifest("corrupt manifest") from error
        return cls(segments)

    def with_segment(self, document_id: str, entry: SegmentEntry) -> Manifest:
        return Manifest({**self.segments, document_id: entry})

    def without(self, document_id: str) -> Manifest:
        return Manifest({d: e for d, e in self.segments.items() if d != document_id})


def segment_sha256(segment: bytes) -> str:
    return hashlib.sha256(segment).hexdigest()


class IndexStore(Protocol):
    """Where a tenant's segments and manifest live (S3 in production, a dict in unit tests)."""

    def put_segment(self, tenant: str, document_id: str, segment: bytes) -> None: ...

    def delete_segment(self, tenant: str, document_id: str) -> None: ...

    def read_manifest(self, tenant: str, *, if_none_match: str | None = None) -> tuple[Manifest, str] | None:
        """(manifest, etag), or None when the manifest's ETag still equals if_none_match."""
        ...

    def get_segment(self, key: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float  # fused, in [0, 1]
    bm25: float  # raw BM25 score
    dense: float  # cosine similarity


class TenantIndex:
    """The chunks of one tenant in memory: a BM25 index (bm25s) and a matrix of embeddings."""

    def __init__(self, segments: Sequence[Segment], *, fusion: Fusion = DEFAULT_FUSION) -> None:
        import bm25s
        import numpy as np

        models = {s.model_id for s in segments if s.chunks}
        if len(models) > 1:
            raise InvalidSegment("segments of different embedding models in one index")
        self.model_id = models.pop() if models else ""
        self.fusion = fusion
        self.segments = {s.document_id: s for s in segments}
        self.chunks: list[Chunk] = [c for s in segments for c in s.chunks]
        self._rows: dict[str, np.ndarray] = {}
        start = 0
        for s in segments:
            self._rows[s.document_id] = np.arange(start, start + len(s.chunks))
            start += len(s.chunks)
        dimension = next((s.vectors.shape[1] for s in segments if s.chunks), 0)
        self.vectors = (
            np.concatenate([s.vectors for s in segments if s.chunks]).astype(np.float32)
            if self.chunks
            else np.zeros((0, dimension), dtype=np.float32)
        )
        self._bm25: Any = None
        if self.chunks:
            vocabulary: dict[str, int] = {"": 0}
            ids = [
                [vocabulary.setdefault(t, len(vocabulary)) for t in terms]
                for s in segments
                for terms in s.terms
            ]
            self._bm25 = bm25s.BM25(k1=1.5, b=0.75)
            self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocabulary), show_progress=False)

    def __len__(self) -> int:
        return len(self.chunks)

    def rows_for(self, allowed_document_ids: Collection[str]) -> np.ndarray:
        import numpy as np

        parts = [self._rows[d] for d in allowed_document_ids if d in self._rows]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def scores(self, question: str, query_vector: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BM25 and cosine scores of the given rows only."""
        import numpy as np

        if rows.size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        # a gather of most rows costs more than the product itself: multiply all, keep the allowed
        dense = (
            (self.vectors @ query)[rows] if rows.size * 4 > len(self.chunks) else self.vectors[rows] @ query
        )
        terms = [self._bm25.vocab_dict[t] for t in analyze(question) if t in self._bm25.vocab_dict]
        if terms:
            mask = np.zeros(len(self.chunks), dtype=np.float32)
            mask[rows] = 1.0
            bm25 = self._bm25.get_scores_from_ids(terms, weight_mask=mask)[rows].astype(np.float32)
        else:
            bm25 = np.zeros(rows.size, dtype=np.float32)
        return bm25, dense.astype(np.float32)

    def search(
        self, question: str, query_vector: Any, *, allowed_document_ids: Collection[str], top_k: int
    ) -> list[Hit]:
        """The top_k chunks of the allowed documents; nothing else is scored or ranked."""
        import numpy as np

        rows = self.rows_for(allowed_document_ids)
        if rows.size == 0 or top_k <= 0:
            return []
        bm25, dense = self.scores(question, query_vector, rows)
        fused = self.fusion.combine(bm25, dense)
        best = np.argsort(-fused, kind="stable")[:top_k]
        return [Hit(self.chunks[rows[i]], float(fused[i]), float(bm25[i]), float(dense[i])) for i in best]


SegmentLoader = Callable[[str], bytes]


class TenantIndexCache:
    """Per-tenant indexes of a warm function, refreshed when the tenant's manifest ETag changes.

    Segments are cached by (document, sha256), so a refresh downloads only new or re-indexed ones.
    """

    def __init__(self, store: IndexStore, *, fusion: Fusion = DEFAULT_FUSION, max_workers: int = 16) -> None:
        self._store = store
        self._fusion = fusion
        self._max_workers = max_workers
        self._entries: dict[str, tuple[str, TenantIndex, dict[str, tuple[str, Segment]]]] = {}
        self._lock = threading.Lock()

    def index_for(self, tenant: str) -> TenantIndex:
        with self._lock:
            cached = self._entries.get(tenant)
            snapshot = self._store.read_manifest(tenant, if_none_match=cached[0] if cached else None)
            if snapshot is None and cached is not None:
                return cached[1]
            if snapshot is None:
                snapshot = (Manifest(), "")
            manifest, etag = snapshot
            known = cached[2] if cached else {}
            wanted = {d: e for d, e in manifest.segments.items() if known.get(d, ("",))[0] != e.sha256}
            with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
                loaded = dict(zip(wanted, pool.map(self._load, wanted.values()), strict=True))
            segments = {
                d: (e.sha256, loaded[d] if d in loaded else known[d][1]) for d, e in manifest.segments.items()
            }
            index = TenantIndex([s for _, s in segments.values()], fusion=self._fusion)
            self._entries[tenant] = (etag, index, segments)
            return index

    def _load(self, entry: SegmentEntry) -> Segment:
        data = self._store.get_segment(entry.key)
        if segment_sha256(data) != entry.sha256:
            raise InvalidSegment("segment bytes do not match the manifest's sha256")
        return read_segment(data)
