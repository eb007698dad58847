import pytest

from stacks.settings import StageSettings, StageSettingsError
from tests.infrastructure.conftest import STAGES


def test_every_stage_in_cdk_json_is_valid() -> None:
    for name in ("local", "dev", "staging", "prod"):
        assert StageSettings.from_context(name, STAGES).name == name


@pytest.mark.parametrize(
    ("stage", "override", "message"),
    [
        ("prod", {"removal": "destroy"}, "must retain data"),
        ("staging", {"removal": "destroy"}, "must retain data"),
        ("dev", {"removal": "sometimes"}, "removal must be"),
        ("dev", {"surprise": 1}, "unknown settings"),
        ("dev", {"checkpoint_lock_mode": "GOVERNANCE"}, "COMPLIANCE mode"),
        ("prod", {"checkpoint_lock_mode": "GOVERNANCE"}, "COMPLIANCE mode"),
        ("local", {"checkpoint_lock_mode": "LEGAL_HOLD"}, "checkpoint_lock_mode must be"),
        ("local", {"checkpoint_retention_days": 0}, "at least 1"),
    ],
)
def test_unsafe_or_unknown_settings_are_refused(
    stage: str, override: dict[str, object], message: str
) -> None:
    stages = {stage: {**STAGES[stage], **override}}
    with pytest.raises(StageSettingsError, match=message):
        StageSettings.from_context(stage, stages)


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(StageSettingsError, match="unknown stage"):
        StageSettings.from_context("qa", STAGES)
