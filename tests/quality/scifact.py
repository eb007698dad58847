"""SciFact retrieval quality through Echo's own chunking, segments, TenantIndex and search.

Each abstract becomes a ParsedDocument (title heading + abstract paragraph under that section),
is chunked by `chunk_document`, embedded by the packaged ONNX model, written as a segment with
`build_segment`, loaded through `TenantIndexCache` from an in-memory store, and queried with
`TenantIndex.search`. A document's score is its best chunk's (MaxP). Embeddings are cached under
.echo/ml/cache, keyed by the model's sha256 and the chunker and analyzer versions.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_retrieval.chunking import CHUNKER_VERSION, Chunk, chunk_document, search_text
from echo_retrieval.embedding import EMBEDDING_VERSION, Embedder
from echo_retrieval.fusion import Fusion
from echo_retrieval.index import TenantIndex, TenantIndexCache, build_segment

from tests.unit.retrieval.fakes import InMemoryIndexStore

REPO = Path(__file__).resolve().parents[2]
SCIFACT_ZIP = REPO.parent / "shared" / "eval" / "scifact.zip"
CACHE = REPO / ".echo" / "ml" / "cache"
TENANT = "scifact"
CHUNK_DEPTH = 300  # chunks retrieved per claim before MaxP
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.S)


def scifact_zip() -> Path:
    """The data set lies beside the clone (../shared/eval); /work/shared on a developer's machine."""
    for candidate in (SCIFACT_ZIP, Path("/work/shared/eval/scifact.zip")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"SciFact not found at {SCIFACT_ZIP}")


@dataclass(frozen=True)
class Claims:
    texts: dict[str, str]
    relevant: dict[str, set[str]]


def _rows(archive: zipfile.ZipFile, name: str) -> Iterable[dict[str, str]]:
    with archive.open(name) as handle:
        yield from csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8"))


def _abstract(raw: str) -> str:
    # numpy-style list printing without commas: read each string literal (see shared/eval/README.md)
    return " ".join(ast.literal_eval(match.group(0)) for match in _LITERAL.finditer(raw))


def load_corpus() -> dict[str, ParsedDocument]:
    with zipfile.ZipFile(scifact_zip()) as archive:
        corpus = {}
        for row in _rows(archive, "corpus_train.csv"):
            title, abstract = row["title"].strip(), _abstract(row["abstract"])
            blocks = [TextBlock(title, None, (title,), "heading")] if title else []
            if abstract:
                blocks.append(TextBlock(abstract, None, (title,) if title else (), "paragraph"))
            corpus[row["doc_id"]] = ParsedDocument("text/plain", None, tuple(blocks))
    return corpus


def load_claims(split: str) -> Claims:
    texts: dict[str, str] = {}
    relevant: dict[str, set[str]] = {}
    with zipfile.ZipFile(scifact_zip()) as archive:
        for row in _rows(archive, f"claims_{split}.csv"):
            claim_id = row["id"]
            texts[claim_id] = row["claim"]
            docs = relevant.setdefault(claim_id, set())
            docs.update(re.findall(r"\d+", row["cited_doc_ids"]))
            if row["evidence_doc_id"].strip():
                docs.add(row["evidence_doc_id"].strip())
    return Claims(texts, {c: d for c, d in relevant.items() if d})


def _cache_path(embedder: Embedder, kind: str, texts: Sequence[str]) -> Path:
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    name = f"{kind}-{embedder.model_id[:16]}-e{EMBEDDING_VERSION}-c{CHUNKER_VERSION}-{digest}.npy"
    return CACHE / name


def embed_cached(embedder: Embedder, kind: str, texts: Sequence[str]) -> np.ndarray:
    path = _cache_path(embedder, kind, texts)
    if path.exists():
        return np.load(path)
    vectors = embedder.embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def build_index(embedder: Embedder, corpus: dict[str, ParsedDocument]) -> tuple[TenantIndexCache, int]:
    chunks: dict[str, list[Chunk]] = {d: chunk_document(d, parsed) for d, parsed in corpus.items()}
    flat = [c for d in corpus for c in chunks[d]]
    vectors = embed_cached(embedder, "corpus", [search_text(c) for c in flat])
    store = InMemoryIndexStore()
    start = 0
    for document_id, document_chunks in chunks.items():
        end = start + len(document_chunks)
        segment = build_segment(document_id, document_chunks, vectors[start:end], model_id=embedder.model_id)
        store.put_segment(TENANT, document_id, segment)
        start = end
    return TenantIndexCache(store), len(flat)


def ranked_documents(
    index: TenantIndex, question: str, vector: np.ndarray, allowed: Sequence[str]
) -> list[str]:
    ranking: list[str] = []
    seen: set[str] = set()
    for hit in index.search(question, vector, allowed_document_ids=allowed, top_k=CHUNK_DEPTH):
        if hit.chunk.document_id not in seen:
            seen.add(hit.chunk.document_id)
            ranking.append(hit.chunk.document_id)
    return ranking


def ndcg_at_10(ranking: Sequence[str], relevant: set[str]) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranking[:10]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return dcg / ideal


def recall_at_10(ranking: Sequence[str], relevant: set[str]) -> float:
    return len(set(ranking[:10]) & relevant) / len(relevant)


def evaluate(
    index: TenantIndex, claims: Claims, vectors: np.ndarray, fusion: Fusion, allowed: Sequence[str]
) -> dict[str, float]:
    index.fusion = fusion
    ndcg, recall = [], []
    for (claim_id, text), vector in zip(claims.texts.items(), vectors, strict=True):
        if claim_id not in claims.relevant:
            continue
        ranking = ranked_documents(index, text, vector, allowed)
        ndcg.append(ndcg_at_10(ranking, claims.relevant[claim_id]))
        recall.append(recall_at_10(ranking, claims.relevant[claim_id]))
    return {"ndcg@10": float(np.mean(ndcg)), "recall@10": float(np.mean(recall)), "queries": len(ndcg)}
