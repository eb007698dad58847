"""Finish the ML layer asset (called by stacks/bundling.py after the pinned wheels are installed).

Trims what the run time never imports and places the built model at /opt/echo_model (bundling
precompiles every layer afterwards). Kept apart
from build_model.py so that changing the trim list does not change the model's input hash.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType


def _build_model_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "echo_ml_build_model", Path(__file__).with_name("build_model.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("layers/ml is incomplete")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What the ML layer does not need at run time (RETRIEVAL.md): onnxruntime's build-time tools and the
# C API library the Python binding does not load, test suites, type stubs and C headers.
LAYER_TRIM = [
    "onnxruntime/tools",
    "onnxruntime/quantization",
    "onnxruntime/transformers",
    "onnxruntime/datasets",
    "onnxruntime/capi/libonnxruntime.so.*",
    "numpy/_core/tests",
    "numpy/*/tests",
    "numpy/tests",
    "numpy/f2py",
    "numpy/_pyinstaller",
    "numpy/_core/include",
    "numpy/random/lib",
    "**/*.pyi",
    "**/py.typed",
]
LAYER_MODEL_FILES = ("model.onnx", "tokenizer.json", "build.json", "LICENSE", "NOTICE")


def finish_layer(out: Path) -> None:
    """Trim the installed ML layer at out/python and add the model at out/echo_model."""
    site = out / "python"
    for pattern in LAYER_TRIM:
        for path in site.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    model = _build_model_module().build()
    (out / "echo_model").mkdir(exist_ok=True)
    for name in LAYER_MODEL_FILES:
        shutil.copy(model / name, out / "echo_model" / name)
