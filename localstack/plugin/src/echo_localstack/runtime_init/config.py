"""What the executor tells an environment process on start (JSON on its stdin)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class InitConfig:
    executor_id: str
    runtime_endpoint: str
    command: list[str]
    cwd: str
    env: dict[str, str]
    timeout_seconds: int
    function_version: str
    memory_size: int
    listen_fd: int

    @classmethod
    def from_json(cls, raw: str) -> InitConfig:
        return cls(**json.loads(raw))

    def to_json(self) -> str:
        return json.dumps(asdict(self))
