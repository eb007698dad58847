"""Token service configuration."""

from echo_shared.identity.settings import IdentityServiceSettings
from echo_shared.settings import ResourceName
from pydantic import Field


class TokenSettings(IdentityServiceSettings):
    """Issuer, audience, tables, the bus, token lifetimes, and where the client-secret key is."""

    # The Secrets Manager secret whose value keys the client-secret HMAC (never the key itself).
    client_secret_key_arn: ResourceName = Field(validation_alias="CLIENT_AUTH_HMAC_KEY_ARN")
