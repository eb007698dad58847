"""The users API's collaborators, as ports."""

from dataclasses import dataclass

from echo_shared.authz.caller import DecidesChecks
from echo_shared.identity.attempts import AttemptStore
from echo_shared.identity.consents import ConsentStore
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.users import UserRepository
from echo_shared.timeutil import Clock


@dataclass(frozen=True, slots=True)
class UsersService:
    users: UserRepository
    attempts: AttemptStore
    events: IdentityEvents
    clock: Clock
    authz: DecidesChecks
    consents: ConsentStore

    def now(self) -> int:
        return int(self.clock().timestamp())
