"""Settings and adapters for the log sink, built once per process on first use."""

from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.lazy import cached_resource
from echo_shared.logs.dynamodb import DynamoLogRepository

from log_sink.logic import LogSink
from log_sink.settings import LogSinkSettings


@cached_resource
def get_settings() -> LogSinkSettings:
    return LogSinkSettings.from_env()


@cached_resource
def get_log_sink() -> LogSink:
    settings = get_settings()
    return LogSink(DynamoLogRepository(settings.log_table), retention_days=settings.log_retention_days)


@cached_resource
def get_dead_letters() -> SqsDeadLetterSink:
    return SqsDeadLetterSink(get_settings().dead_letter_queue_url)
