"""Users API configuration."""

from echo_shared.identity.settings import IdentityServiceSettings


class UsersSettings(IdentityServiceSettings):
    """Tables and the bus; tokens were verified by the authorizer before any request gets here."""
