"""The compacted per-tenant index snapshot: every segment of a tenant in one object, BM25 included.

A snapshot holds, in row order, the chunks of many documents, their embeddings (float16), each
chunk's length in BM25 terms and an inverted BM25 index (per term: the rows that contain it and how
often), so a query function loads one object and scores BM25 at once, with nothing to rebuild.
BM25 statistics that depend on what is live (chunk count, mean length, document frequencies) are
computed at query time over the live rows, so a snapshot plus the few segments written since (the
deltas) and minus the documents deleted since scores exactly like one index built from scratch.

Compaction (run by the embed function after each index write or purge) writes generation g+1 from
generation g plus the pending segments and points the manifest at it with a conditional write; it
is due when a covered document was deleted or re-indexed (its text must leave the snapshot: the
deletion bound), or when the pending segments reach `max(MIN_PENDING, PENDING_SHARE x documents)`.
Layout: `index/{tenant}/snapshots/{generation:010d}.snap`; docs/retrieval.md, ADR 0007.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from echo_retrieval.analysis import ANALYZER_VERSION
from echo_retrieval.chunking import Chunk

if TYPE_CHECKING:
    import numpy as np

    from echo_retrieval.index import Manifest, Segment, SnapshotEntry

SNAPSHOT_MAGIC = b"ECHOSNP1"
MIN_PENDING = 32
PENDING_SHARE = 0.02
MAX_ROUNDS = 4
BM25_K1 = 1.5
BM25_B = 0.75
_ARRAYS = (("vectors", "<f2"), ("lengths", "<u4"), ("offsets", "<u4"), ("rows", "<u4"), ("tf", "<u2"))


class InvalidSnapshot(ValueError):
    """Bytes that are not a snapshot of this format (corrupt, foreign, or of another analyzer)."""


class CompactionConflict(RuntimeError):
    """Compaction did not settle (concurrent writers); the caller's message is retried (SQS)."""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """An inverted BM25 index over rows: for term t, rows[offsets[i]:offsets[i+1]] and their tf."""

    terms: tuple[str, ...]
    vocabulary: Mapping[str, int]
    offsets: np.ndarray  # (V + 1,) int64
    rows: np.ndarray  # (P,) int64, ascending within a term
    tf: np.ndarray  # (P,) float32

    @classmethod
    def of(cls, terms: Sequence[str], term_ids: np.ndarray, rows: np.ndarray, tf: np.ndarray) -> Lexicon:
        """From postings in any order; terms no posting uses are dropped."""
        import numpy as np

        used, dense_ids = np.unique(term_ids, return_inverse=True)
        order = np.lexsort((rows, dense_ids))
        counts = np.bincount(dense_ids, minlength=used.size)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        kept = tuple(terms[int(t)] for t in used)
        return cls(
            kept,
            {t: i for i, t in enumerate(kept)},
            offsets,
            rows[order].astype(np.int64),
            tf[order].astype(np.float32),
        )

    @classmethod
    def from_term_lists(cls, term_lists: Iterable[Sequence[str]], *, first_row: int = 0) -> Lexicon:
        import numpy as np

        vocabulary: dict[str, int] = {}
        ids: list[int] = []
        rows: list[int] = []
        tfs: list[int] = []
        for row, terms in enumerate(term_lists, start=first_row):
            for term, count in Counter(terms).items():
                ids.append(vocabulary.setdefault(term, len(vocabulary)))
                rows.append(row)
                tfs.append(count)
        return cls.of(
            tuple(vocabulary),
            np.asarray(ids, dtype=np.int64),
            np.asarray(rows, dtype=np.int64),
            np.asarray(tfs, dtype=np.float32),
        )

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        found = self.vocabulary.get(term)
        if found is None:
            return None
        start, stop = int(self.offsets[found]), int(self.offsets[found + 1])
        return self.rows[start:stop], self.tf[start:stop]

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term id, row, tf) of every posting."""
        import numpy as np

        term_ids = np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.offsets))
        return term_ids, self.rows, self.tf


def bm25_scores(
    question_terms: Sequence[str],
    lexicons: Sequence[Lexicon],
    *,
    live: np.ndarray,
    lengths: np.ndarray,
) -> np.ndarray:
    """BM25 (Lucene idf, k1 1.5, b 0.75, as bm25s) of every row; dead rows neither score nor count.

    A question term counts as often as it occurs, as bm25s's `get_scores_from_ids` does.
    """
    import numpy as np

    scores = np.zeros(live.size, dtype=np.float32)
    documents = int(live.sum())
    if documents == 0:
        return scores
    mean_length = float(lengths[live].mean()) or 1.0
    norm = (BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / mean_length)).astype(np.float32)
    for term in question_terms:
        found = [p for p in (lexicon.postings(term) for lexicon in lexicons) if p is not None]
        alive = [(rows[live[rows]], tf[live[rows]]) for rows, tf in found]
        frequency = sum(rows.size for rows, _ in alive)
        if frequency == 0:
            continue
        idf = math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
        for rows, tf in alive:
            scores[rows] += np.float32(idf) * tf / (norm[rows] + tf)
    return scores


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A decoded snapshot: documents -> (segment sha256, first row, end row), rows, vectors, BM25."""

    model_id: str
    documents: Mapping[str, tuple[str, int, int]]
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # float32 (rows, dimension)
    lengths: np.ndarray  # float32 (rows,)
    lexicon: Lexicon

    def __len__(self) -> int:
        return len(self.chunks)


