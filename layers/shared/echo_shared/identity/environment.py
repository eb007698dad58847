"""The identity functions' environment rules, shared by `IdentitySettings` and the plain loader.

The authorizer loads its settings with `echo_shared.environment.EnvReader` (no pydantic on its cold
start); `echo_shared.identity.settings` builds the pydantic models on the same rules.
"""

from typing import Any
from urllib.parse import urlsplit

from echo_shared.environment import EnvReader, Stage

# Access and ID token lifetimes (seconds): default, least, most.
TOKEN_TTL_DEFAULT, TOKEN_TTL_MIN, TOKEN_TTL_MAX = 900, 60, 3600


def issuer_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("ISSUER must be an absolute http(s) URL without query or fragment")
    return value.rstrip("/")


def refuse_http_outside_sandbox(issuer: str, stage: Stage) -> None:
    if not issuer.startswith("https://") and not stage.is_sandbox:
        raise ValueError("ISSUER must use https outside the local and dev stages")


def identity_settings_values(reader: EnvReader) -> dict[str, Any]:
    """What `IdentitySettings` reads on top of `EnvSettings`."""
    return {
        "issuer": reader.text("ISSUER", issuer_url),
        "access_token_audience": reader.resource_name("ACCESS_TOKEN_AUDIENCE"),
        "identity_table": reader.resource_name("IDENTITY_TABLE"),
        "signing_keys_table": reader.resource_name("SIGNING_KEYS_TABLE"),
        "access_token_ttl_seconds": reader.integer(
            "ACCESS_TOKEN_TTL_SECONDS", default=TOKEN_TTL_DEFAULT, ge=TOKEN_TTL_MIN, le=TOKEN_TTL_MAX
        ),
        "id_token_ttl_seconds": reader.integer(
            "ID_TOKEN_TTL_SECONDS", default=TOKEN_TTL_DEFAULT, ge=TOKEN_TTL_MIN, le=TOKEN_TTL_MAX
        ),
    }
