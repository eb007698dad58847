"""Per-stage settings, read once from the `stages` context in cdk.json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import aws_cdk as cdk

STAGE_NAMES = ("local", "dev", "staging", "prod")


class StageSettingsError(ValueError):
    """The cdk.json context does not describe a valid stage."""


@dataclass(frozen=True)
class StageSettings:
    name: str
    account: str | None
    region: str | None
    removal: Literal["destroy", "retain"]
    log_retention_days: int
    app_log_retention_days: int
    alarms: bool
    api_throttle_rate: int
    api_throttle_burst: int
    consumer_timeout_seconds: int
    # S3 Object Lock on audit checkpoints: COMPLIANCE on every AWS stage (no one, root included, can
    # shorten it); GOVERNANCE only on local, whose LocalStack state is thrown away (see docs/audit.md).
    checkpoint_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"]
    checkpoint_retention_days: int

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.DESTROY if self.removal == "destroy" else cdk.RemovalPolicy.RETAIN

    @property
    def consumer_timeout(self) -> cdk.Duration:
        """Timeout of queue consumers; their queues keep messages hidden six times as long."""
        return cdk.Duration.seconds(self.consumer_timeout_seconds)

    @property
    def is_production_like(self) -> bool:
        return self.name in ("staging", "prod")

    def resource_name(self, suffix: str) -> str:
        """Physical names are prefixed per stage so stages can share an account."""
        return f"echo-{self.name}-{suffix}"

    @classmethod
    def from_context(cls, name: str, stages: Any) -> StageSettings:
        if name not in STAGE_NAMES:
            raise StageSettingsError(f"unknown stage {name!r}; expected one of {', '.join(STAGE_NAMES)}")
        if not isinstance(stages, dict) or name not in stages:
            raise StageSettingsError(f"cdk.json context 'stages' has no entry for {name!r}")
        raw = dict(stages[name])
        settings = cls(
            name=name,
            account=raw.pop("account", None),
            region=raw.pop("region", None),
            removal=raw.pop("removal"),
            log_retention_days=int(raw.pop("log_retention_days")),
            app_log_retention_days=int(raw.pop("app_log_retention_days")),
            alarms=bool(raw.pop("alarms")),
            api_throttle_rate=int(raw.pop("api_throttle_rate")),
            api_throttle_burst=int(raw.pop("api_throttle_burst")),
            consumer_timeout_seconds=int(raw.pop("consumer_timeout_seconds")),
            checkpoint_lock_mode=raw.pop("checkpoint_lock_mode"),
            checkpoint_retention_days=int(raw.pop("checkpoint_retention_days")),
        )
        if raw:
            raise StageSettingsError(f"unknown settings for stage {name!r}: {sorted(raw)}")
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.removal not in ("destroy", "retain"):
            raise StageSettingsError(f"removal must be destroy or retain, not {self.removal!r}")
        if self.is_production_like and self.removal != "retain":
            raise StageSettingsError(f"stage {self.name!r} must retain data on stack deletion")
        if self.checkpoint_lock_mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise StageSettingsError(
                f"checkpoint_lock_mode must be GOVERNANCE or COMPLIANCE, not {self.checkpoint_lock_mode!r}"
            )
        if self.name != "local" and self.checkpoint_lock_mode != "COMPLIANCE":
            raise StageSettingsError(f"stage {self.name!r} must lock checkpoints in COMPLIANCE mode")
        if self.checkpoint_retention_days < 1:
            raise StageSettingsError("checkpoint_retention_days must be at least 1")