def build_snapshot(base: Snapshot | None, keep: Iterable[str], added: Sequence[tuple[Segment, str]]) -> bytes:
    """The documents `keep` of `base` (rows re-numbered) followed by the added segments."""
    import numpy as np

    keeping = set(keep)
    kept = [d for d in (base.documents if base else {}) if d in keeping]
    documents: list[dict[str, object]] = []
    vectors: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    term_ids: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    tfs: list[np.ndarray] = []
    terms: list[str] = list(base.lexicon.terms) if base else []
    models = {s.model_id for s, _ in added if s.chunks} | ({base.model_id} if base and kept else set())
    if len(models) > 1:
        raise InvalidSnapshot("segments of different embedding models in one snapshot")
    next_row = 0
    if base is not None and kept:
        remap = np.full(len(base.chunks), -1, dtype=np.int64)
        for document_id in kept:
            sha, start, stop = base.documents[document_id]
            remap[start:stop] = np.arange(next_row, next_row + stop - start)
            documents.append(_document_header(document_id, sha, base.chunks[start:stop]))
            vectors.append(base.vectors[start:stop])
            lengths.append(base.lengths[start:stop])
            next_row += stop - start
        old_terms, old_rows, old_tf = base.lexicon.flat()
        alive = remap[old_rows] >= 0
        term_ids.append(old_terms[alive])
        rows.append(remap[old_rows[alive]])
        tfs.append(old_tf[alive])
    vocabulary = {t: i for i, t in enumerate(terms)}
    for segment, sha in added:
        documents.append(_document_header(segment.document_id, sha, segment.chunks))
        vectors.append(np.asarray(segment.vectors, dtype=np.float32))
        lengths.append(np.asarray([len(t) for t in segment.terms], dtype=np.float32))
        ids, row_ids, counts = [], [], []
        for row, chunk_terms in enumerate(segment.terms, start=next_row):
            for term, count in Counter(chunk_terms).items():
                if term not in vocabulary:
                    vocabulary[term] = len(terms)
                    terms.append(term)
                ids.append(vocabulary[term])
                row_ids.append(row)
                counts.append(count)
        term_ids.append(np.asarray(ids, dtype=np.int64))
        rows.append(np.asarray(row_ids, dtype=np.int64))
        tfs.append(np.asarray(counts, dtype=np.float32))
        next_row += len(segment.chunks)
    dimension = next((v.shape[1] for v in vectors if v.size), 0)
    lexicon = Lexicon.of(
        terms,
        np.concatenate(term_ids) if term_ids else np.zeros(0, dtype=np.int64),
        np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        np.concatenate(tfs) if tfs else np.zeros(0, dtype=np.float32),
    )
    header = {
        "model_id": models.pop() if models else "",
        "analyzer": ANALYZER_VERSION,
        "dimension": int(dimension),
        "documents": documents,
        "terms": list(lexicon.terms),
    }
    arrays = {
        "vectors": np.concatenate(vectors) if vectors else np.zeros((0, dimension), dtype=np.float32),
        "lengths": np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.float32),
        "offsets": lexicon.offsets,
        "rows": lexicon.rows,
        "tf": np.minimum(lexicon.tf, 65535),
    }
    # zlib level 1: compressing a 5,000-document header at level 6 took half of a compaction.
    body = zlib.compress(json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode(), 1)
    parts = [SNAPSHOT_MAGIC, struct.pack("<I", len(body)), body]
    for name, dtype in _ARRAYS:
        raw = np.ascontiguousarray(arrays[name]).astype(dtype).tobytes()
        parts += [struct.pack("<Q", len(raw)), raw]
    return b"".join(parts)


