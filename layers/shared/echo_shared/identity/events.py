"""Identity events on the platform bus. Payloads hold identifiers and outcomes only: never a
password, token, code, secret or email (events land in the append-only audit chain, and deleting a
user must not leave their personal data in it). The one exception is `notification.*`: a message
for the mailer (address, link), which the bus routes only to the notifications queue."""

from dataclasses import dataclass
from enum import StrEnum

from pydantic import JsonValue

from echo_shared.events import EventEnvelope, EventPublisher, Outcome, new_event
from echo_shared.timeutil import Clock, utc_now

# Key rotation is not any tenant's business: it is recorded in the platform's own audit chain.
PLATFORM_TENANT = "platform"


class IdentityEvent(StrEnum):
    USER_REGISTERED = "user.registered"
    USER_LOGGED_IN = "user.logged_in"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_LOCKED_OUT = "user.locked_out"
    USER_LOGGED_OUT = "user.logged_out"
    USER_DISABLED = "user.disabled"
    USER_DELETED = "user.deleted"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_EMAIL_VERIFIED = "user.email_verified"
    # A notification for the mailer: carries an address and a link, so never audited or logged.
    EMAIL_VERIFICATION_REQUESTED = "notification.email_verification"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_REVOKED = "consent.revoked"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 (a protocol name, not a secret)
    TOKEN_REFRESHED = "token.refreshed"  # noqa: S105 (a protocol name, not a secret)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 (a protocol name, not a secret)
    TOKEN_REUSE_DETECTED = "token.reuse_detected"  # noqa: S105 (a protocol name, not a secret)
    KEY_ROTATED = "key.rotated"

    @property
    def action(self) -> str:
        return self.value.split(".", 1)[1]


ANONYMOUS = "anonymous"
SYSTEM = "system:identity"


@dataclass(frozen=True, slots=True)
class IdentityEvents:
    """Builds envelopes and emits them. The login, token and users functions emit into the outbox
    (ADR 0014): an event that reports a state change is built with `build` and handed to the store
    method that makes the change, which writes both in one transaction; `emit` writes a standalone
    event (one PutItem). A bus outage then only delays events; an outbox the store cannot write
    fails the request (503) like the state change would. Key rotation does the same: each step's
    `key.rotated` commits with the step."""

    publisher: EventPublisher
    clock: Clock = utc_now

    def build(
        self,
        event: IdentityEvent,
        *,
        tenant: str,
        actor: str,
        resource: str,
        request_id: str,
        outcome: Outcome = Outcome.SUCCESS,
        data: dict[str, JsonValue] | None = None,
    ) -> EventEnvelope:
        return new_event(
            type=event.value,
            tenant=tenant,
            actor=actor,
            action=event.action,
            resource=resource,
            outcome=outcome,
            request_id=request_id or "unknown",
            data=data,
            clock=self.clock,
        )

    def emit(
        self,
        event: IdentityEvent,
        *,
        tenant: str,
        actor: str,
        resource: str,
        request_id: str,
        outcome: Outcome = Outcome.SUCCESS,
        data: dict[str, JsonValue] | None = None,
    ) -> None:
        self.publish(
            self.build(
                event,
                tenant=tenant,
                actor=actor,
                resource=resource,
                request_id=request_id,
                outcome=outcome,
                data=data,
            )
        )

    def publish(self, envelope: EventEnvelope) -> None:
        """Write one event built with `build` on its own (no state change carries it): one outbox
        PutItem; if DynamoDB refuses it, `OutboxUnavailable` fails the request (503)."""
        self.publisher.publish(envelope)
