"""Lambda runtime name -> the venv that plays AWS's base image for it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

RUNTIMES_DIR_ENV = "ECHO_LAMBDA_RUNTIMES_DIR"
SUPPORTED_RUNTIMES = ("python3.12", "python3.13")


class UnsupportedRuntimeError(Exception):
    """Carries the AWS-shaped error payload an invoke then returns."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.payload = json.dumps({"errorType": "Runtime.InvalidRuntime", "errorMessage": message}).encode()


@dataclass(frozen=True)
class RuntimeInstallation:
    runtime: str
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")


def runtimes_dir() -> Path | None:
    value = os.environ.get(RUNTIMES_DIR_ENV)
    return Path(value) if value else None


def resolve_runtime(runtime: str | None, directory: Path | None) -> RuntimeInstallation:
    if runtime not in SUPPORTED_RUNTIMES:
        raise UnsupportedRuntimeError(
            f"Runtime {runtime or '(container image)'} is not supported by Echo's local Lambda executor; "
            f"supported: {', '.join(SUPPORTED_RUNTIMES)}"
        )
    if directory is None:
        raise UnsupportedRuntimeError(
            f"{RUNTIMES_DIR_ENV} is not set: start LocalStack with localstack/manage.py"
        )
    installation = RuntimeInstallation(runtime, directory / runtime)
    if not installation.python.exists():
        raise UnsupportedRuntimeError(
            f"Runtime {runtime} is not installed under {directory} (run localstack/manage.py install)"
        )
    return installation
