"""An in-memory ConsentStore, keyed like the DynamoDB adapter: (tenant, user) -> client -> consent."""

from echo_shared.identity.consents import Consent


class InMemoryConsentStore:
    def __init__(self) -> None:
        self.consents: dict[tuple[str, str], dict[str, Consent]] = {}

    def get_consent(self, tenant: str, user_id: str, client_id: str) -> Consent | None:
        return self.consents.get((tenant, user_id), {}).get(client_id)

    def put_consent(self, consent: Consent) -> None:
        self.consents.setdefault((consent.tenant, consent.user_id), {})[consent.client_id] = consent

    def list_consents(self, tenant: str, user_id: str) -> list[Consent]:
        by_client = self.consents.get((tenant, user_id), {})
        return [by_client[client_id] for client_id in sorted(by_client)]

    def delete_consent(self, tenant: str, user_id: str, client_id: str) -> Consent | None:
        return self.consents.get((tenant, user_id), {}).pop(client_id, None)

    def delete_user_consents(self, tenant: str, user_id: str) -> int:
        return len(self.consents.pop((tenant, user_id), {}))
