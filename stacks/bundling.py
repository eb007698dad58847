"""Docker-free bundling of Python Lambda code and layers.

Wheels are installed for the Lambda platform (manylinux x86_64, CPython 3.13) with uv into the
asset folder. Requirements files are fully pinned lock files (`make lock`), installed with
`--no-deps` so a bundle holds exactly what its lock names and nothing the runtime already provides.
"""

from __future__ import annotations

import compileall
import hashlib
import io
import os
import py_compile
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.13"
PLATFORM = "x86_64-manylinux2014"
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", "requirements.in"]
# Functions that import none of the shared layer's libraries (Powertools, pydantic, PynamoDB,
# rfc8785): they carry `echo_shared` in their own bundle and no shared layer (ADR 0017), so they
# ship only what they import.
SHARED_CODE_IN_BUNDLE = frozenset({"authorizer"})
SHARED_CODE = REPO_ROOT / "layers" / "shared" / "echo_shared"
# numpy and onnxruntime ship manylinux_2_28 wheels only; Lambda's python3.13 is Amazon Linux 2023 (glibc 2.34).
LAYER_PLATFORMS = {"ml": "x86_64-manylinux_2_28"}
# Parts of the shared layer's wheels that nothing in Echo imports (not even the parts we use
# lazily): Powertools' Swagger UI assets and the utilities Echo does not use. Removing them pays
# for the precompiled bytecode (docs/cold-starts.md); test_bundles imports every handler.
LAYER_TRIM = {
    "shared": (
        "aws_lambda_powertools/event_handler/openapi/swagger_ui",
        "pydantic/v1",  # pydantic 1's API, imported by nothing here
        "pydantic/mypy.py",  # the mypy plugin
        *(
            f"aws_lambda_powertools/utilities/{unused}"
            for unused in (
                "auth_alpha", "circuit_breaker", "data_masking", "feature_flags",
                "idempotency", "parameters", "streaming",
                "validation",  # only event_handler's schema middleware imports it
            )
        ),
    )
}  # fmt: skip


class BundlingError(RuntimeError):
    """Installing a bundle's pinned dependencies failed."""


