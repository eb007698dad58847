"""Retrieval benchmark (no LocalStack): embedding throughput, hybrid query latency, index load, layer size.

`run()` returns the figures, `render()` the markdown table. Run alone with
`PYTHONPATH=layers/shared:layers/documents:layers/ml:functions .venv/bin/python -m tests.bench retrieval`.

- `embed`: chunks/s of the int8 ONNX model, one thread, on SciFact chunks of up to 200 tokens;
- `query`: in-process `TenantIndex.search` (BM25 + dense + fusion) over 5,000 SciFact documents,
  question embedding included, p50/p95 over 200 claims; baseline: the dense half alone (numpy dot
  over the same matrix + top-k), measured in the same run;
- `index_load`: `TenantIndexCache.index_for` from an in-memory store (parse 5,000 segments, build
  bm25s), and the refresh after one more document (download one segment, rebuild);
- `layer`: the ML layer asset as CDK bundles it, unzipped and zip -9 sizes;
- `query_at_scale`: POST /query's logic (`query.logic.answer_question` with its real adapters on
  moto S3 + DynamoDB, authorization included) over 1,000 and 5,000 ready documents, warm p50/p95
  and the first query, for this tree and for a base revision's tree (`ECHO_BENCH_BASE`, default
  `main`, exported with `git archive`) in the same run: `tests/bench/query_scale_probe.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = 5000
QUERIES = 200
EMBED_SAMPLE = 96
SCALE_SIZES = tuple(int(n) for n in os.environ.get("ECHO_BENCH_QUERY_SIZES", "1000,5000").split(","))
SCALE_QUERIES = 40


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _layer_sizes() -> dict[str, float]:
    from stacks.bundling import bundle_layer

    with tempfile.TemporaryDirectory(prefix="echo-ml-layer-") as scratch:
        out = Path(scratch) / "asset"
        bundle_layer("ml", out)
        files = [f for f in out.rglob("*") if f.is_file()]
        unzipped = sum(f.stat().st_size for f in files)
        archive = Path(scratch) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as handle:
            for f in files:
                handle.write(f, f.relative_to(out))
        model = sum(f.stat().st_size for f in (out / "echo_model").iterdir())
        return {
            "unzipped_mb": round(unzipped / 1e6, 1),
            "zipped_mb": round(archive.stat().st_size / 1e6, 1),
            "model_mb": round(model / 1e6, 1),
        }


def _probe(root: Path, documents: int, data: Path, model: Path) -> dict[str, Any]:
    path = os.pathsep.join(
        [str(root / "layers" / name) for name in ("shared", "documents", "ml")]
        + [str(root / "functions"), str(REPO)]
    )
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "bench" / "query_scale_probe.py"),
            f"--documents={documents}",
            f"--queries={SCALE_QUERIES}",
            f"--data={data}",
        ],
        env={**os.environ, "PYTHONPATH": path, "ECHO_MODEL_DIR": str(model)},
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def query_at_scale(model: Path) -> dict[str, Any]:
    from tests.quality import scifact

    base_rev = os.environ.get("ECHO_BENCH_BASE", "main")
    corpus = scifact.load_corpus()
    texts = [[d.blocks[0].text, d.blocks[1].text] for d in corpus.values() if len(d.blocks) == 2]
    claims = list(scifact.load_claims("validation").texts.values())
    with tempfile.TemporaryDirectory(prefix="echo-query-scale-") as scratch:
        data = Path(scratch) / "scifact.json"
        data.write_text(json.dumps({"documents": texts, "claims": claims}))
        base = Path(scratch) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", base_rev, "layers", "functions"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        return {
            "base_rev": base_rev,
            "sizes": [
                {"current": _probe(REPO, n, data, model), "base": _probe(base, n, data, model)}
                for n in SCALE_SIZES
            ],
        }


def run() -> dict[str, Any]:
    import build_model
    import numpy as np

    os.environ["ECHO_MODEL_DIR"] = str(build_model.build())
    from echo_retrieval.chunking import chunk_document, search_text
    from echo_retrieval.embedding import OnnxEmbedder
    from echo_retrieval.index import TenantIndexCache, build_segment

    from tests.quality import scifact
    from tests.unit.retrieval.fakes import InMemoryIndexStore

    embedder = OnnxEmbedder(build_model.DEFAULT_OUT, threads=1)
    corpus = dict(list(scifact.load_corpus().items())[:DOCUMENTS])
    chunks = {d: chunk_document(d, parsed) for d, parsed in corpus.items()}
    flat = [c for d in corpus for c in chunks[d]]

    sample = [search_text(c) for c in flat[:EMBED_SAMPLE]]
    started = time.perf_counter()
    embedder.embed(sample)
    embed_seconds = time.perf_counter() - started

    # Random unit vectors for the documents: dense cost does not depend on the values, and BM25
    # runs on the real SciFact text (embedding 5,000 documents here would take minutes).
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(flat), embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = InMemoryIndexStore()
    start = 0
    for document_id in corpus:
        end = start + len(chunks[document_id])
        segment = build_segment(
            document_id, chunks[document_id], vectors[start:end], model_id=embedder.model_id
        )
        store.put_segment("bench", document_id, segment)
        start = end
    cache = TenantIndexCache(store)
    started = time.perf_counter()
    index = cache.index_for("bench")
    load_seconds = time.perf_counter() - started
    extra = chunk_document("extra", next(iter(corpus.values())))
    store.put_segment(
        "bench", "extra", build_segment("extra", extra, vectors[: len(extra)], model_id=embedder.model_id)
    )
    started = time.perf_counter()
    index = cache.index_for("bench")
    refresh_seconds = time.perf_counter() - started

    claims = list(scifact.load_claims("validation").texts.values())[:QUERIES]
    allowed = list(corpus)
    hybrid, dense_only = [], []
    for claim in claims:
        started = time.perf_counter()
        vector = embedder.embed([claim])[0]
        index.search(claim, vector, allowed_document_ids=allowed, top_k=10)
        hybrid.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        scores = index.vectors @ vector
        np.argpartition(-scores, 10)[:10]
        dense_only.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(hybrid)
    return {
        "embed": {"chunks_per_s": round(len(sample) / embed_seconds, 1), "chunks": len(sample), "threads": 1},
        "query": {
            "documents": len(corpus),
            "chunks": len(index),
            "p50_ms": round(p50, 2),
            "p95_ms": round(_percentile(hybrid, 0.95), 2),
            "baseline_dense_scan_p50_ms": round(statistics.median(dense_only), 2),
            "ratio_to_baseline": round(p50 / statistics.median(dense_only), 1),
        },
        "index_load": {"cold_s": round(load_seconds, 2), "refresh_one_document_s": round(refresh_seconds, 2)},
        "layer": _layer_sizes(),
        "query_at_scale": query_at_scale(build_model.DEFAULT_OUT),
    }


def render(figures: dict[str, Any]) -> list[str]:
    query, layer = figures["query"], figures["layer"]
    return [
        "## Retrieval (in process, no LocalStack)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| embed, int8 MiniLM, 1 thread | {figures['embed']['chunks_per_s']} chunks/s |",
        f"| hybrid query over {query['documents']:,} documents ({query['chunks']:,} chunks), embed included "
        f"| p50 {query['p50_ms']} ms, p95 {query['p95_ms']} ms |",
        f"| baseline: dense scan alone | p50 {query['baseline_dense_scan_p50_ms']} ms "
        f"(hybrid/baseline {query['ratio_to_baseline']}x) |",
        f"| index load, cold / refresh after one document | {figures['index_load']['cold_s']} s / "
        f"{figures['index_load']['refresh_one_document_s']} s |",
        f"| ML layer (model {layer['model_mb']} MB inside) | {layer['unzipped_mb']} MB unzipped, "
        f"{layer['zipped_mb']} MB zipped |",
        *_scale_rows(figures.get("query_at_scale")),
    ]


def _scale_rows(scale: dict[str, Any] | None) -> list[str]:
    if not scale:
        return []
    rows = []
    for size in scale["sizes"]:
        current, base = size["current"], size["base"]
        rows.append(
            f"| query logic warm (moto, authz included), {current['documents']:,} documents: this tree / "
            f"{scale['base_rev']} | p50 {current['warm_p50_ms']} / {base['warm_p50_ms']} ms, "
            f"p95 {current['warm_p95_ms']} / {base['warm_p95_ms']} ms; first query "
            f"{current['cold_first_query_ms']} / {base['cold_first_query_ms']} ms |"
        )
    return rows
