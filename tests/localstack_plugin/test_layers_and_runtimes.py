"""Layers merged into a per-version /opt, and Lambda runtimes mapped to runtime venvs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from echo_localstack.lambda_executor.layers import merge_layers, opt_key
from echo_localstack.lambda_executor.runtimes import UnsupportedRuntimeError, resolve_runtime


def layer(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    root = tmp_path / name
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    return root


def test_layers_are_merged_in_order_later_ones_win(tmp_path: Path) -> None:
    first = layer(tmp_path, "first", {"python/shared.py": "first", "python/only_first.py": "1"})
    second = layer(tmp_path, "second", {"python/shared.py": "second", "bin/tool": "t"})

    opt = merge_layers([first, second], tmp_path / "opt" / "v1")

    assert (opt / "python/shared.py").read_text() == "second"
    assert (opt / "python/only_first.py").read_text() == "1"
    assert (opt / "bin/tool").exists()
    assert [p.name for p in (tmp_path / "opt").iterdir()] == ["v1"]  # no staging leftovers


def test_merging_is_idempotent_and_a_function_without_layers_gets_an_empty_opt(tmp_path: Path) -> None:
    target = tmp_path / "opt" / "v2"

    assert merge_layers([], target) == target
    assert list(target.iterdir()) == []
    assert merge_layers([layer(tmp_path, "late", {"python/x.py": ""})], target) == target
    assert list(target.iterdir()) == []


def test_each_version_revision_and_layer_list_gets_its_own_opt() -> None:
    base = opt_key("arn:fn:$LATEST", "rev-1", ["arn:layer:1"])

    assert base == opt_key("arn:fn:$LATEST", "rev-1", ["arn:layer:1"])
    assert base != opt_key("arn:fn:$LATEST", "rev-2", ["arn:layer:1"])
    assert base != opt_key("arn:fn:$LATEST", "rev-1", ["arn:layer:2"])
    assert base != opt_key("arn:fn:1", "rev-1", ["arn:layer:1"])


def test_supported_runtimes_resolve_to_their_venv(tmp_path: Path) -> None:
    (tmp_path / "python3.13" / "bin").mkdir(parents=True)
    (tmp_path / "python3.13" / "bin" / "python").touch()

    installation = resolve_runtime("python3.13", tmp_path)

    assert installation.python == tmp_path / "python3.13" / "bin" / "python"
    assert installation.python_version == "3.13"


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ("nodejs22.x", "Runtime nodejs22.x is not supported"),
        (None, "Runtime (container image) is not supported"),
        ("python3.12", "Runtime python3.12 is not installed"),
    ],
)
def test_unsupported_or_missing_runtimes_are_clear_errors(
    tmp_path: Path, runtime: str | None, message: str
) -> None:
    with pytest.raises(UnsupportedRuntimeError) as raised:
        resolve_runtime(runtime, tmp_path)

    error = json.loads(raised.value.payload)
    assert error["errorType"] == "Runtime.InvalidRuntime"
    assert error["errorMessage"].startswith(message)


def test_a_missing_runtimes_directory_is_a_clear_error() -> None:
    with pytest.raises(UnsupportedRuntimeError, match="ECHO_LAMBDA_RUNTIMES_DIR is not set"):
        resolve_runtime("python3.13", None)
