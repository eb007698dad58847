"""Resolve each bundle's `requirements.in` into a fully pinned `requirements.txt` lock (`make lock`).

Bundles are installed with `--no-deps` from these locks, so a lock lists every transitive package
except those the Lambda runtime provides (boto3 and its dependencies) and, for functions, those
already in the shared layer (which is on their import path at run time).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stacks.bundling import LAYER_PLATFORMS, PLATFORM, PYTHON_VERSION, REPO_ROOT, uv_executable

RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]
SHARED_LAYER = REPO_ROOT / "layers/shared"
ML_LAYER = REPO_ROOT / "layers/ml"  # its requirements.in names every package it needs (locked --no-deps)
CEDAR_LAYER = REPO_ROOT / "layers/cedar"  # beside the shared layer in functions that decide


def locked_names(lock: Path) -> list[str]:
    names = []
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==", line)
        if match:
            names.append(match.group(1).lower())
    return names


def compile_lock(
    bundle: Path, *, exclude: list[str], constraints: Path | None, no_deps: bool = False
) -> None:
    source = bundle / "requirements.in"
    if not source.exists():
        return
    command = [
        uv_executable(), "pip", "compile", "--quiet", str(source), "-o", str(bundle / "requirements.txt"),
        "--python-platform", LAYER_PLATFORMS.get(bundle.name, PLATFORM), "--python-version", PYTHON_VERSION,
        "--only-binary", ":all:",
        "--no-header", "--generate-hashes",
    ]  # fmt: skip
    for name in exclude:
        command += ["--no-emit-package", name]
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    if no_deps:
        command.append("--no-deps")
    subprocess.run(command, check=True)  # noqa: S603
    print(f"locked {bundle.relative_to(REPO_ROOT)}/requirements.txt")


def main() -> None:
    compile_lock(SHARED_LAYER, exclude=RUNTIME_PROVIDED, constraints=None)
    compile_lock(ML_LAYER, exclude=RUNTIME_PROVIDED, constraints=None, no_deps=True)
    shared = locked_names(SHARED_LAYER / "requirements.txt")
    compile_lock(
        CEDAR_LAYER, exclude=RUNTIME_PROVIDED + shared, constraints=SHARED_LAYER / "requirements.txt"
    )
    for function in sorted((REPO_ROOT / "functions").iterdir()):
        if function.is_dir():
            compile_lock(
                function, exclude=RUNTIME_PROVIDED + shared, constraints=SHARED_LAYER / "requirements.txt"
            )


if __name__ == "__main__":
    main()
