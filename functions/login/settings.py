"""Login configuration."""

from echo_shared.identity.email_verification import VERIFICATION_TTL_SECONDS, parse_member_domains
from echo_shared.identity.settings import IdentityServiceSettings
from pydantic import Field, field_validator


class LoginSettings(IdentityServiceSettings):
    """Issuer, tables, the bus and grant lifetimes; cookies are `Secure` + `__Host-` when the
    issuer is served over https."""

    # The verified-email rule: `tenant=domain[,domain] ...` (see echo_shared.identity.email_verification).
    member_email_domains: str = Field(default="", validation_alias="MEMBER_EMAIL_DOMAINS")
    email_verification_ttl_seconds: int = Field(
        default=VERIFICATION_TTL_SECONDS,
        ge=600,
        le=7 * 24 * 3600,
        validation_alias="EMAIL_VERIFICATION_TTL_SECONDS",
    )

    @field_validator("member_email_domains")
    @classmethod
    def _domains_parse(cls, value: str) -> str:
        parse_member_domains(value)
        return value

    @property
    def member_domains(self) -> dict[str, frozenset[str]]:
        return parse_member_domains(self.member_email_domains)
