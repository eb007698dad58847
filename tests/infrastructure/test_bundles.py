"""Real bundles, imported by a bare Lambda-like interpreter: a missing dependency fails here.

The interpreter is the offline runtime's python3.13 venv (awslambdaric + boto3 only, like AWS's base
image), created by `localstack/manage.py install`. Only the bundle and the layer are on its path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.bundling import (
    REPO_ROOT,
    bundle_function,
    bundle_layer,
    source_hash,
    unzipped_size,
    zipped_size,
)
from stacks.layers import CEDAR_FUNCTIONS, extra_layers, layer_names

RUNTIME_PYTHON = Path(
    os.environ.get("ECHO_STATE_DIR", REPO_ROOT / ".echo"), "localstack/runtimes/python3.13/bin/python"
)
FUNCTIONS = sorted(p.name for p in (REPO_ROOT / "functions").iterdir() if (p / "handler.py").exists())
SIZE_BUDGET_BYTES = 50 * 1024 * 1024  # AWS's zipped limit per function, layers included
# Functions with the ML layer are deployed through S3 (CDK assets), where AWS's limit is 250 MB
# unzipped with layers; Echo's budget for them is 150 MB unzipped (issue 11).
ML_UNZIPPED_BUDGET_BYTES = 150 * 1024 * 1024


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layer")
    bundle_layer("shared", out)
    return out


@pytest.fixture(scope="module")
def other_layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every layer besides the shared one (cedar, documents, ml), bundled once."""
    built = {}
    for name in sorted({name for function in FUNCTIONS for name in extra_layers(function)}):
        built[name] = tmp_path_factory.mktemp(f"layer-{name}")
        bundle_layer(name, built[name])
    return built


