"""Settings and adapters for the token service, built once per process on first use, and the
routes' `Service` dependency."""

from typing import Annotated

from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.client_secrets import ClientSecretHasher, key_from_secrets_manager
from echo_shared.identity.dynamodb import (
    DynamoClientRepository,
    DynamoConsentStore,
    DynamoGrantStore,
    DynamoSigningKeyRepository,
    DynamoUserRepository,
)
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.keys import PublishedKeys
from echo_shared.identity.kms import KmsKeyVault
from echo_shared.identity.signing import JwtSigner
from echo_shared.identity.verification import TokenVerifier
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
from fastapi import Depends

from token_service.logic import TokenService
from token_service.logic.issuance import TokenIssuer
from token_service.settings import TokenSettings

# Signing picks up a promoted key within a minute; verification also refreshes on an unknown kid.
KEYS_TTL_SECONDS = 60


@cached_resource
def get_settings() -> TokenSettings:
    return TokenSettings.from_env()


@cached_resource
def get_service() -> TokenService:
    settings = get_settings()
    outbox = DynamoOutbox(settings.outbox_table)
    grants = DynamoGrantStore(settings.identity_table, outbox=outbox)
    keys = PublishedKeys(
        DynamoSigningKeyRepository(settings.signing_keys_table), ttl_seconds=KEYS_TTL_SECONDS
    )
    signer = JwtSigner(KmsKeyVault(stage=settings.stage.value), keys.current)
    return TokenService(
        issuer_url=settings.issuer,
        clients=DynamoClientRepository(settings.identity_table),
        users=DynamoUserRepository(settings.identity_table),
        codes=grants,
        refresh_tokens=grants,
        revocations=grants,
        keys=keys,
        issuer=TokenIssuer(
            signer=signer,
            issuer=settings.issuer,
            audience=settings.access_token_audience,
            access_token_ttl=settings.access_token_ttl_seconds,
            id_token_ttl=settings.id_token_ttl_seconds,
        ),
        verifier=TokenVerifier(
            issuer=settings.issuer,
            audience=settings.access_token_audience,
            keys=keys,
            clock=utc_now,
            revocations=grants,
        ),
        client_secrets=ClientSecretHasher(key_from_secrets_manager(settings.client_secret_key_arn)),
        events=IdentityEvents(outbox),
        clock=utc_now,
        refresh_token_ttl=settings.refresh_token_ttl_seconds,
        consents=DynamoConsentStore(settings.identity_table),
    )


Service = Annotated[TokenService, Depends(get_service)]
