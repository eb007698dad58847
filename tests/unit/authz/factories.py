"""Builders for authorization tests: principals, resources, requests and an in-memory service."""

from dataclasses import dataclass

from echo_shared.authz import AuthzClient, AuthzRequest, DocumentMetadata, EntityRef, Principal
from echo_shared.authz.admin import PolicyAdministration
from echo_shared.authz.catalog import PolicyCatalog
from echo_shared.authz.model import Classification
from echo_shared.authz.validation import PolicyValidator

from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore
from tests.fakes.events import InMemoryEventPublisher

TENANT = "acme"
OTHER = "globex"
ADMIN_ACTOR = 'User::"root"'


@dataclass
class FakeMonotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class AuthzWorld:
    """One in-memory authorization service: client, administration and what they published."""

    catalog: PolicyCatalog
    store: InMemoryPolicyStore
    entities: InMemoryEntityProvider
    publisher: InMemoryEventPublisher
    monotonic: FakeMonotonic
    client: AuthzClient
    admin: PolicyAdministration

    def add_document(
        self,
        document_id: str,
        owner: str,
        *,
        tenant: str = TENANT,
        classification: Classification = Classification.INTERNAL,
        shared_with_users: frozenset[str] = frozenset(),
        shared_with_roles: frozenset[str] = frozenset(),
    ) -> DocumentMetadata:
        found = DocumentMetadata(
            tenant, document_id, owner, shared_with_users, shared_with_roles, classification
        )
        self.entities.add_document(found)
        return found

    def activate_policies(self, policies: str, tenant: str = TENANT) -> int:
        proposal = self.admin.propose(
            tenant, policies=policies, golden=[], description="", actor=ADMIN_ACTOR, request_id="req-admin"
        )
        self.admin.activate(tenant, proposal.version.number, actor=ADMIN_ACTOR, request_id="req-admin")
        return proposal.version.number


def build_world(catalog: PolicyCatalog, *, refresh_seconds: float = 5) -> AuthzWorld:
    publisher = InMemoryEventPublisher()  # the bus and the outbox: one record of every event, in order
    store = InMemoryPolicyStore(publisher)
    entities = InMemoryEntityProvider()
    monotonic = FakeMonotonic()
    client = AuthzClient(
        store=store,
        entities=entities,
        publisher=publisher,
        asked_by="service:tests",
        catalog=catalog,
        refresh_seconds=refresh_seconds,
        monotonic=monotonic,
    )
    admin = PolicyAdministration(
        store=store,
        validator=PolicyValidator(client.engine),
        publisher=publisher,
        baseline_version=catalog.baseline_version,
    )
    return AuthzWorld(catalog, store, entities, publisher, monotonic, client, admin)


def user(id: str, *roles: str, tenant: str = TENANT) -> Principal:
    return Principal.user(id, tenant, frozenset(roles))


def service(id: str, *scopes: str, tenant: str = TENANT) -> Principal:
    return Principal.client(id, tenant, frozenset(scopes))


def document(document_id: str) -> EntityRef:
    return EntityRef("Document", document_id)


def tenant_resource(tenant: str = TENANT) -> EntityRef:
    return EntityRef("Tenant", tenant)


def ask(
    principal: Principal, action: str, resource: EntityRef, *, tenant: str | None = None, **context: object
) -> AuthzRequest:
    """`tenant`: whose policies decide (the asker's); by default the principal's."""
    return AuthzRequest(principal, action, resource, dict(context), tenant=tenant)
