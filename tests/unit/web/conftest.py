import pytest
from web.logic import WebService
from web.oidc import OidcClient
from web.settings import WebSettings

from tests.unit.web.fakes import ISSUER, WEB_URL, Clock, FakeIdentity, MemorySessionStore

ENV = {
    "ECHO_STAGE": "local",
    "POWERTOOLS_SERVICE_NAME": "web",
    "POWERTOOLS_METRICS_NAMESPACE": "Echo",
    "WEB_URL": WEB_URL,
    "ISSUER": ISSUER,
    "ECHO_API_URL": ISSUER + "/",
    "WEB_CLIENT_ID_PREFIX": "echo-web",
    "WEB_CLIENT_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:web",
    "WEB_SCOPE": "openid email documents:read",
    "SESSION_TABLE": "echo-test-web-sessions",
    "UPLOAD_ORIGINS": "https://uploads.echo.test",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> WebSettings:
    return WebSettings.from_env(ENV)


@pytest.fixture
def identity(clock: Clock) -> FakeIdentity:
    return FakeIdentity(clock)


@pytest.fixture
def store(clock: Clock) -> MemorySessionStore:
    return MemorySessionStore(clock)


@pytest.fixture
def service(
    settings: WebSettings, identity: FakeIdentity, store: MemorySessionStore, clock: Clock
) -> WebService:
    oidc = OidcClient(
        issuer=settings.issuer,
        client_secret=lambda: identity.secret,
        redirect_uri=settings.redirect_uri,
        scope=settings.scope,
        transport=identity,
        now=clock,
    )
    return WebService(settings=settings, store=store, oidc=oidc, transport=identity, now=clock)
