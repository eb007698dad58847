"""In-memory fakes of the authz ports (policy store, entity provider), with the production
semantics; they live in tests/ so no production bundle carries them. The bench uses them too."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from echo_shared.authz.errors import ConcurrentPolicyChange, PolicyVersionNotFound
from echo_shared.authz.model import DocumentMetadata, EntityRef, Principal
from echo_shared.authz.store import (
    Activation,
    ActivationKind,
    ActivePointer,
    NewPolicyVersion,
    PolicyVersion,
    Report,
)

from tests.fakes.events import InMemoryEventPublisher


@dataclass
class _TenantState:
    versions: dict[int, PolicyVersion] = field(default_factory=dict)
    pointer: ActivePointer | None = None
    log: list[Activation] = field(default_factory=list)


class InMemoryPolicyStore:
    """Test fake with the same conditional semantics as the DynamoDB adapter."""

    def __init__(self, outbox: InMemoryEventPublisher | None = None) -> None:
        self._tenants: dict[str, _TenantState] = {}
        self.active_reads = 0
        self._outbox = outbox

    def _state(self, tenant: str) -> _TenantState:
        return self._tenants.setdefault(tenant, _TenantState())

    def active(self, tenant: str) -> ActivePointer | None:
        self.active_reads += 1
        return self._state(tenant).pointer

    def get(self, tenant: str, number: int) -> PolicyVersion | None:
        return self._state(tenant).versions.get(number)

    def versions(self, tenant: str) -> list[PolicyVersion]:
        return sorted(self._state(tenant).versions.values(), key=lambda v: v.number, reverse=True)

    def create(
        self, version: NewPolicyVersion, *, reported_by: Report[PolicyVersion] | None = None
    ) -> PolicyVersion:
        state = self._state(version.tenant)
        number = max(state.versions, default=0) + 1
        stored = PolicyVersion(
            tenant=version.tenant,
            number=number,
            policies=version.policies,
            digest=version.digest,
            golden=version.golden,
            description=version.description,
            created_at=version.created_at,
            created_by=version.created_by,
        )
        state.versions[number] = stored
        self._commit(reported_by, stored)
        return stored

    def activate(
        self,
        tenant: str,
        number: int,
        *,
        expected_revision: int,
        kind: ActivationKind,
        at: datetime,
        by: str,
        reported_by: Report[Activation] | None = None,
    ) -> Activation:
        state = self._state(tenant)
        current = state.pointer.revision if state.pointer else 0
        if current != expected_revision:
            raise ConcurrentPolicyChange("the tenant's active policy version changed meanwhile")
        if number != 0 and number not in state.versions:
            raise PolicyVersionNotFound(f"policy version v{number} does not exist")
        previous = state.pointer.version if state.pointer else 0
        revision = current + 1
        state.pointer = ActivePointer(tenant, number, revision, at, by)
        activation = Activation(tenant, revision, number, previous, kind, at, by)
        state.log.append(activation)
        self._commit(reported_by, activation)
        return activation

    def _commit[T](self, reported_by: Report[T] | None, change: T) -> None:
        events = () if reported_by is None else reported_by(change)
        if events and self._outbox is None:
            raise ValueError("events given to a store built without an outbox")
        if self._outbox is not None:
            self._outbox.published.extend(events)

    def history(self, tenant: str) -> list[Activation]:
        return list(reversed(self._state(tenant).log))

    def seed(self, versions: Sequence[PolicyVersion]) -> None:
        """Put stored versions directly (tests of stored data the validator would refuse today)."""
        for version in versions:
            self._state(version.tenant).versions[version.number] = replace(version)


class InMemoryEntityProvider:
    """Facts given up front (tests and the authz bench)."""

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
