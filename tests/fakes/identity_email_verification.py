"""An in-memory EmailVerificationStore with the DynamoDB adapter's single-use semantics."""

import threading
from collections.abc import Sequence
from dataclasses import replace

from echo_shared.events import EventEnvelope
from echo_shared.identity.email_verification import EmailVerification
from echo_shared.identity.errors import VerificationTokenUsed

from tests.fakes.events import InMemoryEventPublisher


class InMemoryEmailVerificationStore:
    def __init__(self, outbox: InMemoryEventPublisher | None = None) -> None:
        self.verifications: dict[str, EmailVerification] = {}
        self._lock = threading.Lock()
        self._outbox = outbox

    def put_verification(
        self, verification: EmailVerification, *, events: Sequence[EventEnvelope] = ()
    ) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        self.verifications[verification.verification_id] = verification
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def get_verification(self, verification_id: str) -> EmailVerification | None:
        return self.verifications.get(verification_id)

    def use_verification(self, verification_id: str, *, now: int) -> None:
        with self._lock:
            current = self.verifications.get(verification_id)
            if current is None or current.used_at is not None:
                raise VerificationTokenUsed("this verification link was already used")
            self.verifications[verification_id] = replace(current, used_at=now)
