"""What a function's process gets: LocalStack's variables made to work offline, and an isolated import path."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from echo_localstack.lambda_executor.environment import function_environment, rewrite_localstack_hosts
from echo_localstack.lambda_executor.runtimes import RuntimeInstallation


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://localhost.localstack.cloud:4566", "http://127.0.0.1:4566"),
        (
            "https://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/jobs",
            "http://127.0.0.1:4566/000000000000/jobs",
        ),
        (
            "https://abc123.execute-api.localhost.localstack.cloud:4566/prod/items",
            "http://127.0.0.1:4566/_aws/execute-api/abc123/prod/items",
        ),
        (
            "https://my-bucket.s3.localhost.localstack.cloud/key.txt",
            "http://127.0.0.1:4566/my-bucket/key.txt",
        ),
        ("localhost.localstack.cloud", "127.0.0.1"),
        ("localhost.localstack.cloud:4566", "127.0.0.1:4566"),
        ("https://example.com/localhost", "https://example.com/localhost"),
        ("plain value", "plain value"),
    ],
)
def test_localstack_hostnames_are_pointed_at_the_gateway(value: str, expected: str) -> None:
    assert rewrite_localstack_hosts(value, "127.0.0.1", 4566) == expected


def make_environment(
    tmp_path: Path, localstack_env: dict[str, object], venv: Path | None = None
) -> dict[str, str]:
    runtime = RuntimeInstallation("python3.13", venv or tmp_path / "runtime")
    return function_environment(
        localstack_env,
        runtime=runtime,
        handler="app.handler",
        code_dir=tmp_path / "code",
        opt_dir=tmp_path / "opt",
        tmp_dir=tmp_path / "tmp",
        runtime_api="127.0.0.1:9001",
        gateway_host="127.0.0.1",
        gateway_port=4566,
    )


def test_the_endpoint_is_forced_and_lambda_variables_are_set(tmp_path: Path) -> None:
    env = make_environment(
        tmp_path,
        {
            "AWS_ENDPOINT_URL": "http://localhost.localstack.cloud:4566",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 256,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "QUEUE_URL": "https://sqs.us-east-1.localhost.localstack.cloud:4566/0/q",
        },
    )

    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["QUEUE_URL"] == "http://127.0.0.1:4566/0/q"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "code")
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["TZ"] == ":UTC"
    assert env["TMPDIR"] == str(tmp_path / "tmp")


def test_init_only_and_mode_switching_variables_are_dropped(tmp_path: Path) -> None:
    env = make_environment(
        tmp_path,
        {
            "LOCALSTACK_RUNTIME_ENDPOINT": "http://x",
            "LOCALSTACK_RUNTIME_ID": "1",
            "LOCALSTACK_CHMOD_PATHS": "[]",
            "AWS_LAMBDA_MAX_CONCURRENCY": "4",
            "LOCALSTACK_HOSTNAME": "localhost.localstack.cloud",
        },
    )

    assert not {
        "LOCALSTACK_RUNTIME_ENDPOINT",
        "LOCALSTACK_RUNTIME_ID",
        "LOCALSTACK_CHMOD_PATHS",
        "AWS_LAMBDA_MAX_CONCURRENCY",
    } & set(env)
    assert env["LOCALSTACK_HOSTNAME"] == "127.0.0.1"


def test_import_path_is_the_code_then_the_layers(tmp_path: Path) -> None:
    env = make_environment(tmp_path, {"PYTHONPATH": "/user/extra"})

    assert env["PYTHONPATH"].split(":") == [
        str(tmp_path / "code"),
        str(tmp_path / "opt/python/lib/python3.13/site-packages"),
        str(tmp_path / "opt/python"),
        "/user/extra",
    ]
    assert env["PATH"].startswith(str(tmp_path / "runtime" / "bin"))


def test_the_function_process_cannot_import_localstacks_packages(
    tmp_path: Path, runtime_python: Path
) -> None:
    # Given the environment a function process gets, and an empty bundle
    (tmp_path / "code").mkdir()
    env = make_environment(tmp_path, {}, venv=runtime_python.parent.parent)
    probe = (
        "import importlib.util, json, sys\n"
        "print(json.dumps({name: importlib.util.find_spec(name) is not None"
        " for name in ('pydantic', 'localstack', 'echo_localstack', 'boto3', 'awslambdaric')}))\n"
    )

    # When a process of the runtime interpreter looks for packages
    found = json.loads(
        subprocess.run(
            [str(runtime_python), "-P", "-c", probe],
            env=env,
            cwd=tmp_path / "code",
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    # Then only the runtime's own (boto3, awslambdaric) are there, as in AWS's base image
    assert found == {
        "pydantic": False,
        "localstack": False,
        "echo_localstack": False,
        "boto3": True,
        "awslambdaric": True,
    }
