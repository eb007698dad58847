"""Test doubles and factories shared by the identity test tiers (imported as tests.unit.identity.fakes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from echo_shared.identity.claims import PrincipalType, Role, access_token_claims
from echo_shared.identity.client_secrets import ClientSecretHasher
from echo_shared.identity.clients import (
    AuthMethod,
    ClientType,
    GrantType,
    OAuthClient,
)
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.grants import AuthorizationCode, handle_digest, new_handle
from echo_shared.identity.keys import PublishedKeys
from echo_shared.identity.passwords import PasswordHasher
from echo_shared.identity.rotation import KeyRotator, RotationPolicy
from echo_shared.identity.signing import JwtSigner
from echo_shared.identity.users import User
from echo_shared.identity.verification import TokenVerifier
from login.logic import LoginService
from token_service.logic import TokenService
from token_service.logic.exchange import pkce_s256
from token_service.logic.issuance import TokenIssuer

from tests.fakes.events import InMemoryEventPublisher
from tests.fakes.identity_attempts import InMemoryAttemptStore
from tests.fakes.identity_clients import InMemoryClientRepository
from tests.fakes.identity_consents import InMemoryConsentStore
from tests.fakes.identity_email_verification import InMemoryEmailVerificationStore
from tests.fakes.identity_grants import InMemoryGrantStore
from tests.fakes.identity_keys import InMemorySigningKeyRepository
from tests.fakes.identity_signing import InMemoryKeyVault
from tests.fakes.identity_users import InMemoryUserRepository

ISSUER = "https://id.echo.test/v1"
AUDIENCE = "urn:echo:api:test"
TENANT = "demo"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
PUBLIC_CLIENT_ID = "echo-web"
SERVICE_CLIENT_ID = "echo-service"
THIRD_PARTY_CLIENT_ID = "partner-app"
SERVICE_SECRET = "service-secret-0123456789abcdefghijklmnop"
PASSWORD = "correct horse battery staple 42"
HOUR = 3600
DAY = 24 * HOUR


class FakeClock:
    """A clock the test drives; nothing ever sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        self.monotonic_seconds = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.monotonic_seconds += seconds

    def monotonic(self) -> float:
        return self.monotonic_seconds

    @property
    def epoch(self) -> int:
        return int(self.now.timestamp())


_HASHER = PasswordHasher()
CLIENT_SECRET_KEY = b"k" * 32
_CLIENT_SECRETS = ClientSecretHasher(CLIENT_SECRET_KEY)


def hasher() -> PasswordHasher:
    return _HASHER


def public_client(**changes: object) -> OAuthClient:
    values: dict[str, object] = {
        "client_id": PUBLIC_CLIENT_ID,
        "tenant": TENANT,
        "name": "Echo web",
        "client_type": ClientType.PUBLIC,
        "auth_method": AuthMethod.NONE,
        "grant_types": frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}),
        "allowed_scopes": frozenset({"openid", "profile", "email", "offline_access", "audit:read"}),
        "redirect_uris": (REDIRECT_URI,),
        "post_logout_redirect_uris": ("http://127.0.0.1:8765/",),
        "allow_registration": True,
        "first_party": True,
        **changes,
    }
    return OAuthClient(**values)  # type: ignore[arg-type]


def third_party_client(**changes: object) -> OAuthClient:
    """A public client that is not Echo's own: its users are asked to consent."""
    values: dict[str, object] = {
        "client_id": THIRD_PARTY_CLIENT_ID,
        "tenant": TENANT,
        "name": "Partner app",
        "client_type": ClientType.PUBLIC,
        "auth_method": AuthMethod.NONE,
        "grant_types": frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}),
        "allowed_scopes": frozenset({"openid", "profile", "email", "offline_access", "documents:read"}),
        "redirect_uris": (REDIRECT_URI,),
        **changes,
    }
    return OAuthClient(**values)  # type: ignore[arg-type]


def service_client(**changes: object) -> OAuthClient:
    values: dict[str, object] = {
        "client_id": SERVICE_CLIENT_ID,
        "tenant": TENANT,
        "name": "Echo service",
        "client_type": ClientType.CONFIDENTIAL,
        "auth_method": AuthMethod.SECRET_BASIC,
        "grant_types": frozenset({GrantType.CLIENT_CREDENTIALS}),
        "allowed_scopes": frozenset({"audit:read", "documents:read"}),
        "secret_hash": _CLIENT_SECRETS.hash(SERVICE_SECRET),
        "roles": ("auditor",),
        **changes,
    }
    return OAuthClient(**values)  # type: ignore[arg-type]


def user(
    user_id: str = "usr_alice", email: str = "alice@example.com", roles: tuple[Role, ...] = (Role.MEMBER,)
) -> User:
    return User(
        tenant=TENANT,
        user_id=user_id,
        email=email,
        password_hash=_HASHER.hash(PASSWORD),
        roles=roles,
        created_at=1,
        updated_at=1,
    )


