"""Lazily created, process-wide resources (clients, settings) that tests can reset.

Lambda reuses a warm process, so clients and settings are built on first use and kept; nothing is
created at import time, so tests can set the environment first and call `reset_cached_resources()`.
"""

import functools
from collections.abc import Callable

_cache_clearers: list[Callable[[], None]] = []


def cached_resource[T](factory: Callable[[], T]) -> Callable[[], T]:
    """Decorate a zero-argument factory: it runs once per process (until reset)."""
    cached = functools.cache(factory)
    _cache_clearers.append(cached.cache_clear)
    return cached


def reset_cached_resources() -> None:
    """Forget every cached resource (tests call this between cases)."""
    for clear in _cache_clearers:
        clear()
