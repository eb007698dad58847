"""Hybrid fusion: a convex combination of the BM25 and dense scores after per-query normalisation.

`minmax` maps each signal's scores over the candidate chunks to [0, 1]; `zscore` standardises them
and squashes with a logistic, which is less sensitive to one outlier score. The method and weight
were tuned on SciFact's train claims (tests/quality; docs/retrieval.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class Fusion:
    weight_dense: float = 0.7  # tuned on SciFact train claims (tests/quality, docs/retrieval.md)
    method: str = "minmax"  # "minmax" | "zscore"

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight_dense <= 1.0 or self.method not in {"minmax", "zscore"}:
            raise ValueError("weight_dense must be in [0, 1] and method minmax or zscore")

    def normalize(self, scores: np.ndarray) -> np.ndarray:
        import numpy as np

        if scores.size == 0:
            return scores
        if self.method == "zscore":
            spread = float(scores.std())
            if spread == 0.0:
                return np.zeros_like(scores)
            return (1.0 / (1.0 + np.exp(-(scores - scores.mean()) / spread))).astype(np.float32)
        low, high = float(scores.min()), float(scores.max())
        if high == low:
            return np.zeros_like(scores)
        return ((scores - low) / (high - low)).astype(np.float32)

    def combine(self, bm25: np.ndarray, dense: np.ndarray) -> np.ndarray:
        return (1.0 - self.weight_dense) * self.normalize(bm25) + self.weight_dense * self.normalize(dense)


DEFAULT_FUSION = Fusion()
