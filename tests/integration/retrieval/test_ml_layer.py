"""The real ML layer asset, bundled as CDK bundles it, run by a bare Python 3.13 (no venv, no site).

Proves the trimmed layer (locked --no-deps wheels + echo_retrieval + the model at /opt/echo_model)
imports and answers on its own, and stays inside the 150 MB unzipped budget.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.bundling import bundle_layer

BUDGET_BYTES = 150 * 1024 * 1024
SCRIPT = """
import json, sys, time
started = time.perf_counter()
from echo_documents_stub import ParsedDocument, TextBlock
from echo_retrieval.chunking import chunk_document, search_text
from echo_retrieval.embedding import default_embedder
from echo_retrieval.index import TenantIndex, build_segment, read_segment
from echo_retrieval.answering import ExtractiveAnswerer, Passage
embedder = default_embedder()
doc = ParsedDocument("text/plain", None, (TextBlock("Returns are accepted within thirty days of delivery.", None, (), "paragraph"),))
chunks = chunk_document("d1", doc)
segment = read_segment(build_segment("d1", chunks, embedder.embed([search_text(c) for c in chunks]), model_id=embedder.model_id))
index = TenantIndex([segment])
question = "When are returns accepted?"
hits = index.search(question, embedder.embed([question])[0], allowed_document_ids=["d1"], top_k=3)
answer = ExtractiveAnswerer().answer(question, [Passage(1, hits[0].chunk, "policy.pdf")])
print(json.dumps({"answer": answer.text, "cited": answer.cited, "seconds": time.perf_counter() - started,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in {"onnx", "sympy", "tqdm", "scipy", "torch"})}))
"""
STUB = """
from dataclasses import dataclass
@dataclass(frozen=True)
class TextBlock:
    text: str
    page: int | None
    section: tuple
    kind: str
@dataclass(frozen=True)
class ParsedDocument:
    media_type: str
    page_count: int | None
    blocks: tuple
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ml-layer")
    bundle_layer("ml", out)
    return out


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_the_layer_fits_the_budget_and_ships_the_model(layer: Path) -> None:
    assert _size(layer) <= BUDGET_BYTES
    assert {p.name for p in (layer / "echo_model").iterdir()} >= {
        "model.onnx",
        "tokenizer.json",
        "build.json",
        "LICENSE",
    }
    assert not list((layer / "python/onnxruntime/capi").glob("libonnxruntime.so.*"))
    assert not (layer / "python/onnxruntime/quantization").exists()
    assert list((layer / "python/echo_retrieval").rglob("*.pyc"))


def test_a_bare_python_answers_from_the_layer_alone(layer: Path, tmp_path: Path) -> None:
    # Given only the layer (as /opt/python and /opt/echo_model) and a stand-in for the documents layer
    (tmp_path / "echo_documents_stub.py").write_text(STUB)
    bootstrap = f"import sys; sys.path[:0] = [{str(layer / 'python')!r}, {str(tmp_path)!r}]\n"
    # When a Python with no site-packages runs chunk -> embed -> segment -> search -> answer
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap + SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={"ECHO_MODEL_DIR": str(layer / "echo_model"), "ECHO_EMBED_THREADS": "1"},
        check=False,
    )
    # Then it answers with a citation and never imports build-time packages
    assert result.returncode == 0, result.stderr[-2000:]
    output = json.loads(result.stdout)
    assert output["answer"] == "Returns are accepted within thirty days of delivery. [1]"
    assert output["heavy"] == []
