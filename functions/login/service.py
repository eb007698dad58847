"""The login function's collaborators, as ports (DynamoDB/SNS in dependencies.py, fakes in tests)."""

from dataclasses import dataclass

from echo_shared.identity.attempts import AttemptStore
from echo_shared.identity.clients import ClientRepository
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

    @property
    def secure_cookies(self) -> bool:
        return self.issuer_url.startswith("https://")

    def now(self) -> int:
        return int(self.clock().timestamp())

    def url(self, path: str) -> str:
        return f"{self.issuer_url}{path}"
