"""Sentence embeddings: the `Embedder` port and its ONNX adapter (onnxruntime + tokenizers + numpy).

The model (all-MiniLM-L6-v2, int8, built by layers/ml/build_model.py) lives in the ML layer at
/opt/echo_model, or wherever ECHO_MODEL_DIR points (tests and local runs: .echo/ml/model).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from echo_retrieval.chunking import TokenizerLike

if TYPE_CHECKING:
    import numpy as np

# The layer's root (/opt on AWS; wherever the offline executor unpacks layers on LocalStack):
# <root>/python/echo_retrieval/embedding.py -> <root>/echo_model.
LAYER_MODEL_DIR = Path(__file__).resolve().parents[2] / "echo_model"
EMBEDDING_VERSION = "1"  # changes when the same model would produce different vectors


class ModelNotFound(RuntimeError):
    """The packaged model is missing: the ML layer is not attached or the model was not built."""


class Embedder(Protocol):
    dimension: int
    model_id: str  # identifies the vectors' space: segments built by another model are refused

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...  # float32 (n, d), L2-normalised


def model_dir() -> Path:
    configured = os.environ.get("ECHO_MODEL_DIR")
    directory = Path(configured) if configured else LAYER_MODEL_DIR
    if not (directory / "model.onnx").exists() or not (directory / "tokenizer.json").exists():
        raise ModelNotFound(f"no model.onnx + tokenizer.json in {directory} (make model; ECHO_MODEL_DIR)")
    return directory


class OnnxEmbedder:
    """Mean-pooled, normalised MiniLM embeddings computed by onnxruntime on the CPU."""

    def __init__(self, directory: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        build = json.loads((directory / "build.json").read_text())
        self.dimension: int = int(build["dimension"])
        self.model_id: str = str(build["model_sha256"])
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer: Any = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(build["max_tokens"]))
        self._tokenizer.no_padding()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # One text per run: dynamic int8 quantization scales activations per run, so a batch would
        # make a text's vector depend on its neighbours (and padding); alone it matches the query path.
        for row, encoding in enumerate(self._tokenizer.encode_batch(list(texts))):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            (vector,) = self._session.run(
                ["sentence_embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            )
            out[row] = vector[0]
        return out


@cache
def default_embedder() -> Embedder:
    """The packaged model, loaded once per process (a warm Lambda keeps it)."""
    threads = os.environ.get("ECHO_EMBED_THREADS")
    return OnnxEmbedder(model_dir(), threads=int(threads) if threads else None)


@cache
def model_tokenizer() -> TokenizerLike:
    """Counts and cuts text in the model's word pieces (no special tokens, no truncation)."""
    from tokenizers import Tokenizer

    tokenizer: Any = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    def split(text: str, max_tokens: int) -> list[str]:
        offsets = tokenizer.encode(text, add_special_tokens=False).offsets
        parts = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            parts.append(text[window[0][0] : window[-1][1]].strip())
        return [part for part in parts if part]

    return TokenizerLike(count, split)
