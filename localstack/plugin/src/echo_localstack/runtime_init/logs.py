"""Collects the runtime's stdout/stderr and cuts it into per-invocation logs."""

from __future__ import annotations

import math
import os
import select
import threading
from pathlib import Path
from typing import BinaryIO

from echo_localstack.runtime_init.protocol import Invocation

MAX_BUFFERED_BYTES = 1024 * 1024


class LogCollector:
    """Reads one pipe shared by every runtime process of the environment.

    `take()` first drains what is already in the pipe, so output written before the runtime posts
    its result is never attributed to the next invocation.
    """

    def __init__(self, read_fd: int, echo: BinaryIO | None = None) -> None:
        os.set_blocking(read_fd, False)
        self._fd = read_fd
        self._echo = echo
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._closed = False

    def drain(self) -> None:
        with self._lock:
            while not self._closed:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    return
                if not chunk:
                    self._closed = True
                    return
                self._buffer += chunk
                if len(self._buffer) > MAX_BUFFERED_BYTES:
                    del self._buffer[: len(self._buffer) - MAX_BUFFERED_BYTES]
                if self._echo is not None:
                    self._echo.write(chunk)
                    self._echo.flush()

    def take(self) -> str:
        self.drain()
        with self._lock:
            text = self._buffer.decode(errors="replace")
            self._buffer.clear()
        return text

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self._closed:
            readable, _, _ = select.select([self._fd], [], [], 0.5)
            if readable:
                self.drain()


def invocation_logs(
    invocation: Invocation,
    output: str,
    *,
    version: str,
    memory_size: int,
    max_memory_mb: int,
    duration_ms: float,
    failure: str | None = None,
) -> str:
    """The CloudWatch-style record of one invocation (what `LogType=Tail` returns the end of)."""
    rid = invocation.request_id
    if output and not output.endswith("\n"):
        output += "\n"
    failure_line = f"{_timestamp()} {rid} {failure}\n" if failure else ""
    return (
        f"{invocation.init_logs}START RequestId: {rid} Version: {version}\n{output}{failure_line}"
        f"END RequestId: {rid}\n"
        f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_mb} MB\t\n"
    )


def max_memory_used_mb(pid: int | None) -> int:
    if pid is None:
        return 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return math.ceil(int(line.split()[1]) / 1024)
    return 0


def _timestamp() -> str:
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
