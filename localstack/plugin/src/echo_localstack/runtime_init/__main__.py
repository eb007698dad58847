"""Entry point of one execution environment: `python -m echo_localstack.runtime_init < config.json`."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from types import FrameType

from echo_localstack.runtime_init.callbacks import LocalStackCallbacks
from echo_localstack.runtime_init.config import InitConfig
from echo_localstack.runtime_init.logs import LogCollector
from echo_localstack.runtime_init.server import RuntimeApiServer
from echo_localstack.runtime_init.supervisor import Supervisor


def spawn_runtime(config: InitConfig, output_fd: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        config.command,
        cwd=config.cwd,
        env=config.env,
        stdin=subprocess.DEVNULL,
        stdout=output_fd,
        stderr=output_fd,
        close_fds=True,
    )


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="[echo-init] %(message)s")
    config = InitConfig.from_json(sys.stdin.read())
    parent = os.getppid()
    read_fd, write_fd = os.pipe()
    stop = threading.Event()
    collector = LogCollector(read_fd, echo=sys.stdout.buffer)
    callbacks = LocalStackCallbacks(config.runtime_endpoint, config.executor_id)
    supervisor = Supervisor(config, callbacks, collector, spawn=lambda: spawn_runtime(config, write_fd))
    listening = socket.socket(fileno=config.listen_fd)
    listening.set_inheritable(False)
    server = RuntimeApiServer(listening, supervisor, config.timeout_seconds)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        supervisor.shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
    threading.Thread(target=collector.run, args=(stop,), daemon=True).start()
    supervisor.start()
    # Also ends when LocalStack dies without stopping us (we would be re-parented).
    while not supervisor.finished.wait(1.0):
        if os.getppid() != parent:
            supervisor.shutdown()
    stop.set()
    collector.take()
    return 0


if __name__ == "__main__":
    sys.exit(main())
