"""An in-memory ConsentStore, keyed like the DynamoDB adapter: (tenant, user) -> client -> consent;
a change and its events land together, as in the adapter's transaction."""

from collections.abc import Sequence

from echo_shared.events import EventEnvelope
from echo_shared.identity.consents import Consent

from tests.fakes.events import InMemoryEventPublisher


class InMemoryConsentStore:
    def __init__(self, outbox: InMemoryEventPublisher | None = None) -> None:
        self._outbox = outbox
        self.consents: dict[tuple[str, str], dict[str, Consent]] = {}

    def get_consent(self, tenant: str, user_id: str, client_id: str) -> Consent | None:
        return self.consents.get((tenant, user_id), {}).get(client_id)

    def put_consent(self, consent: Consent, *, events: Sequence[EventEnvelope] = ()) -> None:
        self._check(events)
        self.consents.setdefault((consent.tenant, consent.user_id), {})[consent.client_id] = consent
        self._write(events)

    def list_consents(self, tenant: str, user_id: str) -> list[Consent]:
        by_client = self.consents.get((tenant, user_id), {})
        return [by_client[client_id] for client_id in sorted(by_client)]

    def delete_consent(self, consent: Consent, *, events: Sequence[EventEnvelope] = ()) -> bool:
        self._check(events)
        by_client = self.consents.get((consent.tenant, consent.user_id), {})
        stored = by_client.get(consent.client_id)
        if stored is None or stored.updated_at != consent.updated_at:
            return False
        del by_client[consent.client_id]
        self._write(events)
        return True

    def delete_user_consents(self, tenant: str, user_id: str) -> int:
        return len(self.consents.pop((tenant, user_id), {}))

    def _check(self, events: Sequence[EventEnvelope]) -> None:
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")

    def _write(self, events: Sequence[EventEnvelope]) -> None:
        if self._outbox is not None:
            self._outbox.published.extend(events)
