"""Extraction in a resource-limited child process, so hostile files cannot hurt the caller.

The child (worker.py) gets the document on stdin from an unlinked temporary file, an environment
without the function's credentials, and its own process group. The parent enforces the wall-clock
timeout and the reply-size cap, kills the group on either, and accepts nothing from the reply but a
valid ParsedDocument or a known failure code.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from echo_documents.parsed import ExtractionFailed, FailureCode, InvalidParsedDocument, ParsedDocument

from parse.extraction.limits import ExtractionLimits

WORKER_MODULE = "parse.extraction.worker"
READ_CHUNK = 1024 * 1024
MAX_FAILURE_MESSAGE = 500


def extract_in_sandbox(data: bytes, limits: ExtractionLimits) -> ParsedDocument:
    if len(data) > limits.max_bytes:
        raise ExtractionFailed(
            FailureCode.TOO_LARGE,
            f"the file is {len(data) / 1024 / 1024:.1f} MiB; the limit is {limits.max_bytes / 1024 / 1024:.0f} MiB",
        )
    with tempfile.TemporaryFile() as source:
        source.write(data)
        source.seek(0)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-B", "-s", "-m", WORKER_MODULE, json.dumps(limits.to_dict())],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_environment(),
            start_new_session=True,
        )
        try:
            reply = _read_reply(process, limits)
        finally:
            _kill(process)
    if process.returncode != 0:
        raise _abnormal_exit(process.returncode)
    return _accept(reply, limits)


def child_environment() -> dict[str, str]:
    """Only what the interpreter needs to find its modules: no AWS credentials, no settings."""
    paths = [entry for entry in sys.path if entry and Path(entry).is_dir()]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUTF8": "1",
        "LANG": "C.UTF-8",
    }


def _read_reply(process: subprocess.Popen[bytes], limits: ExtractionLimits) -> bytes:
    assert process.stdout is not None
    deadline = time.monotonic() + limits.wall_seconds
    cap = limits.max_output_bytes + 1024
    chunks: list[bytes] = []
    received = 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise _timed_out(limits)
            chunk = os.read(process.stdout.fileno(), READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > cap:
                raise ExtractionFailed(
                    FailureCode.TOO_LARGE, "the document's extracted text is larger than allowed"
                )
            chunks.append(chunk)
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired as error:
        raise _timed_out(limits) from error
    return b"".join(chunks)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # it exited since poll()
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _timed_out(limits: ExtractionLimits) -> ExtractionFailed:
    return ExtractionFailed(
        FailureCode.PARSE_TIMEOUT, f"parsing took longer than {limits.wall_seconds:g} seconds"
    )


def _abnormal_exit(returncode: int) -> ExtractionFailed:
    if returncode == -signal.SIGXCPU:
        return ExtractionFailed(FailureCode.PARSE_TIMEOUT, "parsing used more CPU time than allowed")
    return ExtractionFailed(
        FailureCode.RESOURCE_LIMIT, "the parser stopped abnormally within its resource limits"
    )


def _accept(reply: bytes, limits: ExtractionLimits) -> ParsedDocument:
    status, _, body = reply.partition(b"\n")
    if status == b"failed":
        raise _reported_failure(body)
    if status != b"ok":
        raise _invalid_reply()
    try:
        parsed = ParsedDocument.from_json_bytes(body)
    except InvalidParsedDocument as error:
        raise _invalid_reply() from error
    if not parsed.blocks or parsed.char_count > limits.max_output_chars:
        raise _invalid_reply()
    if parsed.page_count is not None and parsed.page_count > limits.max_pages:
        raise _invalid_reply()
    return parsed


def _reported_failure(body: bytes) -> ExtractionFailed:
    try:
        failure = json.loads(body)
        code = FailureCode(failure["code"])
        message = failure["message"]
    except (ValueError, KeyError, TypeError):
        return _invalid_reply()
    if not isinstance(message, str) or not 0 < len(message) <= MAX_FAILURE_MESSAGE:
        return _invalid_reply()
    return ExtractionFailed(code, message)


def _invalid_reply() -> ExtractionFailed:
    return ExtractionFailed(FailureCode.MALFORMED, "the document could not be parsed")
