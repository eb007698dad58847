"""Token service configuration."""

from echo_shared.identity.settings import IdentityServiceSettings


class TokenSettings(IdentityServiceSettings):
    """Issuer, audience, tables, the bus and token lifetimes; nothing specific to this function."""
