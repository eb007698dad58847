"""A worker that misbehaves on request (the document's bytes say how): the sandbox must contain it.

Run by the sandbox in place of parse.extraction.worker, as `python -m tests.unit.parse.rogue_worker`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def _document(text: str, *, page: int | None = None, page_count: int | None = None) -> bytes:
    block = {"text": text, "page": page, "section": [], "kind": "paragraph"}
    return json.dumps(
        {"schema": 1, "media_type": "text/plain", "page_count": page_count, "blocks": [block]}
    ).encode()


def main() -> None:
    behaviour, _, argument = sys.stdin.buffer.read().decode().partition(":")
    out = sys.stdout.buffer
    if behaviour == "environment":
        out.write(b"ok\n" + _document(" ".join(sorted(os.environ))))
    elif behaviour == "page-outside-document":
        out.write(b"ok\n" + _document("text", page=7, page_count=2))
    elif behaviour == "unknown-failure-code":
        out.write(b"failed\n" + json.dumps({"code": "all_good", "message": "trust me"}).encode())
    elif behaviour == "huge-failure-message":
        out.write(b"failed\n" + json.dumps({"code": "empty", "message": "x" * 10_000}).encode())
    elif behaviour == "garbage":
        out.write(b"\x00\x01 not a reply")
    elif behaviour == "flood":
        chunk = b"A" * 1024 * 1024
        while True:
            out.write(chunk)
    elif behaviour == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)
    elif behaviour == "hang-with-grandchild":
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        with open(argument, "w") as pid_file:
            pid_file.write(str(grandchild.pid))
        time.sleep(3600)
    elif behaviour == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif behaviour == "exit-after-valid-reply":
        out.write(b"ok\n" + _document("fine"))
        out.flush()
        sys.exit(3)
    elif behaviour == "valid":
        out.write(b"ok\n" + _document("a valid reply"))
    out.flush()


if __name__ == "__main__":
    main()
