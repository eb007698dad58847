"""The central application-log store fed by `log.*` events."""

from echo_shared.logs.entries import LOG_EVENT_PREFIX, LogEntry, is_log_event, is_sort_key
from echo_shared.logs.repository import LogRepository

__all__ = [
    "LOG_EVENT_PREFIX",
    "LogEntry",
    "LogRepository",
    "is_log_event",
    "is_sort_key",
]
