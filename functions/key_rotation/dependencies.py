"""Settings, the rotator and the event emitter, built once per process on first use."""

from echo_shared.events.outbox import DynamoOutbox
from echo_shared.identity.dynamodb import DynamoSigningKeyRepository
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.kms import KmsKeyVault
from echo_shared.identity.rotation import KeyRotator, RotationPolicy
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now

from key_rotation.settings import DAY, KeyRotationSettings


@cached_resource
def get_settings() -> KeyRotationSettings:
    return KeyRotationSettings.from_env()


@cached_resource
def get_rotator() -> KeyRotator:
    settings = get_settings()
    return KeyRotator(
        DynamoSigningKeyRepository(settings.signing_keys_table, outbox=_outbox()),
        KmsKeyVault(stage=settings.stage.value, deletion_window_days=settings.deletion_window_days),
        utc_now,
        RotationPolicy(
            rotation_period_seconds=settings.rotation_period_days * DAY,
            publish_ahead_seconds=settings.publish_ahead_seconds,
            max_jwt_lifetime_seconds=settings.max_jwt_lifetime_seconds,
        ),
    )


@cached_resource
def _outbox() -> DynamoOutbox:
    return DynamoOutbox(get_settings().outbox_table)


@cached_resource
def get_events() -> IdentityEvents:
    """Builds the events; the key store writes them (with each step) into the outbox."""
    return IdentityEvents(_outbox())
