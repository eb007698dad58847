"""plux entry point of the executor (selected with LAMBDA_RUNTIME_EXECUTOR=echo-local)."""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

EXECUTOR_NAME = "echo-local"


class LocalProcessExecutorPlugin(RuntimeExecutorPlugin):
    name = EXECUTOR_NAME

    def load(self, *args: Any, **kwargs: Any) -> type:
        from echo_localstack.lambda_executor.executor import LocalProcessRuntimeExecutor

        return LocalProcessRuntimeExecutor
