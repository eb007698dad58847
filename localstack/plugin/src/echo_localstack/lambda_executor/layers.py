"""Layers merged in order into one folder per function version, which plays `/opt`."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path


def opt_root() -> Path:
    return Path(tempfile.gettempdir()) / "lambda" / "echo-opt"


def opt_key(qualified_arn: str, revision_id: str, layer_arns: Sequence[str]) -> str:
    return hashlib.sha256("\n".join([qualified_arn, revision_id, *layer_arns]).encode()).hexdigest()[:20]


def merge_layers(layer_dirs: Sequence[Path], target: Path) -> Path:
    """Later layers overwrite earlier ones' files, as AWS extracts them in order. Atomic: a
    concurrent caller either sees no folder or the finished one."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    staging.mkdir()
    try:
        for layer_dir in layer_dirs:
            shutil.copytree(layer_dir, staging, symlinks=True, dirs_exist_ok=True)
        staging.rename(target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
