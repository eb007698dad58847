"""The sandboxed extraction process: `python -m parse.extraction.worker LIMITS_JSON < document`.

It confines itself (CPU, address space, files) before it reads a byte of the document, then writes
one reply to its original stdout: b"ok\\n" + ParsedDocument JSON, or b"failed\\n" + {code, message}.
Anything a parser library prints goes to stderr, so it cannot corrupt the reply.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
from pathlib import Path

from echo_documents.parsed import ExtractionFailed, FailureCode

from parse.extraction.extract import extract
from parse.extraction.limits import ExtractionLimits

OPEN_FILES = 64


def confine(limits: ExtractionLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_bytes, limits.address_space_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def reply_for(data: bytes, limits: ExtractionLimits) -> bytes:
    try:
        payload = extract(data, limits).to_json_bytes()
    except ExtractionFailed as failure:
        return _failed(failure.code, failure.message)
    except MemoryError:
        return _failed(FailureCode.RESOURCE_LIMIT, "parsing the document needed more memory than allowed")
    except RecursionError:
        return _failed(FailureCode.RESOURCE_LIMIT, "the document is nested too deeply to parse")
    except Exception:  # noqa: BLE001 - the process boundary: any parser error on hostile bytes is a verdict
        if _reached_memory_limit(limits):  # C parsers (libxml2, PDFium) report failed allocations as errors
            return _failed(FailureCode.RESOURCE_LIMIT, "parsing the document needed more memory than allowed")
        return _failed(FailureCode.MALFORMED, "the document is damaged and cannot be parsed")
    if len(payload) > limits.max_output_bytes:
        return _failed(FailureCode.TOO_LARGE, "the document's extracted text is larger than allowed")
    return b"ok\n" + payload


def _reached_memory_limit(limits: ExtractionLimits) -> bool:
    """Whether this process's peak virtual memory came within 10% of its address-space limit."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    match = re.search(r"^VmPeak:\s+(\d+) kB", status, re.MULTILINE)
    return match is not None and int(match.group(1)) * 1024 >= 0.9 * limits.address_space_bytes


def _failed(code: FailureCode, message: str) -> bytes:
    return b"failed\n" + json.dumps({"code": code.value, "message": message}).encode()


def main(argv: list[str]) -> int:
    limits = ExtractionLimits.from_dict(json.loads(argv[1]))
    reply_channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # C libraries writing to fd 1 land on stderr
    confine(limits)
    data = sys.stdin.buffer.read(limits.max_bytes + 1)
    reply = reply_for(data, limits)
    reply_channel.write(reply)
    reply_channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
