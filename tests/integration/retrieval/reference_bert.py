"""A plain numpy BERT forward pass over the packaged safetensors: the fp32 reference for the ONNX model."""

from __future__ import annotations

from math import erf, sqrt
from typing import Any

import numpy as np

_erf = np.vectorize(erf, otypes=[np.float64])


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def embed(weights: dict[str, Any], ids: list[int]) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype != np.int64}
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = _layer_norm(
        x + w["embeddings.token_type_embeddings.weight"][0],
        w["embeddings.LayerNorm.weight"],
        w["embeddings.LayerNorm.bias"],
    )
    heads, dim = 12, 32
    for i in range(6):
        p = f"encoder.layer.{i}."

        def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (
            lin(x, f"attention.self.{part}").reshape(n, heads, dim).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / sqrt(dim)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, heads * dim)
        x = _layer_norm(
            lin(context, "attention.output.dense") + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1 + _erf(h / sqrt(2)))
        x = _layer_norm(
            lin(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        )
    mean = x.mean(0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)