def _document_header(document_id: str, sha: str, chunks: Sequence[Chunk]) -> dict[str, object]:
    from echo_retrieval.index import chunk_to_json

    return {"document_id": document_id, "sha256": sha, "chunks": [chunk_to_json(c) for c in chunks]}


def read_snapshot(data: bytes) -> Snapshot:
    import numpy as np

    from echo_retrieval.index import chunk_from_json

    if not data.startswith(SNAPSHOT_MAGIC) or len(data) < len(SNAPSHOT_MAGIC) + 4:
        raise InvalidSnapshot("not an Echo snapshot")
    (length,) = struct.unpack_from("<I", data, len(SNAPSHOT_MAGIC))
    position = len(SNAPSHOT_MAGIC) + 4
    try:
        header = json.loads(zlib.decompress(data[position : position + length]))
        if header["analyzer"] != ANALYZER_VERSION:
            raise InvalidSnapshot("snapshot built with another analyzer: compact again")
        position += length
        arrays: dict[str, np.ndarray] = {}
        for name, dtype in _ARRAYS:
            (size,) = struct.unpack_from("<Q", data, position)
            position += 8
            if position + size > len(data):
                raise InvalidSnapshot("snapshot truncated")
            arrays[name] = np.frombuffer(
                data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=position
            )
            position += size
        dimension = int(header["dimension"])
        documents: dict[str, tuple[str, int, int]] = {}
        chunks: list[Chunk] = []
        for entry in header["documents"]:
            document_id = str(entry["document_id"])
            start = len(chunks)
            chunks.extend(chunk_from_json(document_id, c) for c in entry["chunks"])
            documents[document_id] = (str(entry["sha256"]), start, len(chunks))
        terms = tuple(str(t) for t in header["terms"])
    except (zlib.error, ValueError, KeyError, TypeError, struct.error) as error:
        if isinstance(error, InvalidSnapshot):
            raise
        raise InvalidSnapshot("corrupt snapshot") from error
    rows = len(chunks)
    offsets = arrays["offsets"].astype(np.int64)
    if (
        arrays["vectors"].size != rows * dimension
        or arrays["lengths"].size != rows
        or offsets.size != len(terms) + 1
        or int(offsets[-1]) != arrays["rows"].size
        or arrays["tf"].size != arrays["rows"].size
        or (arrays["rows"].size and int(arrays["rows"].max()) >= rows)
    ):
        raise InvalidSnapshot("snapshot sizes do not match")
    lexicon = Lexicon(
        terms,
        {t: i for i, t in enumerate(terms)},
        offsets,
        arrays["rows"].astype(np.int64),
        arrays["tf"].astype(np.float32),
    )
    return Snapshot(
        model_id=str(header["model_id"]),
        documents=documents,
        chunks=tuple(chunks),
        vectors=arrays["vectors"].reshape(rows, dimension).astype(np.float32),
        lengths=arrays["lengths"].astype(np.float32),
        lexicon=lexicon,
    )


