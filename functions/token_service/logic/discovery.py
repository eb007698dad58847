"""The OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414): only what the OP really does."""

from typing import Any

from echo_shared.identity.claims import SIGNING_ALGORITHM

# The standard OIDC scopes, then the API scopes clients may be registered for (docs/identity.md).
SCOPES_SUPPORTED = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "documents:read",
    "documents:write",
    "audit:read",
    "logs:read",
    "users:admin",
    "authz:admin",
    "authz:check",
)
CLAIMS_SUPPORTED = (
    "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp",
    "email", "email_verified", "tenant", "roles",
)  # fmt: skip


def openid_configuration(issuer: str) -> dict[str, Any]:
    client_auth = ["client_secret_basic", "client_secret_post"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": [*client_auth, "none"],
        "revocation_endpoint_auth_methods_supported": [*client_auth, "none"],
        "introspection_endpoint_auth_methods_supported": client_auth,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