def uv_executable() -> str:
    candidates = [os.environ.get("ECHO_UV"), str(REPO_ROOT / ".echo/uv/bin/uv"), shutil.which("uv")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise BundlingError("uv not found: run `make deps` (it installs uv under .echo/uv)")


def install_requirements(requirements: Path, target: Path, *, platform: str = PLATFORM) -> None:
    if not requirements.exists() or not requirements.read_text().strip():
        return
    command = [
        uv_executable(), "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
        "--python-platform", platform, "--python-version", PYTHON_VERSION,
        "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    env = {**os.environ, "UV_CACHE_DIR": str(REPO_ROOT / ".echo/uv-cache")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundlingError(f"installing {requirements} failed:\n{result.stderr}")
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def strip_extensions(folder: Path) -> None:
    """Drop the symbol tables of compiled extensions (cedarpy's is 16 MB, 11 MB stripped): dynamic
    symbols stay, so nothing changes at run time but the size to download and map."""
    strip = shutil.which("strip")
    if strip is None:
        raise BundlingError("binutils' `strip` is needed to bundle (apt-get install binutils)")
    for extension in sorted(folder.rglob("*.so")):
        # Into a new file, then renamed over: uv hard-links installed files to its cache, and strip
        # rewrites in place, which would change the cache (and every venv linked to it) under
        # processes that have the library mapped.
        stripped = extension.with_name(f".{extension.name}.stripped")
        subprocess.run([strip, "--strip-unneeded", "-o", str(stripped), str(extension)], check=True)  # noqa: S603
        stripped.chmod(extension.stat().st_mode)
        stripped.replace(extension)


def precompile(folder: Path) -> None:
    """Ship bytecode: /var/task and /opt are read-only on Lambda, so a bundle without .pyc compiles
    every module it imports on every cold start (about half the import time, docs/cold-starts.md).
    unchecked-hash: the .pyc stay valid whatever timestamps the zip gives the sources. Files that do
    not compile (a wheel's Python 2 leftovers, never imported) are left as they are."""
    if sys.version_info[:2] != tuple(int(part) for part in PYTHON_VERSION.split(".")):
        raise BundlingError(f"bundles are compiled by Python {PYTHON_VERSION}, the functions' runtime")
    compileall.compile_dir(
        str(folder), quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )


def zipped_size(folder: Path) -> int:
    """Bytes of `folder` as a deflated zip (what Lambda's zipped limits count)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.tell()


def unzipped_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _copy_package(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES), dirs_exist_ok=True)


def bundle_function(name: str, out: Path) -> None:
    """A function asset: its package at the root, its locked requirements beside it."""
    source = REPO_ROOT / "functions" / name
    _copy_package(source, out / name)
    (out / name / "requirements.txt").unlink(missing_ok=True)
    if name in SHARED_CODE_IN_BUNDLE:
        _copy_package(SHARED_CODE, out / SHARED_CODE.name)
    install_requirements(source / "requirements.txt", out)
    strip_extensions(out)
    precompile(out)


def bundle_layer(name: str, out: Path) -> None:
    """A layer asset: packages and locked requirements under python/ (which plays /opt/python)."""
    source = REPO_ROOT / "layers" / name
    site = out / "python"
    for package in sorted(p for p in source.iterdir() if (p / "__init__.py").exists()):
        _copy_package(package, site / package.name)
    install_requirements(source / "requirements.txt", site, platform=LAYER_PLATFORMS.get(name, PLATFORM))
    for unused in LAYER_TRIM.get(name, ()):
        # Fails loudly when an upgrade moves a path: revisit the list.
        shutil.rmtree(site / unused) if (site / unused).is_dir() else (site / unused).unlink()
    if name == "ml":
        finish_ml_layer(out)
    strip_extensions(site)
    precompile(site)


def finish_ml_layer(out: Path) -> None:
    """Trim the ML layer and add the built model at /opt/echo_model (layers/ml/layer.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("echo_ml_layer", REPO_ROOT / "layers/ml/layer.py")
    if spec is None or spec.loader is None:
        raise ImportError("layers/ml is incomplete")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.finish_layer(out)


@jsii.implements(cdk.ILocalBundling)
class _LocalBundler:
    def __init__(self, bundle: Callable[[str, Path], None], name: str) -> None:
        self._bundle = bundle
        self._name = name

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        self._bundle(self._name, Path(output_dir))
        return True


def _bundling(local: cdk.ILocalBundling) -> cdk.BundlingOptions:
    # The image is never pulled: local bundling always succeeds or raises.
    return cdk.BundlingOptions(image=cdk.DockerImage.from_registry("echo/no-docker"), local=local)


def function_code(name: str) -> lambda_.Code:
    source = REPO_ROOT / "functions" / name
    if not (source / "handler.py").exists():
        raise BundlingError(f"functions/{name}/handler.py not found")
    # A bundle that carries the shared code changes with it, so its hash covers both sources.
    hashing: dict[str, Any] = (
        {"asset_hash_type": cdk.AssetHashType.CUSTOM, "asset_hash": source_hash([source, SHARED_CODE])}
        if name in SHARED_CODE_IN_BUNDLE
        else {"asset_hash_type": cdk.AssetHashType.SOURCE}
    )
    return lambda_.Code.from_asset(
        str(source),
        exclude=ASSET_EXCLUDES,
        bundling=_bundling(_LocalBundler(bundle_function, name)),
        **hashing,
    )


def source_hash(folders: list[Path]) -> str:
    """SHA-256 over every file's path and content under `folders`, bytecode and caches excluded."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder.parent)
            if path.suffix == ".pyc" or any(
                part.endswith("_cache") or part == "__pycache__" for part in relative.parts
            ):
                continue
            digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def layer_code(name: str) -> lambda_.Code:
    source = REPO_ROOT / "layers" / name
    return lambda_.Code.from_asset(
        str(source),
        exclude=ASSET_EXCLUDES,
        asset_hash_type=cdk.AssetHashType.SOURCE,
        bundling=_bundling(_LocalBundler(bundle_layer, name)),
    )
