"""Unit tests of localstack/plugin: they run in LocalStack's venv (`python3 localstack/manage.py test`)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

# The project venv has no LocalStack (its boto3 pins conflict): leave these tests to `manage.py test`.
if (
    importlib.util.find_spec("localstack.services") is None
    or importlib.util.find_spec("echo_localstack") is None
):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def runtime_python() -> Path:
    """The python3.13 Lambda runtime venv (awslambdaric + boto3) that manage.py install creates."""
    directory = os.environ.get("ECHO_LAMBDA_RUNTIMES_DIR")
    python = Path(directory or "/nonexistent") / "python3.13" / "bin" / "python"
    if not python.exists():
        pytest.skip("no Lambda runtime venv: run `python3 localstack/manage.py install` and `manage.py test`")
    return python
