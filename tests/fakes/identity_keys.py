"""An in-memory SigningKeyRepository with the DynamoDB adapter's optimistic concurrency."""

from collections.abc import Sequence

from echo_shared.events import EventEnvelope
from echo_shared.identity.errors import Conflict
from echo_shared.identity.keys import KeyTransition, SigningKey


class InMemorySigningKeyRepository:
    def __init__(self) -> None:
        self.keys: dict[str, SigningKey] = {}
        # What the outbox took with each step, in order (the adapter's transaction, in memory).
        self.events: list[EventEnvelope] = []

    def list_keys(self) -> list[SigningKey]:
        return list(self.keys.values())

    def apply(self, transitions: Sequence[KeyTransition], events: Sequence[EventEnvelope] = ()) -> None:
        for transition in transitions:
            stored = self.keys.get(transition.key.kid)
            if (stored.state if stored else None) != transition.expected:
                raise Conflict("signing key state changed concurrently")
        for transition in transitions:
            self.keys[transition.key.kid] = transition.key
        self.events.extend(events)

    def remove(self, kid: str) -> None:
        """Test helper: a key deleted from storage altogether."""
        del self.keys[kid]
