"""The per-tenant hybrid index: immutable per-document segments, a compacted snapshot, a manifest,
and the in-memory index.

A segment holds one document's chunks, their BM25 terms and their embeddings (float16). It is
written once per (re)index of that document and never changed. The manifest lists the live
segments of a tenant and the tenant's snapshot (echo_retrieval.snapshot: many segments compacted
into one object with its BM25 postings). A warm query function keeps a `TenantIndex` per tenant:
the snapshot loaded once, plus the segments written since (deltas), minus the documents deleted
since; it re-reads the manifest by ETag and downloads only what it does not hold. Search restricts
both BM25 and dense scoring to the chunks of the allowed documents before anything is ranked, then
fuses the two normalised scores (see `fusion`).
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import zlib
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from echo_retrieval.analysis import ANALYZER_VERSION, analyze
from echo_retrieval.chunking import Chunk, search_text
from echo_retrieval.fusion import DEFAULT_FUSION, Fusion

if TYPE_CHECKING:
    import numpy as np

    from echo_retrieval.snapshot import Snapshot

SEGMENT_MAGIC = b"ECHOSEG1"
MANIFEST_VERSION = 2
_READABLE_MANIFESTS = {1, 2}


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


def chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    """A chunk as segment and snapshot headers store it (its ids follow from the document's)."""
    return {
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "page": chunk.page,
        "section": list(chunk.section),
        "chunk_hash": chunk.chunk_hash,
    }


def chunk_from_json(document_id: str, raw: Mapping[str, Any]) -> Chunk:
    """The inverse of chunk_to_json; KeyError/TypeError/ValueError on a malformed entry."""
    ordinal = int(raw["ordinal"])
    return Chunk(
        chunk_id=f"{document_id}:{ordinal}",
        document_id=document_id,
        ordinal=ordinal,
        text=str(raw["text"]),
        page=None if raw["page"] is None else int(raw["page"]),
        section=tuple(str(title) for title in raw["section"]),
        chunk_hash=str(raw["chunk_hash"]),
    )


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
        "chunks": [chunk_to_json(c) for c in chunks],
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
        chunks = tuple(chunk_from_json(document_id, c) for c in header["chunks"])
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
class SnapshotEntry:
    """A tenant's current snapshot: its object, sha256, generation and the segments it holds."""

    key: str
    sha256: str
    generation: int
    documents: Mapping[str, str]  # document id -> sha256 of the segment compacted in


@dataclass(frozen=True, slots=True)
class Manifest:
    """The live segments of one tenant, by document id, and the snapshot that compacts them."""

    segments: Mapping[str, SegmentEntry] = field(default_factory=dict)
    snapshot: SnapshotEntry | None = None

    def to_json_bytes(self) -> bytes:
        entries = {
            d: {"key": e.key, "sha256": e.sha256, "chunks": e.chunks} for d, e in self.segments.items()
        }
        raw: dict[str, Any] = {"version": MANIFEST_VERSION, "segments": entries}
        if self.snapshot is not None:
            raw["snapshot"] = {
                "key": self.snapshot.key,
                "sha256": self.snapshot.sha256,
                "generation": self.snapshot.generation,
                "documents": dict(self.snapshot.documents),
            }
        return json.dumps(raw, sort_keys=True).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("version") not in _READABLE_MANIFESTS:
                raise InvalidManifest("unknown manifest version")
            segments = {
                str(document_id): SegmentEntry(str(e["key"]), str(e["sha256"]), int(e["chunks"]))
                for document_id, e in raw["segments"].items()
            }
            found = raw.get("snapshot")
            snapshot = (
                SnapshotEntry(
                    str(found["key"]),
                    str(found["sha256"]),
                    int(found["generation"]),
                    {str(d): str(sha) for d, sha in found["documents"].items()},
                )
                if found is not None
                else None
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, InvalidManifest):
                raise
            raise InvalidManifest("corrupt manifest") from error
        return cls(segments, snapshot)

    def with_segment(self, document_id: str, entry: SegmentEntry) -> Manifest:
        return Manifest({**self.segments, document_id: entry}, self.snapshot)

    def without(self, document_id: str) -> Manifest:
        return Manifest({d: e for d, e in self.segments.items() if d != document_id}, self.snapshot)

    def with_snapshot(self, snapshot: SnapshotEntry) -> Manifest:
        return Manifest(self.segments, snapshot)

    def is_current(self, document_id: str, sha256: str) -> bool:
        entry = self.segments.get(document_id)
        return entry is not None and entry.sha256 == sha256


def segment_sha256(segment: bytes) -> str:
    return hashlib.sha256(segment).hexdigest()


class IndexStore(Protocol):
    """Where a tenant's segments, snapshots and manifest live (S3 in production, a dict in unit tests)."""

    def put_segment(self, tenant: str, document_id: str, segment: bytes) -> None: ...

    def delete_segment(self, tenant: str, document_id: str) -> None: ...

    def read_manifest(self, tenant: str, *, if_none_match: str | None = None) -> tuple[Manifest, str] | None:
        """(manifest, etag), or None when the manifest's ETag still equals if_none_match."""
        ...

    def get_segment(self, key: str) -> bytes:
        """The bytes of a segment or snapshot object; a LookupError if there is none."""
        ...

    def put_snapshot(self, tenant: str, generation: int, snapshot: bytes) -> str: ...

    def replace_snapshot(self, tenant: str, entry: SnapshotEntry, *, based_on: int) -> bool: ...

    def delete_snapshot(self, key: str) -> None: ...

    def snapshot_generations(self, tenant: str) -> dict[str, int]: ...


class IndexObjectMissing(LookupError):
    """No object under that key (deleted by a purge or replaced by a newer snapshot)."""


class SnapshotGone(RuntimeError):
    """The manifest's snapshot object was replaced and removed meanwhile: read the manifest again."""


def load_verified_segment(store: IndexStore | Any, entry: SegmentEntry) -> Segment:
    data = store.get_segment(entry.key)
    if segment_sha256(data) != entry.sha256:
        raise InvalidSegment("segment bytes do not match the manifest's sha256")
    return read_segment(data)


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float  # fused, in [0, 1]
    bm25: float  # raw BM25 score
    dense: float  # cosine similarity


class TenantIndex:
    """The chunks of one tenant in memory: a snapshot (rows 0..n) and delta segments after it, with
    the documents removed since the snapshot masked out. BM25 postings come precomputed from the
    snapshot and are built only for the deltas; statistics are taken over the live rows."""

    def __init__(
        self,
        segments: Sequence[Segment] = (),
        *,
        fusion: Fusion = DEFAULT_FUSION,
        base: Snapshot | None = None,
        base_documents: Collection[str] | None = None,
    ) -> None:
        import numpy as np

        from echo_retrieval.snapshot import Lexicon

        models = {s.model_id for s in segments if s.chunks} | (
            {base.model_id} if base and len(base) else set()
        )
        if len(models) > 1:
            raise InvalidSegment("segments of different embedding models in one index")
        self.model_id = models.pop() if models else ""
        self.fusion = fusion
        base_rows = len(base) if base else 0
        self.chunks: list[Chunk] = list(base.chunks) if base else []
        self._rows: dict[str, np.ndarray] = {}
        live = np.zeros(base_rows, dtype=bool)
        if base is not None:
            wanted = base.documents.keys() if base_documents is None else base_documents
            for document_id in wanted:
                _sha, start, stop = base.documents[document_id]
                self._rows[document_id] = np.arange(start, stop)
                live[start:stop] = True
        start = base_rows
        for s in segments:
            self._rows[s.document_id] = np.arange(start, start + len(s.chunks))
            start += len(s.chunks)
            self.chunks.extend(s.chunks)
        self._blocks: list[np.ndarray] = [base.vectors] if base is not None and base_rows else []
        delta_vectors = [s.vectors for s in segments if s.chunks]
        if delta_vectors:
            self._blocks.append(np.concatenate(delta_vectors).astype(np.float32))
        dimension = self._blocks[0].shape[1] if self._blocks else 0
        self._dimension = dimension
        self._live = np.concatenate([live, np.ones(start - base_rows, dtype=bool)])
        self._live_rows = np.flatnonzero(self._live)
        self._lengths = np.concatenate(
            [base.lengths if base else np.zeros(0, dtype=np.float32)]
            + [np.asarray([len(t) for t in s.terms], dtype=np.float32) for s in segments]
        ).astype(np.float32)
        self._lexicons = ([base.lexicon] if base is not None else []) + [
            Lexicon.from_term_lists((t for s in segments for t in s.terms), first_row=base_rows)
        ]

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def document_ids(self) -> Collection[str]:
        return self._rows.keys()

    @property
    def vectors(self) -> np.ndarray:
        """Every row's embedding (float32); rows of removed documents included, never scored."""
        import numpy as np

        if not self._blocks:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return self._blocks[0] if len(self._blocks) == 1 else np.concatenate(self._blocks)

    def chunks_of(self, document_id: str) -> list[Chunk]:
        """The indexed chunks of one live document, in their order (empty if it holds none)."""
        return [self.chunks[int(row)] for row in self._rows.get(document_id, ())]

    def rows_for(self, allowed_document_ids: Collection[str] | None) -> np.ndarray:
        """The rows of the allowed documents (None: every live document)."""
        import numpy as np

        if allowed_document_ids is None:
            return self._live_rows
        parts = [self._rows[d] for d in allowed_document_ids if d in self._rows]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def scores(self, question: str, query_vector: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BM25 and cosine scores of the given rows only."""
        import numpy as np

        from echo_retrieval.snapshot import bm25_scores

        if rows.size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        # a gather of most rows costs more than the product itself: multiply all, keep the allowed
        if rows.size * 4 > len(self.chunks):
            dense = np.concatenate([block @ query for block in self._blocks])[rows]
        else:
            dense = self.vectors[rows] @ query
        bm25 = bm25_scores(analyze(question), self._lexicons, live=self._live, lengths=self._lengths)[rows]
        return bm25.astype(np.float32), dense.astype(np.float32)

    def search(
        self, question: str, query_vector: Any, *, allowed_document_ids: Collection[str] | None, top_k: int
    ) -> list[Hit]:
        """The top_k chunks of the allowed documents (None: all); nothing else is scored or ranked."""
        import numpy as np

        rows = self.rows_for(allowed_document_ids)
        if rows.size == 0 or top_k <= 0:
            return []
        bm25, dense = self.scores(question, query_vector, rows)
        fused = self.fusion.combine(bm25, dense)
        best = np.argsort(-fused, kind="stable")[:top_k]
        return [Hit(self.chunks[rows[i]], float(fused[i]), float(bm25[i]), float(dense[i])) for i in best]


@dataclass(slots=True)
class _Cached:
    etag: str
    index: TenantIndex
    base: Snapshot | None
    base_entry: SnapshotEntry | None
    deltas: dict[str, tuple[str, Segment]]


class TenantIndexCache:
    """Per-tenant indexes of a warm function, refreshed when the tenant's manifest ETag changes.

    Cold: one snapshot object plus the segments written after it. Warm: a new manifest costs only
    the segments not held yet; a new snapshot generation is loaded when the deltas it would replace
    pass `max_deltas` (otherwise the held snapshot stays valid: removed documents are masked).
    """

    def __init__(
        self,
        store: IndexStore,
        *,
        fusion: Fusion = DEFAULT_FUSION,
        max_workers: int = 16,
        max_deltas: int = 64,
    ) -> None:
        self._store = store
        self._fusion = fusion
        self._max_workers = max_workers
        self._max_deltas = max_deltas
        self._entries: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def index_for(self, tenant: str) -> TenantIndex:
        with self._lock:
            try:
                return self._refresh(tenant)
            except SnapshotGone:  # compacted again between our manifest read and the snapshot's GET
                return self._refresh(tenant, force=True)

    def _refresh(self, tenant: str, *, force: bool = False) -> TenantIndex:
        from echo_retrieval.snapshot import read_snapshot

        cached = None if force else self._entries.get(tenant)
        snapshot = self._store.read_manifest(tenant, if_none_match=cached.etag if cached else None)
        if snapshot is None and cached is not None:
            return cached.index
        manifest, etag = snapshot if snapshot is not None else (Manifest(), "")
        base, base_entry = (cached.base, cached.base_entry) if cached else (None, None)
        known = cached.deltas if cached else {}
        wanted = manifest.snapshot
        if wanted is not None and (base_entry is None or base_entry.key != wanted.key):
            fetches = sum(1 for d, e in manifest.segments.items() if not _held(d, e, base_entry, known))
            if base_entry is None or fetches > self._max_deltas or len(known) > self._max_deltas:
                try:
                    data = self._store.get_segment(wanted.key)
                except LookupError as error:
                    raise SnapshotGone(wanted.key) from error
                if segment_sha256(data) != wanted.sha256:
                    raise InvalidSegment("snapshot bytes do not match the manifest's sha256")
                base, base_entry = read_snapshot(data), wanted
        in_base = {
            d
            for d, sha in (base_entry.documents.items() if base_entry else ())
            if manifest.is_current(d, sha)
        }
        pending = {d: e for d, e in manifest.segments.items() if d not in in_base}
        missing = {d: e for d, e in pending.items() if known.get(d, ("",))[0] != e.sha256}
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            loaded = dict(
                zip(
                    missing,
                    pool.map(lambda e: load_verified_segment(self._store, e), missing.values()),
                    strict=True,
                )
            )
        deltas = {d: (e.sha256, loaded[d] if d in loaded else known[d][1]) for d, e in pending.items()}
        index = TenantIndex(
            [segment for _, segment in deltas.values()],
            fusion=self._fusion,
            base=base,
            base_documents=in_base,
        )
        self._entries[tenant] = _Cached(etag, index, base, base_entry, deltas)
        return index


def _held(
    document_id: str,
    entry: SegmentEntry,
    base: SnapshotEntry | None,
    known: Mapping[str, tuple[str, Segment]],
) -> bool:
    return (base is not None and base.documents.get(document_id) == entry.sha256) or known.get(
        document_id, ("",)
    )[0] == entry.sha256
