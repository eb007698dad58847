"""The authorizer's plain settings loader reads what the pydantic IdentitySettings model read."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from authorizer import settings as plain
from echo_shared.identity.settings import IdentitySettings
from echo_shared.settings import SettingsError, Stage
from pydantic import Field


class AuthorizerSettings(IdentitySettings):
    """The pydantic model the plain loader replaced (issue 10), the reference for its rules."""

    jwks_cache_seconds: int = Field(default=300, ge=10, le=3600, validation_alias="JWKS_CACHE_SECONDS")
    check_revocation: bool = Field(default=True, validation_alias="AUTHORIZER_CHECK_REVOCATION")


VALID = {
    "ECHO_STAGE": "local",
    "POWERTOOLS_SERVICE_NAME": "authorizer",
    "POWERTOOLS_METRICS_NAMESPACE": "Echo",
    "ISSUER": "http://localhost:4566/v1/",
    "ACCESS_TOKEN_AUDIENCE": "urn:echo:api",
    "IDENTITY_TABLE": "identity",
    "SIGNING_KEYS_TABLE": "signing-keys",
}
# Per variable: values at and beyond each rule's edges, and pydantic's lax string parsing.
CANDIDATES: dict[str, list[str]] = {
    "ECHO_STAGE": ["local", "dev", "staging", "prod", "LOCAL", " local", ""],
    "POWERTOOLS_SERVICE_NAME": ["", "  ", " a ", "a" * 2048, "a" * 2049, "\tsvc\n"],
    "POWERTOOLS_METRICS_NAMESPACE": ["", "Echo", " x"],
    "LOG_LEVEL": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "debug", "", "TRACE"],
    "ISSUER": [
        "https://id.example/v1",
        "https://id.example/v1//",
        "http://x",
        " http://x",
        "ftp://x",
        "https://",
        "https://x?a=1",
        "https://x#f",
        "x",
        "",
    ],
    "ACCESS_TOKEN_AUDIENCE": ["", " aud ", "urn:x"],
    "IDENTITY_TABLE": ["", " t", "a" * 2049],
    "SIGNING_KEYS_TABLE": ["", "k"],
    "ACCESS_TOKEN_TTL_SECONDS": [
        "59",
        "60",
        "3600",
        "3601",
        " 900 ",
        "9_00",
        "900.0",
        "900.",
        "900.5",
        "x",
        "",
    ],
    "ID_TOKEN_TTL_SECONDS": ["60", "+600", "0600", "-60", "1e3", "0x100", "٣٠٠", "900.00"],
    "JWKS_CACHE_SECONDS": ["9", "10", "3600", "3601", "1_000", "10.0", "abc", ""],
    "AUTHORIZER_CHECK_REVOCATION": ["true", "TRUE", "off", "No", "y", "1", "0", "2", " yes", ""],
}


def pydantic_verdict(environ: dict[str, str]) -> dict[str, Any] | str:
    try:
        return AuthorizerSettings.from_env(environ).model_dump()
    except SettingsError as exc:
        return str(exc)


def plain_verdict(environ: dict[str, str]) -> dict[str, Any] | str:
    try:
        return dataclasses.asdict(plain.AuthorizerSettings.from_env(environ))
    except SettingsError as exc:
        return str(exc)


def test_the_deployed_environment_loads_the_same_settings() -> None:
    loaded = plain.AuthorizerSettings.from_env(VALID)
    assert plain_verdict(VALID) == pydantic_verdict(VALID)
    assert loaded.stage is Stage.LOCAL
    assert (loaded.issuer, loaded.jwks_cache_seconds, loaded.check_revocation) == (
        "http://localhost:4566/v1",
        300,
        True,
    )


def test_an_empty_environment_names_every_missing_variable_as_pydantic_did() -> None:
    assert plain_verdict({}) == pydantic_verdict({})
    assert str(plain_verdict({})).startswith("invalid AuthorizerSettings: ECHO_STAGE: Field required;")


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in CANDIDATES.items() for v in vs])
def test_each_variable_is_read_as_pydantic_read_it(name: str, value: str) -> None:
    for stage in ("local", "prod"):
        environ = {**VALID, "ECHO_STAGE": stage, name: value}
        assert plain_verdict(environ) == pydantic_verdict(environ)


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_missing_variable_is_reported_as_pydantic_reported_it(name: str) -> None:
    environ = {k: v for k, v in VALID.items() if k != name}
    assert plain_verdict(environ) == pydantic_verdict(environ)


def test_random_environments_get_the_same_values_or_the_same_errors() -> None:
    # Given random environments mixing valid and edge values, some variables unset
    generator = random.Random(10)
    for _ in range(2000):
        environ = {
            name: generator.choice([VALID.get(name, values[0]), *values])
            for name, values in CANDIDATES.items()
            if generator.random() > 0.15
        }
        # Then both loaders agree: the same values, or the same message (several problems in order)
        assert plain_verdict(environ) == pydantic_verdict(environ), environ
