"""The entity provider port: where the facts about principals and documents come from.

Lookups are always within one tenant (the asker's), so another tenant's data is never read.
Adapters raise EntityStoreUnavailable when their store cannot answer; the client denies then.
"""

from collections.abc import Iterator
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
