"""Settings and adapters for the users API, built once per process on first use."""

from echo_shared.authz.runtime import default_client
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.dynamodb import DynamoAttemptStore, DynamoConsentStore, DynamoUserRepository
from echo_shared.identity.events import IdentityEvents
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now

from users.service import UsersService
from users.settings import UsersSettings


@cached_resource
def get_settings() -> UsersSettings:
    return UsersSettings.from_env()


@cached_resource
def get_service() -> UsersService:
    settings = get_settings()
    outbox = DynamoOutbox(settings.outbox_table)
    return UsersService(
        users=DynamoUserRepository(settings.identity_table, outbox=outbox),
        attempts=DynamoAttemptStore(settings.identity_table),
        consents=DynamoConsentStore(settings.identity_table),
        events=IdentityEvents(outbox),
        clock=utc_now,
        authz=default_client(),
    )
