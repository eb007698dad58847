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
    feedback_documents: int = 0  # dense pseudo-relevance feedback: the fused top documents used (0: off)
    feedback_weight: float = 0.0  # alpha in q' = normalise(q + alpha * mean of their best chunks' vectors)

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight_dense <= 1.0 or self.method not in {"minmax", "zscore"}:
            raise ValueError("weight_dense must be in [0, 1] and method minmax or zscore")
        if self.feedback_documents < 0 or self.feedback_weight < 0.0:
            raise ValueError("feedback_documents and feedback_weight must not be negative")

    @property
    def uses_feedback(self) -> bool:
        return self.feedback_documents > 0 and self.feedback_weight > 0.0

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

    def feedback_query(self, query: np.ndarray, feedback: np.ndarray) -> np.ndarray:
        """Rocchio on the query vector: moved toward the mean of the feedback chunks' vectors, unit length."""
        import numpy as np

        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if feedback.shape[0] == 0 or not self.uses_feedback:
            return query
        moved = query + self.feedback_weight * feedback.astype(np.float32).mean(axis=0)
        norm = float(np.linalg.norm(moved))
        return (moved / norm).astype(np.float32) if norm > 0.0 else query


DEFAULT_FUSION = Fusion()
