"""What the token service does, one module a concern: `exchange` (the grants of /token),
`issuance` (signing access and ID tokens), `introspection` (/introspect, /revoke, /userinfo),
`client_auth` and `discovery`. Here: their collaborators, as ports, wired to DynamoDB/KMS/SNS in
dependencies.py and to in-memory fakes in unit tests."""

from dataclasses import dataclass

from echo_shared.identity.client_secrets import ClientSecretHasher
from echo_shared.identity.clients import ClientRepository
from echo_shared.identity.consents import ConsentStore
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.grants import AuthorizationCodeStore, RefreshTokenStore, RevocationList
from echo_shared.identity.keys import PublishedKeys
from echo_shared.identity.users import UserRepository
from echo_shared.identity.verification import TokenVerifier
from echo_shared.timeutil import Clock

from token_service.logic.issuance import TokenIssuer


@dataclass(frozen=True, slots=True)
class TokenService:
    issuer_url: str
    clients: ClientRepository
    users: UserRepository
    codes: AuthorizationCodeStore
    refresh_tokens: RefreshTokenStore
    revocations: RevocationList
    keys: PublishedKeys
    issuer: TokenIssuer
    verifier: TokenVerifier
    client_secrets: ClientSecretHasher
    events: IdentityEvents
    clock: Clock
    refresh_token_ttl: int
    consents: ConsentStore

    def now(self) -> int:
        return int(self.clock().timestamp())
