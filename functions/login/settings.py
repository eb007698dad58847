"""Login configuration."""

from echo_shared.identity.settings import IdentityServiceSettings


class LoginSettings(IdentityServiceSettings):
    """Issuer, tables, the bus and grant lifetimes; cookies are `Secure` + `__Host-` when the
    issuer is served over https."""
