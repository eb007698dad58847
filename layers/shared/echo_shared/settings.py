"""Typed configuration, read from the environment once per process and validated up front.

Each function composes the settings it needs from these models and loads them through a
`cached_resource` getter. Values that are only safe in a sandbox are refused elsewhere.
"""

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from echo_shared.environment import RESOURCE_NAME_MAX_LENGTH, refuse_debug_logs_outside_sandbox
from echo_shared.environment import LogLevel as LogLevel  # re-exported: settings modules import them here
from echo_shared.environment import SettingsError as SettingsError
from echo_shared.environment import Stage as Stage

type ResourceName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RESOURCE_NAME_MAX_LENGTH)
]


class EnvSettings(BaseModel):
    """Settings every function has. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Stage = Field(validation_alias="ECHO_STAGE")
    service_name: ResourceName = Field(validation_alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: ResourceName = Field(validation_alias="POWERTOOLS_METRICS_NAMESPACE")
    log_level: LogLevel = Field(default="INFO", validation_alias="LOG_LEVEL")

    @model_validator(mode="after")
    def _no_debug_logs_outside_sandbox(self) -> Self:
        refuse_debug_logs_outside_sandbox(self.stage, self.log_level)
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(source))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise SettingsError(f"invalid {cls.__name__}: {problems}") from None


class EventBusSettings(EnvSettings):
    event_topic_arn: ResourceName = Field(validation_alias="EVENT_TOPIC_ARN")


class OutboxSettings(EnvSettings):
    """Functions that write their events to the transactional outbox (ADR 0014)."""

    outbox_table: ResourceName = Field(validation_alias="OUTBOX_TABLE")


class AuditStoreSettings(EnvSettings):
    audit_chain_table: ResourceName = Field(validation_alias="AUDIT_CHAIN_TABLE")
    audit_event_ids_table: ResourceName = Field(validation_alias="AUDIT_EVENT_IDS_TABLE")
    checkpoint_bucket: ResourceName = Field(validation_alias="CHECKPOINT_BUCKET")
    checkpoint_key_id: ResourceName = Field(validation_alias="CHECKPOINT_KEY_ID")


class LogStoreSettings(EnvSettings):
    log_table: ResourceName = Field(validation_alias="LOG_TABLE")


class DeadLetterSettings(EnvSettings):
    dead_letter_queue_url: ResourceName = Field(validation_alias="DEAD_LETTER_QUEUE_URL")
