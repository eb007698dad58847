"""Settings and the token verifier, built once per warm container."""

from echo_shared.identity.keys import PublishedKeys
from echo_shared.identity.verification import TokenVerifier
from echo_shared.identity.verification_store import RevocationList, SigningKeyReader, dynamodb_client
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now

from authorizer.settings import AuthorizerSettings


@cached_resource
def get_settings() -> AuthorizerSettings:
    return AuthorizerSettings.from_env()


@cached_resource
def get_verifier() -> TokenVerifier:
    settings = get_settings()
    dynamodb = dynamodb_client()
    keys = PublishedKeys(
        SigningKeyReader(settings.signing_keys_table, dynamodb), ttl_seconds=settings.jwks_cache_seconds
    )
    return TokenVerifier(
        issuer=settings.issuer,
        audience=settings.access_token_audience,
        keys=keys,
        clock=utc_now,
        revocations=RevocationList(settings.identity_table, dynamodb) if settings.check_revocation else None,
    )
