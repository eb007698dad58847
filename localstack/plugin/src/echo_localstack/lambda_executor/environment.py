"""The process environment of a function: LocalStack's variables, made to work offline on the host."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from echo_localstack.lambda_executor.runtimes import RuntimeInstallation

_LOCALSTACK_HOST = re.compile(
    r"(?P<scheme>https?://)?(?P<host>(?:[A-Za-z0-9-]+\.)*localhost\.localstack\.cloud)(?::(?P<port>\d+))?"
)
# Meant for LocalStack's Go init, meaningless (or harmful) to the function itself.
_INIT_ONLY_PREFIXES = (
    "LOCALSTACK_RUNTIME_",
    "LOCALSTACK_CHMOD_",
    "LOCALSTACK_USER",
    "LOCALSTACK_INIT_",
    "LOCALSTACK_POST_INVOKE",
    "LOCALSTACK_MAX_PAYLOAD",
)
_DROPPED = {"AWS_LAMBDA_MAX_CONCURRENCY"}  # would switch awslambdaric to its multi-concurrency mode


def rewrite_localstack_hosts(value: str, gateway_host: str, gateway_port: int) -> str:
    """*.localhost.localstack.cloud does not resolve offline: point such hosts and URLs at the gateway."""

    def replace(match: re.Match[str]) -> str:
        prefix = match["host"].removesuffix("localhost.localstack.cloud").rstrip(".")
        if not match["scheme"]:
            return f"{gateway_host}:{match['port']}" if match["port"] else gateway_host
        base = f"http://{gateway_host}:{match['port'] or gateway_port}"
        if api := re.fullmatch(r"(?P<api_id>[A-Za-z0-9]+)\.execute-api", prefix):
            return f"{base}/_aws/execute-api/{api['api_id']}"
        if bucket := re.fullmatch(r"(?P<bucket>.+)\.s3", prefix):
            return f"{base}/{bucket['bucket']}"
        return base

    return _LOCALSTACK_HOST.sub(replace, value)


def import_path(code_dir: Path, opt_dir: Path, python_version: str) -> list[Path]:
    """Like AWS: the task root, then the layers' /opt/python; the runtime's own packages come last
    through the runtime venv's site-packages. Nothing of LocalStack's venv is ever on it."""
    return [
        code_dir,
        opt_dir / "python" / "lib" / f"python{python_version}" / "site-packages",
        opt_dir / "python",
    ]


def function_environment(
    localstack_env: Mapping[str, object],
    *,
    runtime: RuntimeInstallation,
    handler: str,
    code_dir: Path,
    opt_dir: Path,
    tmp_dir: Path,
    runtime_api: str,
    gateway_host: str,
    gateway_port: int,
) -> dict[str, str]:
    env = {
        "PATH": f"{runtime.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin:{opt_dir / 'bin'}",
        "LANG": "C.UTF-8",
    }
    for name, value in localstack_env.items():
        if name in _DROPPED or name.startswith(_INIT_ONLY_PREFIXES):
            continue
        env[name] = rewrite_localstack_hosts(str(value), gateway_host, gateway_port)
    user_pythonpath = env.get("PYTHONPATH")
    python_path = [str(path) for path in import_path(code_dir, opt_dir, runtime.python_version)]
    endpoint = f"http://{gateway_host}:{gateway_port}"
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "LOCALSTACK_HOSTNAME": gateway_host,
            "EDGE_PORT": str(gateway_port),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(runtime.venv),
            "_HANDLER": handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime.runtime}",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "TZ": ":UTC",
            "TMPDIR": str(tmp_dir),
            "PYTHONPATH": ":".join([*python_path, *([user_pythonpath] if user_pythonpath else [])]),
        }
    )
    return env