def test_runtime_interpreter_is_provisioned() -> None:
    assert RUNTIME_PYTHON.exists(), "run `python3 localstack/manage.py install` (make test does)"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_imports_from_its_bundle_and_layer_only(
    function: str, layer: Path, other_layers: dict[str, Path], tmp_path: Path
) -> None:
    # Given the function bundled exactly as CDK bundles it, with the layers CDK attaches
    bundle_function(function, tmp_path)
    layers = [layer if name == "shared" else other_layers[name] for name in layer_names(function)]
    # When a bare runtime imports the handler with only bundle + layer on the path
    result = subprocess.run(
        [
            str(RUNTIME_PYTHON),
            "-c",
            f"import sys, {function}.handler as h; assert callable(h.lambda_handler); "
            "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))",
        ],
        cwd=tmp_path,
        env={
            "PYTHONPATH": ":".join([str(tmp_path), *(str(each / "python") for each in layers)]),
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it imports, it imports every package the shared layer holds (a function that needs none
    # of its libraries carries no shared layer: SHARED_CODE_IN_BUNDLE), and function + layers stay
    # inside the size budget
    assert result.returncode == 0, result.stderr
    if "shared" in layer_names(function):
        loaded = set(result.stdout.split())
        assert _packages(layer / "python") <= loaded, _packages(layer / "python") - loaded
    if "ml" in extra_layers(function):
        assert (
            unzipped_size(tmp_path) + sum(unzipped_size(each) for each in layers) < ML_UNZIPPED_BUDGET_BYTES
        )
    else:
        assert zipped_size(tmp_path) + sum(zipped_size(each) for each in layers) < SIZE_BUDGET_BYTES


def _packages(site: Path) -> set[str]:
    """The importable top-level names a layer's site directory holds."""
    return {
        path.name.removesuffix(".py")
        for path in site.iterdir()
        if path.name != "__pycache__" and not path.name.endswith(".dist-info")
        and (path.is_dir() or path.suffix == ".py")
    }  # fmt: skip


def test_a_missing_dependency_is_caught(layer: Path, tmp_path: Path) -> None:
    # Given a handler that imports a package no bundle ships
    package = tmp_path / "rogue"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text(
        "import fastapi\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    # Then the bare runtime refuses it, as AWS would
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", "import rogue.handler"],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{layer / 'python'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "No module named 'fastapi'" in result.stderr


# The authorizer's first request, as a cold container serves it: a token refused after the settings
# and the DynamoDB client are built (no network: the token is malformed).
_AUTHORIZER_COLD_REQUEST = """
import sys
import authorizer.handler as handler
class Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "authorizer", 128, "arn", "r"
event = {"type": "TOKEN", "authorizationToken": "Bearer x.y.z", "methodArn": "arn:aws:execute-api:us-east-1:1:a/s/GET/x"}
try:
    handler.lambda_handler(event, Context())
except Exception as refused:
    assert str(refused) == "Unauthorized", refused
print(sorted({name.split(".")[0] for name in sys.modules}))
"""


def test_the_authorizers_cold_path_loads_no_aws_sdk(tmp_path: Path) -> None:
    # Given the authorizer bundled as CDK bundles it (no layer), with its deployed environment's variables
    bundle_function("authorizer", tmp_path)
    assert layer_names("authorizer") == ()  # its bundle is everything it runs on
    env = {
        "PYTHONPATH": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "ECHO_STAGE": "local",
        "POWERTOOLS_SERVICE_NAME": "authorizer",
        "POWERTOOLS_METRICS_NAMESPACE": "Echo",
        "ISSUER": "http://localhost/issuer",
        "ACCESS_TOKEN_AUDIENCE": "urn:echo:api:local",
        "IDENTITY_TABLE": "identity",
        "SIGNING_KEYS_TABLE": "signing-keys",
    }
    # When the bare runtime serves its first request (import, settings, verifier, DynamoDB client)
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", _AUTHORIZER_COLD_REQUEST],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # Then it refused the token, and neither botocore, boto3 nor pydantic was ever imported (ADR 0017)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"')))
    assert "echo_shared" in loaded
    assert not loaded & {"botocore", "boto3", "pydantic", "aws_lambda_powertools", "pynamodb"}


def _pyc_flags(pyc: Path) -> int:
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def test_bundles_ship_bytecode_that_never_needs_its_source_checked(layer: Path, tmp_path: Path) -> None:
    # Given a function bundle and the shared layer as CDK bundles them
    bundle_function("authorizer", tmp_path)
    for folder in (tmp_path, layer / "python"):
        sources = [path for path in folder.rglob("*.py") if "__pycache__" not in path.parts]
        # Then every module has its .pyc for the runtime's Python, hash-based and unchecked (flags 0b01),
        # so read-only /var/task and /opt never compile and zip timestamps never invalidate them
        assert sources
        for source in sources:
            pyc = Path(importlib.util.cache_from_source(str(source)))
            assert pyc.exists(), source
            assert _pyc_flags(pyc) == 0b01, pyc


@pytest.fixture(scope="module")
def reaching_cedar() -> dict[str, bool]:
    # In its own interpreter: this process holds the CDK tests' jsii objects, and CPython 3.13.0's
    # garbage collector has crashed on them when a test allocates as much as this analysis does.
    result = subprocess.run(
        [sys.executable, "-m", "tests.infrastructure.cedar_reach", *FUNCTIONS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_only_the_functions_that_decide_carry_the_cedar_layer(
    function: str, reaching_cedar: dict[str, bool]
) -> None:
    assert reaching_cedar[function] == (function in CEDAR_FUNCTIONS)


def test_a_bundle_with_the_shared_code_changes_hash_with_it(tmp_path: Path) -> None:
    # Given a function's source and the shared code, as the authorizer's asset hash covers them
    function, shared = tmp_path / "authorizer", tmp_path / "echo_shared"
    for folder in (function, shared):
        (folder / "__pycache__").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
    (shared / "aws_json.py").write_text("TIMEOUT = 5\n")
    before = source_hash([function, shared])
    # Then bytecode leaves it alone, and any change to the shared code changes it
    (shared / "__pycache__" / "aws_json.cpython-313.pyc").write_bytes(b"\0")
    assert source_hash([function, shared]) == before
    (shared / "aws_json.py").write_text("TIMEOUT = 6\n")
    assert source_hash([function, shared]) != before
