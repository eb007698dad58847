"""A document world: in-memory adapters, the real Cedar engine and baseline policies."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from documents.logic import DocumentService
from echo_documents.access import LIVE_STATUSES, DocumentRecordsProvider
from echo_shared.authz import AuthzClient
from echo_shared.authz.caller import Caller, TokenType

from tests.fakes.authz import InMemoryPolicyStore
from tests.fakes.events import InMemoryEventPublisher
from tests.fakes.outbox import InMemoryOutbox
from tests.unit.documents.fakes import FakeUploadForms, InMemoryDocumentRepository, InMemoryObjectStore

TENANT = "acme"
OTHER_TENANT = "globex"


class StepClock:
    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return datetime(2026, 3, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=next(self._ticks))


@dataclass
class DocumentWorld:
    repository: InMemoryDocumentRepository
    objects: InMemoryObjectStore
    uploads: FakeUploadForms
    # Published directly: decisions (and the query function's answers).
    publisher: InMemoryEventPublisher
    authz: AuthzClient
    service: DocumentService
    clock: StepClock

    @property
    def outbox(self) -> InMemoryOutbox:
        """The document.* events committed with their record changes (the relay publishes them)."""
        return self.repository.outbox

    def event_types(self) -> list[str]:
        """Every event the world emitted: published directly, then those in the outbox."""
        return [event.type for event in [*self.publisher.published, *self.outbox.published]]


def user_caller(
    subject: str,
    *roles: str,
    tenant: str = TENANT,
    scopes: tuple[str, ...] = ("documents:read", "documents:write"),
) -> Caller:
    return Caller(
        subject=subject,
        tenant=tenant,
        token_type=TokenType.USER,
        roles=frozenset(roles),
        scopes=frozenset(scopes),
        client_id="web",
        token_id=str(uuid.uuid4()),
    )


@pytest.fixture
def world() -> DocumentWorld:
    repository = InMemoryDocumentRepository()
    publisher = InMemoryEventPublisher()
    clock = StepClock()
    authz = AuthzClient(
        store=InMemoryPolicyStore(),
        entities=DocumentRecordsProvider(repository, LIVE_STATUSES),
        publisher=publisher,
        asked_by="service:documents-tests",
    )
    uploads = FakeUploadForms()
    ids = (str(uuid.UUID(int=n)) for n in itertools.count(1))
    service = DocumentService(
        repository=repository,
        uploads=uploads,
        authz=authz,
        max_upload_bytes=1024 * 1024,
        upload_url_seconds=900,
        clock=clock,
        new_id=lambda: next(ids),
    )
    return DocumentWorld(repository, InMemoryObjectStore(), uploads, publisher, authz, service, clock)


@pytest.fixture
def alice() -> Caller:
    return user_caller("alice", "member")


@pytest.fixture
def bob() -> Caller:
    return user_caller("bob", "member")


@pytest.fixture
def make_caller() -> Callable[..., Caller]:
    return user_caller
