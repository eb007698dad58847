"""LocalStack's RuntimeExecutor for Echo: execution environments as local processes, no Docker."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import InvalidStateError
from pathlib import Path

import localstack.config
import psutil
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint, StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor

from echo_localstack.lambda_executor.environment import function_environment
from echo_localstack.lambda_executor.layers import merge_layers, opt_key, opt_root
from echo_localstack.lambda_executor.runtimes import UnsupportedRuntimeError, resolve_runtime, runtimes_dir
from echo_localstack.runtime_init.config import InitConfig
from echo_localstack.runtime_init.protocol import exit_error

LOG = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
LOG_TAIL_BYTES = 64 * 1024


def gateway_port() -> int:
    return int(localstack.config.GATEWAY_LISTEN[0].port)


def environments_root() -> Path:
    return Path(tempfile.gettempdir()) / "lambda" / "echo-environments"


def opt_dir_of(function_version: FunctionVersion) -> Path:
    fn_config = function_version.config
    key = opt_key(
        function_version.qualified_arn,
        fn_config.revision_id,
        [layer.layer_version_arn for layer in fn_config.layers],
    )
    return opt_root() / key


class LocalProcessRuntimeExecutor(RuntimeExecutor):
    """One `python -m echo_localstack.runtime_init` process per environment, which serves the
    Lambda Runtime API to an `awslambdaric` process and speaks LocalStack's executor protocol."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(id, container_address=LOOPBACK, container_port=None)
        self._workdir = environments_root() / id
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint_started = False
        self._stopping = threading.Event()

    def start(self, env_vars: dict[str, str]) -> None:
        fn_config = self.function_version.config
        try:
            if fn_config.package_type != PackageType.Zip or not fn_config.handler or not fn_config.code:
                raise UnsupportedRuntimeError(
                    "Only zip-packaged functions with a handler are supported locally"
                )
            runtime = resolve_runtime(fn_config.runtime, runtimes_dir())
        except UnsupportedRuntimeError as error:
            raise StatusErrorException(str(error), payload=error.payload) from error
        self.prepare_version(self.function_version)
        code_dir = Path(fn_config.code.get_unzipped_code_location())
        tmp_dir = self._workdir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)

        self.executor_endpoint.start()
        self._endpoint_started = True
        with socket.create_server((LOOPBACK, 0)) as listening:
            port = listening.getsockname()[1]
            self.executor_endpoint.container_port = port
            env = function_environment(
                env_vars,
                runtime=runtime,
                handler=fn_config.handler,
                code_dir=code_dir,
                opt_dir=opt_dir_of(self.function_version),
                tmp_dir=tmp_dir,
                runtime_api=f"{LOOPBACK}:{port}",
                gateway_host=LOOPBACK,
                gateway_port=gateway_port(),
            )
            init_config = InitConfig(
                executor_id=self.id,
                runtime_endpoint=self.get_runtime_endpoint(),
                command=[str(runtime.python), "-P", "-m", "awslambdaric", fn_config.handler],
                cwd=str(code_dir),
                env=env,
                timeout_seconds=fn_config.timeout,
                function_version=self.function_version.id.qualifier,
                memory_size=fn_config.memory_size,
                listen_fd=listening.fileno(),
            )
            with (self._workdir / "environment.log").open("ab") as log:
                # Same process group as LocalStack: `manage.py stop` ends every environment with it.
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "echo_localstack.runtime_init"],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._workdir,
                    pass_fds=(listening.fileno(),),
                )
            assert self._process.stdin is not None
            self._process.stdin.write(init_config.to_json().encode())
            self._process.stdin.close()
        threading.Thread(target=self._watch, name=f"lambda-env-{self.id}", daemon=True).start()
        self.executor_endpoint.wait_for_startup()

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None:
            _kill_tree(self._process)
        if self._endpoint_started:
            self._endpoint_started = False
            try:
                self.executor_endpoint.shutdown()
            except KeyError:
                LOG.debug("executor endpoint %s was already unregistered", self.id)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{gateway_port()}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        try:
            with (self._workdir / "environment.log").open("rb") as log:
                log.seek(0, 2)
                log.seek(max(0, log.tell() - LOG_TAIL_BYTES))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        fn_config = function_version.config
        if fn_config.code:
            fn_config.code.prepare_for_execution()
        layer_dirs = []
        for layer in fn_config.layers:
            if layer.code:
                layer.code.prepare_for_execution()
                layer_dirs.append(Path(layer.code.get_unzipped_code_location()))
        merge_layers(layer_dirs, opt_dir_of(function_version))

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        shutil.rmtree(opt_dir_of(function_version), ignore_errors=True)

    @classmethod
    def validate_environment(cls) -> bool:
        directory = runtimes_dir()
        if directory is None or not directory.is_dir():
            LOG.warning(
                "ECHO_LAMBDA_RUNTIMES_DIR is not set or missing: start LocalStack with localstack/manage.py"
            )
            return False
        return True

    def _watch(self) -> None:
        """Fails fast (instead of waiting for LocalStack's long timeouts) if the environment dies."""
        assert self._process is not None
        returncode = self._process.wait()
        if self._stopping.is_set():
            return
        # 0: the environment ended itself after reporting a failed init, which LocalStack already has.
        log = LOG.debug if returncode == 0 else LOG.warning
        log("Lambda environment %s exited (%s):\n%s", self.id, returncode, self.get_logs()[-2000:])
        error = exit_error(None, returncode)
        startup = self.executor_endpoint.startup_future
        invocation = self.executor_endpoint.invocation_future
        try:
            if startup is not None and not startup.done():
                startup.set_exception(StatusErrorException("Environment process exited", payload=error))
            elif invocation is not None and not invocation.done():
                invocation.set_result(InvocationResult("", error, is_error=True, logs=self.get_logs()))
        except InvalidStateError:
            pass


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    try:
        members = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        members = []
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        LOG.warning("Lambda environment process %s did not exit", process.pid)
