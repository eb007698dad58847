import pytest
from audit_api.settings import AuditApiSettings
from audit_notary.settings import NotarySettings
from echo_shared.settings import AuditStoreSettings, SettingsError, Stage
from log_sink.settings import LogSinkSettings


def test_settings_are_read_from_the_environment(echo_env: dict[str, str]) -> None:
    settings = AuditApiSettings.from_env()
    assert settings.stage is Stage.LOCAL
    assert settings.audit_chain_table == echo_env["AUDIT_CHAIN_TABLE"]
    assert settings.log_table == echo_env["LOG_TABLE"]
    assert settings.base_path == "/"


def test_missing_variables_are_named_without_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bucket name that must never be printed, and a missing table name
    monkeypatch.setenv("CHECKPOINT_BUCKET", "do-not-print-me")
    monkeypatch.delenv("AUDIT_CHAIN_TABLE")

    # When the settings are loaded
    with pytest.raises(SettingsError) as caught:
        AuditStoreSettings.from_env()

    # Then the error names the variable, not any value
    assert "AUDIT_CHAIN_TABLE" in str(caught.value)
    assert "do-not-print-me" not in str(caught.value)


def test_debug_logging_is_refused_in_prod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_STAGE", "prod")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    with pytest.raises(SettingsError, match="DEBUG"):
        AuditApiSettings.from_env()
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    assert AuditApiSettings.from_env().stage is Stage.PROD


@pytest.mark.parametrize("days", ["0", "-1", "3651", "thirty"])
def test_log_retention_must_be_a_sane_number_of_days(monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    monkeypatch.setenv("LOG_RETENTION_DAYS", days)
    with pytest.raises(SettingsError, match="LOG_RETENTION_DAYS"):
        LogSinkSettings.from_env()


def test_unknown_stage_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_STAGE", "production")
    with pytest.raises(SettingsError, match="ECHO_STAGE"):
        AuditStoreSettings.from_env()


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_the_notary_refuses_governance_locks_outside_local(
    monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # Given a stage on AWS and a checkpoint lock that a privileged principal could bypass
    monkeypatch.setenv("ECHO_STAGE", stage)
    # Then the notary does not start
    with pytest.raises(SettingsError, match="COMPLIANCE"):
        NotarySettings.from_env()
    monkeypatch.setenv("CHECKPOINT_LOCK_MODE", "COMPLIANCE")
    assert NotarySettings.from_env().checkpoint_retention_days == 1


def test_the_notary_needs_a_retention_of_at_least_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINT_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match="CHECKPOINT_RETENTION_DAYS"):
        NotarySettings.from_env()
