"""Notary configuration: the audit store, and the Object Lock every checkpoint is written under."""

from typing import Literal, Self

from echo_shared.settings import AuditStoreSettings, Stage
from pydantic import Field, model_validator


class NotarySettings(AuditStoreSettings):
    """The notary writes each checkpoint under S3 Object Lock with this mode and retention."""

    checkpoint_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(validation_alias="CHECKPOINT_LOCK_MODE")
    checkpoint_retention_days: int = Field(ge=1, validation_alias="CHECKPOINT_RETENTION_DAYS")

    @model_validator(mode="after")
    def _compliance_outside_local(self) -> Self:
        # GOVERNANCE can be bypassed by a privileged principal: only LocalStack's throwaway state.
        if self.checkpoint_lock_mode != "COMPLIANCE" and self.stage is not Stage.LOCAL:
            raise ValueError("CHECKPOINT_LOCK_MODE must be COMPLIANCE outside the local stage")
        return self
