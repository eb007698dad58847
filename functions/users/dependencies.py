"""Settings and adapters for the users API, built once per process on first use, and the routes'
request dependencies."""

from typing import Annotated

from echo_shared.authz.caller import Caller, caller_from_event
from echo_shared.authz.runtime import default_client
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.dynamodb import DynamoAttemptStore, DynamoConsentStore, DynamoUserRepository
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.web import lambda_event
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
from fastapi import Depends, Request

from users.logic import UsersService
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


def current_caller(request: Request) -> Caller:
    """API Gateway only invokes these routes after the authorizer allowed the token."""
    return caller_from_event(lambda_event(request))


CurrentCaller = Annotated[Caller, Depends(current_caller)]
Service = Annotated[UsersService, Depends(get_service)]
