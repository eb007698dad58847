"""Store `log.*` events once each, with `expires_at = occurred_at + retention`."""

from enum import StrEnum

from echo_shared.events import parse_sqs_body
from echo_shared.logs import LogEntry, LogRepository, is_log_event
from echo_shared.observability import set_correlation_id


class SinkOutcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    NOT_A_LOG_EVENT = "not_a_log_event"


class LogSink:
    def __init__(self, repository: LogRepository, *, retention_days: int) -> None:
        self._repository = repository
        self._retention_days = retention_days

    def accept(self, body: str) -> SinkOutcome:
        """Raises InvalidEvent for poison messages; anything else the store raises is retried."""
        event = parse_sqs_body(body)
        set_correlation_id(event.request_id)
        if not is_log_event(event):
            # The subscription filter should have kept it out; retrying would not help.
            return SinkOutcome.NOT_A_LOG_EVENT
        entry = LogEntry.from_event(event, retention_days=self._retention_days)
        return SinkOutcome.STORED if self._repository.put_if_absent(entry) else SinkOutcome.DUPLICATE
