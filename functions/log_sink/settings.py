"""Log sink configuration."""

from echo_shared.settings import DeadLetterSettings, LogStoreSettings
from pydantic import Field


class LogSinkSettings(LogStoreSettings, DeadLetterSettings):
    log_retention_days: int = Field(ge=1, le=3650, validation_alias="LOG_RETENTION_DAYS")
