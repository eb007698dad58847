"""What the hosted login does, one module a flow: `authentication` (sign in, register),
`authorization` (the OAuth request, codes), `consent`, `email_verification`, `logout`, and `browser`
(the sessions and login transactions they share). Here: their collaborators, as ports (DynamoDB/SNS
in dependencies.py, in-memory fakes in tests)."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from echo_shared.identity.attempts import AttemptStore
from echo_shared.identity.clients import ClientRepository
from echo_shared.identity.consents import ConsentStore
from echo_shared.identity.email_verification import VERIFICATION_TTL_SECONDS, EmailVerificationStore
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.grants import AuthorizationCodeStore, LoginTransactionStore, SessionStore
from echo_shared.identity.passwords import PasswordHasher
from echo_shared.identity.users import UserRepository
from echo_shared.identity.verification import TokenVerifier
from echo_shared.timeutil import Clock


@dataclass(frozen=True, slots=True)
class LoginService:
    issuer_url: str
    clients: ClientRepository
    users: UserRepository
    transactions: LoginTransactionStore
    sessions: SessionStore
    codes: AuthorizationCodeStore
    attempts: AttemptStore
    hasher: PasswordHasher
    events: IdentityEvents
    verifier: TokenVerifier
    clock: Clock
    auth_code_ttl: int
    session_ttl: int
    login_ttl: int
    verifications: EmailVerificationStore
    consents: ConsentStore
    # The verified-email rule: tenant -> email domains whose verified guests become members.
    member_domains: Mapping[str, frozenset[str]] = field(default_factory=dict)
    verification_ttl: int = VERIFICATION_TTL_SECONDS

    @property
    def secure_cookies(self) -> bool:
        return self.issuer_url.startswith("https://")

    @property
    def audience(self) -> str:
        """Echo's API, the one resource a code may be bound to (RFC 8707, ADR 0012)."""
        return self.verifier.audience

    def now(self) -> int:
        return int(self.clock().timestamp())

    def url(self, path: str) -> str:
        return f"{self.issuer_url}{path}"
