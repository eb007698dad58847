"""Web app configuration, read once per process (see stacks/web.py)."""

from typing import Annotated, Self
from urllib.parse import urlsplit

from echo_shared.settings import EnvSettings, ResourceName
from pydantic import AfterValidator, Field, field_validator, model_validator


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an absolute http(s) URL without query or fragment")
    return value


def _with_slash(value: str) -> str:
    return value if value.endswith("/") else value + "/"


type BaseUrl = Annotated[str, AfterValidator(_base_url)]


class WebSettings(EnvSettings):
    """Who the app is (its public URL and OIDC client), where sessions live and how long they last."""

    web_url: Annotated[BaseUrl, AfterValidator(_with_slash)] = Field(validation_alias="WEB_URL")
    issuer: Annotated[BaseUrl, AfterValidator(lambda v: v.rstrip("/"))] = Field(validation_alias="ISSUER")
    api_url: Annotated[BaseUrl, AfterValidator(_with_slash)] = Field(validation_alias="ECHO_API_URL")
    # The app is registered as one confidential client per tenant: `{prefix}-{tenant}`.
    client_id_prefix: ResourceName = Field(validation_alias="WEB_CLIENT_ID_PREFIX")
    default_tenant: str | None = Field(default=None, validation_alias="WEB_DEFAULT_TENANT")
    client_secret_arn: ResourceName = Field(validation_alias="WEB_CLIENT_SECRET_ARN")
    scope: ResourceName = Field(validation_alias="WEB_SCOPE")
    session_table: ResourceName = Field(validation_alias="SESSION_TABLE")
    session_idle_seconds: int = Field(
        default=1800, ge=60, le=24 * 3600, validation_alias="SESSION_IDLE_SECONDS"
    )
    session_absolute_seconds: int = Field(
        default=8 * 3600, ge=300, le=7 * 24 * 3600, validation_alias="SESSION_ABSOLUTE_SECONDS"
    )
    # Where the browser uploads (the documents bucket's presigned POST origin): CSP connect-src.
    upload_origins: tuple[str, ...] = Field(default=(), validation_alias="UPLOAD_ORIGINS")
    login_ttl_seconds: int = Field(default=600, ge=60, le=3600, validation_alias="LOGIN_TTL_SECONDS")
    api_timeout_seconds: float = Field(default=20.0, gt=0, le=29, validation_alias="API_TIMEOUT_SECONDS")
    # Chromium stores `Secure` cookies from http://127.0.0.1 and http://localhost (potentially
    # trustworthy origins), so the local stage keeps `__Host-` + `Secure` too (docs/web.md).
    secure_cookie_on_loopback: bool = Field(default=True, validation_alias="SECURE_COOKIE_ON_LOOPBACK")

    @field_validator("upload_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return tuple(part for part in value.split() if part) if isinstance(value, str) else value

    def client_id(self, tenant: str) -> str:
        return f"{self.client_id_prefix}-{tenant}"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.web_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def base_path(self) -> str:
        return urlsplit(self.web_url).path

    @property
    def redirect_uri(self) -> str:
        return self.web_url + "callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.web_url + "signed-out"

    @property
    def secure_cookie(self) -> bool:
        parts = urlsplit(self.web_url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        return parts.scheme == "https" or (loopback and self.secure_cookie_on_loopback)

    @model_validator(mode="after")
    def _https_outside_sandbox(self) -> Self:
        if not self.stage.is_sandbox and not (
            self.web_url.startswith("https://") and self.issuer.startswith("https://")
        ):
            raise ValueError("WEB_URL and ISSUER must use https outside the local and dev stages")
        if self.session_idle_seconds > self.session_absolute_seconds:
            raise ValueError("SESSION_IDLE_SECONDS cannot exceed SESSION_ABSOLUTE_SECONDS")
        return self
