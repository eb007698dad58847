"""Authorization facts from the document records: an entity provider that hides documents not in
the wanted statuses, so deleted (or, for queries, not yet ready) documents are denied by Cedar
itself, with no window between a deletion and the index cleanup."""

from __future__ import annotations

from collections.abc import Iterator

from echo_shared.authz import AuthzClient, DocumentMetadata, EntityRef, Principal
from echo_shared.authz.dynamodb import DynamoPolicyStore
from echo_shared.authz.errors import EntityStoreUnavailable
from echo_shared.authz.settings import AuthzSettings
from echo_shared.events import SnsEventPublisher

from echo_documents.errors import DocumentStoreUnavailable
from echo_documents.records import DocumentStatus
from echo_documents.repository import DocumentRepository

LIVE_STATUSES = frozenset(status for status in DocumentStatus if status.is_live)
ANSWERABLE_STATUSES = frozenset({DocumentStatus.READY})


class DocumentRecordsProvider:
    """echo_shared.authz.entities.EntityProvider over the document repository."""

    def __init__(self, repository: DocumentRepository, statuses: frozenset[DocumentStatus]) -> None:
        self._repository = repository
        self._statuses = statuses

    def principal(self, tenant: str, ref: EntityRef) -> Principal | None:
        return None

    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None:
        try:
            record = self._repository.get(tenant, document_id)
        except DocumentStoreUnavailable as exc:
            raise EntityStoreUnavailable("documents metadata cannot be read") from exc
        if record is None or record.status not in self._statuses:
            return None
        return record.metadata

    def documents(self, tenant: str) -> Iterator[DocumentMetadata]:
        try:
            for record in self._repository.list(tenant):
                if record.status in self._statuses:
                    yield record.metadata
        except DocumentStoreUnavailable as exc:
            raise EntityStoreUnavailable("documents metadata cannot be read") from exc


def records_authz_client(
    settings: AuthzSettings, repository: DocumentRepository, statuses: frozenset[DocumentStatus]
) -> AuthzClient:
    """The in-process authz client (DynamoDB policies, SNS audit) deciding on these records."""
    return AuthzClient(
        store=DynamoPolicyStore(settings.authz_policy_table),
        entities=DocumentRecordsProvider(repository, statuses),
        publisher=SnsEventPublisher(settings.event_topic_arn),
        asked_by=f"service:{settings.service_name}",
        refresh_seconds=settings.authz_refresh_seconds,
    )
