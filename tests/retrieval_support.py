"""Fixtures shared by the retrieval tiers: the built model (once per machine) and its embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import build_model
import pytest
from echo_retrieval import embedding


@pytest.fixture(scope="session")
def model_directory() -> Iterator[Path]:
    directory = build_model.build()  # a no-op when .echo/ml/model matches its input hash
    with pytest.MonkeyPatch.context() as patch:  # for module-scoped fixtures too
        patch.setenv("ECHO_MODEL_DIR", str(directory))
        yield directory


@pytest.fixture(scope="session")
def embedder(model_directory: Path) -> embedding.OnnxEmbedder:
    return embedding.OnnxEmbedder(model_directory, threads=1)


@pytest.fixture(autouse=True)
def model_env(model_directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECHO_MODEL_DIR", str(model_directory))
    return model_directory
