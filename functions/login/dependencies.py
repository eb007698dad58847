"""Settings and adapters for the login function, built once per process on first use, and the
routes' `Service` dependency."""

from typing import Annotated

from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.dynamodb import (
    DynamoAttemptStore,
    DynamoClientRepository,
    DynamoConsentStore,
    DynamoEmailVerificationStore,
    DynamoGrantStore,
    DynamoSigningKeyRepository,
    DynamoUserRepository,
)
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.keys import PublishedKeys
from echo_shared.identity.passwords import PasswordHasher
from echo_shared.identity.verification import TokenVerifier
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
from fastapi import Depends

from login.logic import LoginService
from login.settings import LoginSettings


@cached_resource
def get_settings() -> LoginSettings:
    return LoginSettings.from_env()


@cached_resource
def get_service() -> LoginService:
    settings = get_settings()
    grants = DynamoGrantStore(settings.identity_table)
    outbox = DynamoOutbox(settings.outbox_table)
    return LoginService(
        issuer_url=settings.issuer,
        clients=DynamoClientRepository(settings.identity_table),
        users=DynamoUserRepository(settings.identity_table, outbox=outbox),
        transactions=grants,
        sessions=grants,
        codes=grants,
        attempts=DynamoAttemptStore(settings.identity_table),
        hasher=PasswordHasher(),
        events=IdentityEvents(outbox),
        verifier=TokenVerifier(
            issuer=settings.issuer,
            audience=settings.access_token_audience,
            keys=PublishedKeys(DynamoSigningKeyRepository(settings.signing_keys_table)),
            clock=utc_now,
        ),
        clock=utc_now,
        auth_code_ttl=settings.auth_code_ttl_seconds,
        session_ttl=settings.session_ttl_seconds,
        login_ttl=settings.login_transaction_ttl_seconds,
        verifications=DynamoEmailVerificationStore(settings.identity_table, outbox=outbox),
        consents=DynamoConsentStore(settings.identity_table, outbox=outbox),
        member_domains=settings.member_domains,
        verification_ttl=settings.email_verification_ttl_seconds,
    )


Service = Annotated[LoginService, Depends(get_service)]