@dataclass
class KeyRing:
    """Signing keys as the token service sees them: repository, vault, rotator, published cache."""

    clock: FakeClock
    repository: InMemorySigningKeyRepository = field(default_factory=InMemorySigningKeyRepository)
    vault: InMemoryKeyVault = field(default_factory=InMemoryKeyVault)
    max_jwt_lifetime: int = 960

    def __post_init__(self) -> None:
        self.rotator = KeyRotator(
            self.repository,
            self.vault,
            self.clock,
            RotationPolicy(
                rotation_period_seconds=30 * DAY,
                publish_ahead_seconds=DAY,
                max_jwt_lifetime_seconds=self.max_jwt_lifetime,
            ),
        )
        self.rotator.ensure_current()
        self.published = PublishedKeys(self.repository, ttl_seconds=300, monotonic=self.clock.monotonic)
        self.signer = JwtSigner(self.vault, self.published.current)

    def verifier(self, **changes: object) -> TokenVerifier:
        values: dict[str, object] = {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "keys": self.published,
            "clock": self.clock,
            **changes,
        }
        return TokenVerifier(**values)  # type: ignore[arg-type]

    def access_token(self, **overrides: object) -> str:
        now = self.clock.epoch
        claims = access_token_claims(
            issuer=ISSUER,
            audience=AUDIENCE,
            subject="usr_alice",
            client_id=PUBLIC_CLIENT_ID,
            tenant=TENANT,
            roles=("member",),
            scope=("openid", "email"),
            principal_type=PrincipalType.USER,
            jti="jti-1",
            issued_at=now,
            expires_at=now + 900,
        )
        claims.update(overrides)
        return self.signer.sign(claims, typ="at+jwt")


@dataclass
class TokenWorld:
    """The token service over in-memory fakes, plus handles on every fake for assertions."""

    clock: FakeClock
    ring: KeyRing
    clients: InMemoryClientRepository
    users: InMemoryUserRepository
    grants: InMemoryGrantStore
    published: InMemoryEventPublisher
    service: TokenService
    consents: InMemoryConsentStore

    def event_types(self) -> list[str]:
        return [event.type for event in self.published.published]

    def put_code(
        self,
        *,
        verifier: str = "v" * 43,
        scope: tuple[str, ...] = ("openid", "email", "offline_access"),
        client_id: str = PUBLIC_CLIENT_ID,
        user_id: str = "usr_alice",
        nonce: str | None = "n-0S6_WzA2Mj",
        challenge: str | None = None,
        resource: str | None = None,
    ) -> str:
        code = new_handle()
        self.grants.put_code(
            AuthorizationCode(
                code_hash=handle_digest(code),
                client_id=client_id,
                tenant=TENANT,
                user_id=user_id,
                redirect_uri=REDIRECT_URI,
                scope=scope,
                code_challenge=challenge or pkce_s256(verifier),
                auth_time=self.clock.epoch,
                expires_at=self.clock.epoch + 60,
                nonce=nonce,
                resource=resource,
            )
        )
        return code


def token_world(clock: FakeClock | None = None) -> TokenWorld:
    clock = clock or FakeClock()
    ring = KeyRing(clock)
    clients = InMemoryClientRepository(public_client(), service_client(), third_party_client())
    users = InMemoryUserRepository()
    users.create(user())
    published = InMemoryEventPublisher()  # the outbox
    grants = InMemoryGrantStore(published)
    consents = InMemoryConsentStore(published)
    service = TokenService(
        issuer_url=ISSUER,
        clients=clients,
        users=users,
        codes=grants,
        refresh_tokens=grants,
        revocations=grants,
        keys=ring.published,
        issuer=TokenIssuer(
            signer=ring.signer, issuer=ISSUER, audience=AUDIENCE, access_token_ttl=900, id_token_ttl=900
        ),
        verifier=ring.verifier(revocations=grants),
        client_secrets=_CLIENT_SECRETS,
        events=IdentityEvents(published, clock),
        clock=clock,
        refresh_token_ttl=30 * DAY,
        consents=consents,
    )
    return TokenWorld(clock, ring, clients, users, grants, published, service, consents)


@dataclass
class LoginWorld:
    clock: FakeClock
    users: InMemoryUserRepository
    grants: InMemoryGrantStore
    attempts: InMemoryAttemptStore
    published: InMemoryEventPublisher
    hasher: SpyHasher
    service: LoginService
    verifications: InMemoryEmailVerificationStore
    consents: InMemoryConsentStore

    def event_types(self) -> list[str]:
        return [event.type for event in self.published.published]


class SpyHasher(PasswordHasher):
    """The real argon2 hasher, counting which verification ran (real or dummy)."""

    def __init__(self) -> None:
        super().__init__()
        self.real = 0
        self.dummy = 0

    def verify(self, secret: str, hashed: str) -> tuple[bool, str | None]:
        self.real += 1
        return super().verify(secret, hashed)

    def verify_dummy(self, secret: str) -> None:
        self.dummy += 1
        super().verify_dummy(secret)


def login_world(clock: FakeClock | None = None) -> LoginWorld:
    clock = clock or FakeClock()
    ring = KeyRing(clock)
    published = InMemoryEventPublisher()  # the outbox: standalone events and state changes' events
    users = InMemoryUserRepository(published)
    users.create(user())
    grants = InMemoryGrantStore()
    attempts = InMemoryAttemptStore()
    spy = SpyHasher()
    verifications = InMemoryEmailVerificationStore(published)
    consents = InMemoryConsentStore(published)
    service = LoginService(
        issuer_url=ISSUER,
        clients=InMemoryClientRepository(public_client(), service_client(), third_party_client()),
        users=users,
        transactions=grants,
        sessions=grants,
        codes=grants,
        attempts=attempts,
        hasher=spy,
        events=IdentityEvents(published, clock),
        verifier=ring.verifier(),
        clock=clock,
        auth_code_ttl=60,
        session_ttl=8 * HOUR,
        login_ttl=900,
        verifications=verifications,
        member_domains={TENANT: frozenset({"vouched.example"})},
        consents=consents,
    )
    return LoginWorld(clock, users, grants, attempts, published, spy, service, verifications, consents)
