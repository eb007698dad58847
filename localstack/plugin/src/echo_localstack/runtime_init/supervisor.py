"""Lifecycle of the runtime process and the invocations handed to it.

One environment runs one invocation at a time (LocalStack reserves it), but the Runtime API, the
timeout timers and the process watcher run on their own threads; all state sits behind one lock.
Results are reported outside the lock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from echo_localstack.runtime_init.callbacks import Callbacks
from echo_localstack.runtime_init.config import InitConfig
from echo_localstack.runtime_init.logs import LogCollector, invocation_logs, max_memory_used_mb
from echo_localstack.runtime_init.protocol import (
    Invocation,
    exit_error,
    exit_reason,
    timeout_error,
    timeout_message,
)

LOG = logging.getLogger(__name__)


class RuntimeProcess(Protocol):
    @property
    def pid(self) -> int: ...

    def wait(self) -> int: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class _Report:
    invocation: Invocation
    logs: str
    body: bytes
    is_error: bool


class Supervisor:
    def __init__(
        self,
        config: InitConfig,
        callbacks: Callbacks,
        collector: LogCollector,
        spawn: Callable[[], RuntimeProcess],
    ) -> None:
        self._config = config
        self._callbacks = callbacks
        self._collector = collector
        self._spawn = spawn
        self._cond = threading.Condition()
        self._pending: deque[Invocation] = deque()
        self._current: Invocation | None = None
        self._runtime: RuntimeProcess | None = None
        self._timers: dict[str, threading.Timer] = {}
        self._ready_reported = False
        self._startup_failed = False
        self._init_error: bytes | None = None
        # Bumped whenever the runtime process changes: a Runtime API long-poll (`GET next`) left
        # open by a runtime that died must never take the next invocation of its successor.
        self._generation = 0
        self.finished = threading.Event()

    def start(self) -> None:
        with self._cond:
            self._start_runtime()

    def shutdown(self) -> None:
        with self._cond:
            self.finished.set()
            runtime, self._runtime = self._runtime, None
            for timer in self._timers.values():
                timer.cancel()
            self._cond.notify_all()
        if runtime is not None:
            _kill(runtime)

    def has_runtime(self) -> bool:
        with self._cond:
            return self._runtime is not None

    def submit(self, invocation: Invocation) -> None:
        timer = threading.Timer(self._config.timeout_seconds, self._on_timeout, (invocation,))
        timer.daemon = True
        with self._cond:
            self._pending.append(invocation)
            self._timers[invocation.request_id] = timer
            timer.start()
            if self._runtime is None and not self.finished.is_set():
                self._start_runtime()
            self._cond.notify_all()

    def next_invocation(self) -> Invocation | None:
        """Blocks until there is work; the first call means the runtime finished its init.

        None when the environment stops or the runtime that asked is gone (its connection is dead).
        """
        with self._cond:
            report_ready = not self._ready_reported
            self._ready_reported = True
            generation = self._generation
        if report_ready:
            self._callbacks.ready()
        with self._cond:
            while not self._pending and not self.finished.is_set() and generation == self._generation:
                self._cond.wait()
            if self.finished.is_set() or generation != self._generation:
                return None
            invocation = self._pending.popleft()
            invocation.init_logs = self._collector.take()
            self._current = invocation
            return invocation

    def undelivered(self, invocation: Invocation) -> None:
        """The runtime's connection broke before it got the invocation: queue it for the next one."""
        with self._cond:
            if invocation is self._current:
                self._current = None
                self._pending.appendleft(invocation)
                self._cond.notify_all()

    def complete(self, request_id: str, body: bytes, *, is_error: bool) -> bool:
        with self._cond:
            invocation = self._current
            if invocation is None or invocation.request_id != request_id:
                return False
            self._current = None
            self._cancel_timer(request_id)
            report = _Report(invocation, self._logs_of(invocation), body, is_error)
        self._send(report)
        return True

    def init_error(self, error: bytes) -> None:
        with self._cond:
            self._init_error = error
            first_start = not self._ready_reported
            self._ready_reported = True
            self._startup_failed = first_start
        if first_start:
            self._callbacks.init_failed(error)

    def _start_runtime(self) -> None:
        self._init_error = None
        runtime = self._spawn()
        self._runtime = runtime
        threading.Thread(
            target=self._watch, args=(runtime,), name=f"watch-{runtime.pid}", daemon=True
        ).start()

    def _watch(self, runtime: RuntimeProcess) -> None:
        self._on_exit(runtime, runtime.wait())

    def _on_timeout(self, invocation: Invocation) -> None:
        timeout = self._config.timeout_seconds
        with self._cond:
            if invocation is self._current:
                self._current = None
            elif invocation in self._pending:
                self._pending.remove(invocation)
            else:
                return
            self._timers.pop(invocation.request_id, None)
            runtime, self._runtime = self._runtime, None
            self._retire_waiters()
            logs = self._logs_of(invocation, runtime, failure=timeout_message(timeout))
            if runtime is not None:
                _kill(runtime)
            # Re-init right away so the next invocation finds a runtime (AWS resets the sandbox).
            if not self.finished.is_set():
                self._start_runtime()
        self._send(_Report(invocation, logs, timeout_error(invocation.request_id, timeout), True))

    def _on_exit(self, runtime: RuntimeProcess, returncode: int) -> None:
        startup_error: bytes | None = None
        reports: list[_Report] = []
        with self._cond:
            if runtime is not self._runtime or self.finished.is_set():
                return  # replaced on purpose (timeout) or shutting down
            self._runtime = None
            self._retire_waiters()
            if not self._ready_reported or self._startup_failed:
                # The first init failed: LocalStack discards this environment.
                if not self._ready_reported:
                    startup_error = self._init_error or exit_error(None, returncode)
                self._ready_reported = True
                self.finished.set()
                self._cond.notify_all()
            else:
                crashed_mid_invocation = self._current is not None
                reports = self._fail_all(runtime, returncode)
                # Re-init after a crash like after a timeout; a failed re-init waits for new work.
                if crashed_mid_invocation:
                    self._start_runtime()
        if startup_error is not None:
            self._callbacks.init_failed(startup_error)
        for report in reports:
            self._send(report)

    def _fail_all(self, runtime: RuntimeProcess, returncode: int) -> list[_Report]:
        reports = []
        if self._current is not None:
            invocation, self._current = self._current, None
            self._cancel_timer(invocation.request_id)
            failure = f"Error: Runtime exited with error: {exit_reason(returncode)}"
            reports.append(
                _Report(
                    invocation,
                    self._logs_of(invocation, runtime, failure=failure),
                    exit_error(invocation.request_id, returncode),
                    True,
                )
            )
        # Died while (re-)initialising with work queued: the init error belongs to that work.
        while self._pending:
            invocation = self._pending.popleft()
            self._cancel_timer(invocation.request_id)
            error = self._init_error or exit_error(invocation.request_id, returncode)
            reports.append(_Report(invocation, self._logs_of(invocation, runtime), error, True))
        return reports

    # The helpers below run with the lock held.

    def _retire_waiters(self) -> None:
        """Called wherever the runtime is dropped (exit, timeout): its open polls must not take work."""
        self._generation += 1
        self._cond.notify_all()

    def _cancel_timer(self, request_id: str) -> None:
        timer = self._timers.pop(request_id, None)
        if timer is not None:
            timer.cancel()

    def _logs_of(
        self, invocation: Invocation, runtime: RuntimeProcess | None = None, failure: str | None = None
    ) -> str:
        runtime = runtime or self._runtime
        return invocation_logs(
            invocation,
            self._collector.take(),
            version=self._config.function_version,
            memory_size=self._config.memory_size,
            max_memory_mb=max_memory_used_mb(runtime.pid if runtime else None),
            duration_ms=(time.monotonic() - invocation.received_at) * 1000,
            failure=failure,
        )

    def _send(self, report: _Report) -> None:
        try:
            self._callbacks.result(
                report.invocation.request_id, report.logs, report.body, is_error=report.is_error
            )
        except OSError:
            LOG.exception("could not report invocation %s to LocalStack", report.invocation.request_id)


def _kill(runtime: RuntimeProcess) -> None:
    with contextlib.suppress(ProcessLookupError):
        runtime.kill()