class SnapshotStore(Protocol):
    """What compaction needs of an index store (S3IndexStore, the in-memory fake)."""

    def read_manifest(
        self, tenant: str, *, if_none_match: str | None = None
    ) -> tuple[Manifest, str] | None: ...

    def get_segment(self, key: str) -> bytes: ...

    def put_snapshot(self, tenant: str, generation: int, snapshot: bytes) -> str:
        """Write a generation's object under a key of its own (generation + content hash)."""
        ...

    def replace_snapshot(self, tenant: str, entry: SnapshotEntry, *, based_on: int) -> bool:
        """Point the manifest at `entry` if its snapshot generation is still `based_on` (0: none)."""
        ...

    def delete_snapshot(self, key: str) -> None: ...

    def snapshot_generations(self, tenant: str) -> dict[str, int]:
        """Every snapshot object the tenant has (committed or not), key -> generation."""
        ...


def compaction_due(manifest: Manifest) -> bool:
    covered = manifest.snapshot.documents if manifest.snapshot else {}
    if any(manifest.segments.get(d) is None or manifest.segments[d].sha256 != s for d, s in covered.items()):
        return True  # a deleted or re-indexed document's text must leave the snapshot
    pending = sum(1 for d, e in manifest.segments.items() if covered.get(d) != e.sha256)
    return pending >= max(MIN_PENDING, math.ceil(PENDING_SHARE * len(manifest.segments)))


def _orphans(objects: dict[str, int], current: SnapshotEntry | None) -> list[str]:
    """Snapshot objects above the committed generation: a compactor died between writing one and
    committing it, or is still at it. Either may hold text of a document deleted since, so one
    more compaction runs: it commits that generation anew and deletes every object up to it."""
    committed = current.generation if current else 0
    return [key for key, generation in objects.items() if generation > committed]


def compact(store: SnapshotStore, tenant: str, *, max_workers: int = 16) -> int:
    """Compact while due; returns the number of snapshots written. Raises CompactionConflict if
    other writers keep moving the snapshot for MAX_ROUNDS rounds (SQS retries the message)."""
    from echo_retrieval.index import SnapshotEntry, load_verified_segment, segment_sha256

    written = 0
    for _ in range(MAX_ROUNDS):
        state = store.read_manifest(tenant)
        if state is None:
            return written
        manifest = state[0]
        current = manifest.snapshot
        objects = store.snapshot_generations(tenant)
        if not compaction_due(manifest) and not _orphans(objects, current):
            return written
        base = None
        if current is not None:
            data = store.get_segment(current.key)
            if segment_sha256(data) != current.sha256:
                raise InvalidSnapshot("snapshot bytes do not match the manifest's sha256")
            base = read_snapshot(data)
        covered = current.documents if current else {}
        keep = [d for d, s in covered.items() if d in manifest.segments and manifest.segments[d].sha256 == s]
        pending = {d: e for d, e in manifest.segments.items() if covered.get(d) != e.sha256}
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            segments = list(pool.map(lambda e: load_verified_segment(store, e), pending.values()))
        generation = (current.generation if current else 0) + 1
        data = build_snapshot(base, keep, [(s, pending[s.document_id].sha256) for s in segments])
        key = store.put_snapshot(tenant, generation, data)
        documents = {d: covered[d] for d in keep} | {d: e.sha256 for d, e in pending.items()}
        entry = SnapshotEntry(key, segment_sha256(data), generation, documents)
        if store.replace_snapshot(tenant, entry, based_on=current.generation if current else 0):
            written += 1
            for old_key, old_generation in objects.items():
                if old_key != key and old_generation <= generation:
                    store.delete_snapshot(old_key)
        else:
            store.delete_snapshot(key)  # another writer compacted first: look again
    state = store.read_manifest(tenant)
    if state is not None and compaction_due(state[0]):
        raise CompactionConflict(f"the snapshot of tenant {tenant} kept moving during compaction")
    return written
