"""The entity provider port: where the facts about principals and documents come from.

Lookups are always within one tenant (the asker's), so another tenant's data is never read.
Adapters raise EntityStoreUnavailable when their store cannot answer; the client denies then.
"""

from collections.abc import Iterable, Iterator
from typing import Protocol

from echo_shared.authz.model import DocumentMetadata, EntityRef, Principal


class EntityProvider(Protocol):
    def principal(self, tenant: str, ref: EntityRef) -> Principal | None:
        """Facts about a principal the caller did not describe (None: unknown here)."""
        ...

    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None: ...

    def documents(self, tenant: str) -> Iterator[DocumentMetadata]:
        """Every document of the tenant (the candidates of a list call)."""
        ...


class InMemoryEntityProvider:
    """Test fake and the bench's provider."""

    def __init__(
        self, documents: Iterable[DocumentMetadata] = (), principals: Iterable[Principal] = ()
    ) -> None:
        self._documents: dict[tuple[str, str], DocumentMetadata] = {}
        self._principals: dict[tuple[str, EntityRef], Principal] = {}
        for document in documents:
            self.add_document(document)
        for principal in principals:
            self.add_principal(principal)

    def add_document(self, document: DocumentMetadata) -> None:
        self._documents[(document.tenant, document.document_id)] = document

    def add_principal(self, principal: Principal) -> None:
        self._principals[(principal.tenant, principal.ref)] = principal

    def principal(self, tenant: str, ref: EntityRef) -> Principal | None:
        return self._principals.get((tenant, ref))

    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None:
        return self._documents.get((tenant, document_id))

    def documents(self, tenant: str) -> Iterator[DocumentMetadata]:
        for (owner_tenant, _), document in sorted(self._documents.items()):
            if owner_tenant == tenant:
                yield document
