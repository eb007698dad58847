"""The producer table (ADR 0016), loaded from the one place it is written down,
`layers/shared/echo_shared/events/namespaces.py` (standard library only), without putting the
shared layer on the CDK app's import path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1] / "layers/shared/echo_shared/events/namespaces.py"
_spec = importlib.util.spec_from_file_location("echo_event_namespaces", _SOURCE)
if _spec is None or _spec.loader is None:
    raise ImportError(f"cannot load the producer table from {_SOURCE}")
_namespaces = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_namespaces)

IDENTITY: str = _namespaces.IDENTITY
AUTHZ: str = _namespaces.AUTHZ
DOCUMENTS: str = _namespaces.DOCUMENTS
AUDIT: str = _namespaces.AUDIT
PLATFORM: str = _namespaces.PLATFORM
NAMESPACES: dict[str, tuple[str, ...]] = dict(_namespaces.NAMESPACES)
# The producers that may say a decision (`authz.decision`) on their own topic.
DECIDERS: frozenset[str] = frozenset(_namespaces.DECIDERS)


def producer_of(event_type: str) -> str:
    return str(_namespaces.producer_of(event_type))
