"""An in-memory ClientRepository."""

from echo_shared.identity.clients import OAuthClient


class InMemoryClientRepository:
    def __init__(self, *clients: OAuthClient) -> None:
        self._clients = {client.client_id: client for client in clients}

    def get(self, client_id: str) -> OAuthClient | None:
        return self._clients.get(client_id)

    def put(self, client: OAuthClient) -> None:
        self._clients[client.client_id] = client
