"""Key rotation configuration."""

from typing import Self

from echo_shared.identity.settings import IdentitySettings
from echo_shared.settings import OutboxSettings
from pydantic import Field, model_validator

DAY = 24 * 3600


class KeyRotationSettings(IdentitySettings, OutboxSettings):
    rotation_period_days: int = Field(default=30, ge=1, le=365, validation_alias="ROTATION_PERIOD_DAYS")
    # How long `next` sits in the JWKS before it signs: longer than any relying party caches JWKS.
    publish_ahead_seconds: int = Field(default=DAY, ge=300, validation_alias="KEY_PUBLISH_AHEAD_SECONDS")
    deletion_window_days: int = Field(default=30, ge=7, le=30, validation_alias="KEY_DELETION_WINDOW_DAYS")

    @model_validator(mode="after")
    def _publish_ahead_within_period(self) -> Self:
        if self.publish_ahead_seconds >= self.rotation_period_days * DAY:
            raise ValueError("KEY_PUBLISH_AHEAD_SECONDS must be shorter than the rotation period")
        return self
