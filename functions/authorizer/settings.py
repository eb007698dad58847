"""Authorizer configuration, loaded without pydantic (its import was a third of the cold start).

The fields are `IdentitySettings`' plus the two below, read by `echo_shared.environment.EnvReader`
with the rules the pydantic models use; a unit test compares both loaders on the same environments.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from echo_shared.environment import (
    EnvReader,
    LogLevel,
    Stage,
    env_settings_values,
    refuse_debug_logs_outside_sandbox,
)
from echo_shared.identity.environment import identity_settings_values, refuse_http_outside_sandbox


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizerSettings:
    stage: Stage
    service_name: str
    metrics_namespace: str
    log_level: LogLevel
    issuer: str
    access_token_audience: str
    identity_table: str
    signing_keys_table: str
    access_token_ttl_seconds: int
    id_token_ttl_seconds: int
    # The warm container's JWKS cache; an unknown kid still triggers one reload.
    jwks_cache_seconds: int
    # Revocation (a replayed code, a reused refresh token, /revoke) is checked on every uncached call.
    check_revocation: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        reader = EnvReader(os.environ if environ is None else environ)
        values = {
            **env_settings_values(reader),
            **identity_settings_values(reader),
            "jwks_cache_seconds": reader.integer("JWKS_CACHE_SECONDS", default=300, ge=10, le=3600),
            "check_revocation": reader.boolean("AUTHORIZER_CHECK_REVOCATION", default=True),
        }
        # The model validators of EnvSettings, then IdentitySettings, in pydantic's order.
        return reader.settings(
            cls,
            values,
            lambda: refuse_debug_logs_outside_sandbox(values["stage"], values["log_level"]),
            lambda: refuse_http_outside_sandbox(values["issuer"], values["stage"]),
        )
