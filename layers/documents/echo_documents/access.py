"""Authorization facts from the document records: an entity provider that hides documents not in
the wanted statuses, so deleted (or, for queries, not yet ready) documents are denied by Cedar
itself, with no window between a deletion and the index cleanup."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from echo_shared.authz import AuthzClient, DocumentMetadata, EntityRef, Principal
from echo_shared.authz.dynamodb import DynamoPolicyStore
from echo_shared.authz.errors import EntityStoreUnavailable
from echo_shared.authz.settings import AuthzSettings
from echo_shared.events import EventPublisher, SnsEventPublisher

from echo_documents.errors import DocumentStoreUnavailable
from echo_documents.records import DocumentRecord, DocumentStatus
from echo_documents.repository import DocumentRepository

LIVE_STATUSES = frozenset(status for status in DocumentStatus if status.is_live)
ANSWERABLE_STATUSES = frozenset({DocumentStatus.READY})


class DocumentRecordsProvider:
    """echo_shared.authz.entities.EntityProvider over the document repository.

    `reading(tenant, ids)` reads those records in one consistent batch read for the decisions made
    inside it (on this thread): a batch of N decisions costs one round trip instead of N.
    """

    def __init__(self, repository: DocumentRepository, statuses: frozenset[DocumentStatus]) -> None:
        self._repository = repository
        self._statuses = statuses
        self._held = threading.local()

    @contextmanager
    def reading(self, tenant: str, document_ids: Collection[str]) -> Iterator[dict[str, DocumentRecord]]:
        """The records among `document_ids` (any status), read now; decisions inside use them."""
        try:
            records = self._repository.get_many(tenant, document_ids)
        except DocumentStoreUnavailable as exc:
            raise EntityStoreUnavailable("documents metadata cannot be read") from exc
        self._held.read = (tenant, frozenset(document_ids), records)
        try:
            yield records
        finally:
            self._held.read = None

    def principal(self, tenant: str, ref: EntityRef) -> Principal | None:
        return None

    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None:
        held = getattr(self._held, "read", None)
        if held is not None and held[0] == tenant and document_id in held[1]:
            record = held[2].get(document_id)
        else:
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
    settings: AuthzSettings,
    repository: DocumentRepository,
    statuses: frozenset[DocumentStatus],
    provider: DocumentRecordsProvider | None = None,
    publisher: EventPublisher | None = None,
) -> AuthzClient:
    """The in-process authz client (DynamoDB policies, SNS audit unless `publisher` says otherwise)
    deciding on these records."""
    return AuthzClient(
        store=DynamoPolicyStore(settings.authz_policy_table),
        entities=provider or DocumentRecordsProvider(repository, statuses),
        publisher=publisher or SnsEventPublisher(settings.event_topic_arn),
        asked_by=f"service:{settings.service_name}",
        refresh_seconds=settings.authz_refresh_seconds,
    )
